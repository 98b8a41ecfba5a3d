//! Unit costs of goods: `costs.csv` with `marketplace,sku,unit_cost,valid_from`. The cost in
//! force on a day is the row with the latest `valid_from` not after it. A SKU with no such row
//! has no cost: its COGS is unknown, never guessed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::dataset::Marketplace;
use crate::money::Kopecks;

#[derive(Debug, thiserror::Error)]
pub enum CostsError {
    #[error("cannot read costs file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}, line {line}: {field} = {value:?} {problem}. Fix: {fix}")]
    Row { path: PathBuf, line: usize, field: &'static str, value: String, problem: String, fix: &'static str },
}

/// Costs by (marketplace code, SKU), each list sorted by `valid_from`.
#[derive(Debug, Default, Clone)]
pub struct Costs {
    by_sku: HashMap<(String, String), Vec<(NaiveDate, Kopecks)>>,
    /// Where they came from, for messages; None when no file exists.
    pub source: Option<PathBuf>,
}

const HEADER: [&str; 4] = ["marketplace", "sku", "unit_cost", "valid_from"];

impl Costs {
    /// Reads `path`; a missing file means no costs (every COGS unknown), which the summary says.
    pub fn load(path: &Path) -> Result<Costs, CostsError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Costs::default()),
            Err(source) => Err(CostsError::Read { path: path.to_path_buf(), source }),
        }
    }

    pub fn parse(text: &str, path: &Path) -> Result<Costs, CostsError> {
        let err = |line: usize, field: &'static str, value: &str, problem: &str, fix: &'static str| CostsError::Row {
            path: path.to_path_buf(),
            line,
            field,
            value: value.to_string(),
            problem: problem.to_string(),
            fix,
        };
        let mut out = Costs { source: Some(path.to_path_buf()), ..Default::default() };
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end_matches('\r')));
        let header = lines.by_ref().find(|(_, l)| !l.trim().is_empty());
        match header {
            Some((n, h)) => {
                let cols: Vec<&str> = h.split(',').map(str::trim).collect();
                if cols != HEADER {
                    return Err(err(
                        n,
                        "header",
                        h,
                        "is not the expected header",
                        "the first line must be marketplace,sku,unit_cost,valid_from",
                    ));
                }
            }
            None => return Ok(out),
        }
        for (n, line) in lines {
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let f: Vec<&str> = line.split(',').map(str::trim).collect();
            if f.len() != 4 {
                return Err(err(
                    n,
                    "row",
                    line,
                    &format!("has {} fields, not 4", f.len()),
                    "write marketplace,sku,unit_cost,valid_from",
                ));
            }
            let mp: Marketplace =
                f[0].parse().map_err(|_| err(n, "marketplace", f[0], "is not a marketplace", "use wb or ozon"))?;
            if f[1].is_empty() || !f[1].chars().all(|c| c.is_ascii_digit()) {
                return Err(err(
                    n,
                    "sku",
                    f[1],
                    "is not a marketplace SKU",
                    "use the WB nmId or the Ozon SKU (digits), as in the marts' sku column",
                ));
            }
            let cost: Kopecks = f[2].parse().map_err(|e: crate::money::MoneyError| {
                err(n, "unit_cost", f[2], e.why, "write rubles with a point and at most two decimals, e.g. 312.50")
            })?;
            if cost.0 < 0 {
                return Err(err(n, "unit_cost", f[2], "is negative", "a unit cost is zero or more"));
            }
            let from = NaiveDate::parse_from_str(f[3], "%Y-%m-%d")
                .map_err(|_| err(n, "valid_from", f[3], "is not a date", "write YYYY-MM-DD"))?;
            let list = out.by_sku.entry((mp.code().to_string(), f[1].to_string())).or_default();
            if list.iter().any(|(d, _)| *d == from) {
                return Err(err(
                    n,
                    "valid_from",
                    f[3],
                    "repeats an earlier row of the same SKU",
                    "keep one cost per SKU and day",
                ));
            }
            list.push((from, cost));
        }
        for list in out.by_sku.values_mut() {
            list.sort();
        }
        Ok(out)
    }

    /// The unit cost of `sku` on `marketplace` in force on `day`.
    pub fn on(&self, marketplace: &str, sku: &str, day: NaiveDate) -> Option<Kopecks> {
        let list = self.by_sku.get(&(marketplace.to_string(), sku.to_string()))?;
        list.iter().rev().find(|(from, _)| *from <= day).map(|(_, c)| *c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str) -> Result<Costs, CostsError> {
        Costs::parse(t, Path::new("costs.csv"))
    }

    #[test]
    fn cost_in_force_on_the_day() {
        let c = parse("marketplace,sku,unit_cost,valid_from\nwb,1,100,2026-01-01\nwb,1,120.50,2026-03-01\n").unwrap();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(c.on("wb", "1", d("2025-12-31")), None);
        assert_eq!(c.on("wb", "1", d("2026-02-28")), Some(Kopecks(10_000)));
        assert_eq!(c.on("wb", "1", d("2026-03-01")), Some(Kopecks(12_050)));
        assert_eq!(c.on("ozon", "1", d("2026-03-01")), None);
    }

    #[test]
    fn bad_rows_name_the_line_field_and_fix() {
        let h = "marketplace,sku,unit_cost,valid_from\n";
        for (row, line, needle) in [
            ("wb,1,-5,2026-01-01", 2, "negative"),
            ("wb,1,5,2026-13-01", 2, "valid_from"),
            ("amazon,1,5,2026-01-01", 2, "wb or ozon"),
            ("wb,1,5.001,2026-01-01", 2, "kopeck"),
            ("wb,ART-1,5,2026-01-01", 2, "nmId"),
        ] {
            let e = parse(&format!("{h}{row}\n")).unwrap_err().to_string();
            assert!(e.contains(&format!("line {line}")) && e.contains(needle), "{row}: {e}");
        }
        let e = parse("sku,cost\n").unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("header"), "{e}");
    }
}
