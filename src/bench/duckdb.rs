//! The DuckDB reference: the same work in SQL over the same Parquet, run by python3.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use polars::prelude::*;

use super::BenchError;
use crate::dataset::Dataset;
use crate::lake::Lake;
use crate::metrics::{self, Catalogue, catalogue::DeductionClass};

/// The same work in DuckDB SQL (`duckdb_reference.py`): every event source summed per day × SKU with every
/// measure the metrics compute (WB and Ozon operations classified by the catalogue's verdicts,
/// Ozon's units from the posting lists where an accrual has none), and the statements check. It
/// prints one JSON object ([`Reply`]).
const DUCKDB: &str = include_str!("duckdb_reference.py");

/// What the reference prints.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct DuckTiming {
    pub seconds: f64,
    /// Result rows (day × account × marketplace × SKU).
    pub rows: usize,
    /// The period's total of each of [`crate::bench::checked`]: kopecks for money, units for counts.
    pub sums: BTreeMap<String, i128>,
    /// DuckDB's version: a new major one was twice as fast on the same query (1.x → 2.0).
    pub version: String,
    /// (statements checked, statements that disagree) for WB's reports and Ozon's periods.
    pub statements: [(u64, u64); 2],
}

/// Runs the DuckDB reference; `Ok(None)` when python3 with duckdb is not installed. The
/// catalogue's verdicts on the lake's names are written to `tables` first (untimed): DuckDB joins
/// them as the metrics join theirs.
pub fn time_duckdb(
    lake: &Lake,
    tables: &Path,
    period: &crate::pipeline::plan::Period,
) -> Result<Option<DuckTiming>, BenchError> {
    write_tables(lake, &Catalogue::builtin(), tables)?;
    let bonus_types = metrics::BONUS_PAYMENT_TYPES.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ");
    let out = Command::new("python3")
        .args([
            "-c",
            DUCKDB,
            &lake.root().display().to_string(),
            &period.from.to_string(),
            &period.to.to_string(),
            &tables.display().to_string(),
            &bonus_types,
        ])
        .output();
    let Ok(out) = out else { return Ok(None) };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        if stderr.contains("No module named 'duckdb'") {
            return Ok(None);
        }
        return Err(BenchError::Other(format!("the DuckDB reference failed: {stderr}")));
    }
    serde_json::from_slice(&out.stdout).map(Some).map_err(|e| {
        BenchError::Other(format!("unexpected DuckDB output ({e}): {}", String::from_utf8_lossy(&out.stdout)))
    })
}

/// The distinct `columns` of `ds` in the lake: from the footers, else read from the rows.
fn names(lake: &Lake, ds: Dataset, columns: &[&str]) -> Result<Vec<Vec<Option<String>>>, BenchError> {
    let pl = |e: PolarsError| BenchError::Other(format!("{ds:?} names for the DuckDB reference: {e}"));
    let df = match lake.footer_names(ds, columns, "0000-00", "9999-12").map_err(metrics::MetricsError::from)? {
        Some(df) => df,
        None => match lake.scan(ds).map_err(metrics::MetricsError::from)? {
            Some(lf) => lf
                .select(columns.iter().map(|c| col(*c)).collect::<Vec<_>>())
                .unique(None, UniqueKeepStrategy::Any)
                .collect()
                .map_err(pl)?,
            None => return Ok(Vec::new()),
        },
    };
    let texts =
        columns.iter().map(|c| Ok(df.column(c)?.str()?.clone())).collect::<PolarsResult<Vec<_>>>().map_err(pl)?;
    Ok((0..df.height()).map(|i| texts.iter().map(|t| t.get(i).map(str::to_string)).collect()).collect())
}

/// One CSV field: quoted, `\N` for null (the reference reads it so, keeping '' a name).
fn field(v: Option<&str>) -> String {
    v.map_or_else(|| "\\N".to_string(), |v| format!("\"{}\"", v.replace('"', "\"\"")))
}

/// `wb_operations.csv`, `wb_deductions.csv` and `ozon_types.csv`: each name the lake holds with
/// what the catalogue says of it, as `metrics::classify` builds its join frames.
fn write_tables(lake: &Lake, catalogue: &Catalogue, dir: &Path) -> Result<(), BenchError> {
    let io = |e: std::io::Error| BenchError::Other(format!("DuckDB tables in {}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    let flag = |b: bool| if b { "true" } else { "false" };
    let mut ops = String::from("name,cat,units,reversal\n");
    for n in names(lake, Dataset::WbFinance, &["seller_oper_name"])? {
        let name = n[0].clone().unwrap_or_default();
        let op = catalogue.wb(&name);
        let cat = op.map(|o| o.category.code());
        let (units, reversal) = op.map_or(("\\N", "\\N"), |o| (flag(o.units), flag(o.reversal)));
        ops += &format!("{},{},{units},{reversal}\n", field(Some(&name)), field(cat));
    }
    let mut ded = String::from("name,class\n");
    for n in names(lake, Dataset::WbFinance, &["bonus_type_name"])? {
        let name = n[0].clone().unwrap_or_default();
        let class = match catalogue.deduction_class(&name) {
            DeductionClass::Ads => "ads",
            DeductionClass::Transfer => "transfer",
            DeductionClass::Other => "other",
        };
        ded += &format!("{},{class}\n", field(Some(&name)));
    }
    let mut oz = String::from("type_name,type_description,cat\n");
    for n in names(lake, Dataset::OzonAccruals, &["type_name", "type_description"])? {
        let (name, description) = (n[0].clone().unwrap_or_default(), n[1].clone().unwrap_or_default());
        let cat = catalogue.ozon(&name, &description).map(|c| c.code());
        oz += &format!("{},{},{}\n", field(Some(&name)), field(Some(&description)), field(cat));
    }
    for (file, text) in [("wb_operations.csv", ops), ("wb_deductions.csv", ded), ("ozon_types.csv", oz)] {
        std::fs::write(dir.join(file), text).map_err(io)?;
    }
    Ok(())
}
