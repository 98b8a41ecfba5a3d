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
    #[error(
        "{path}, line {line}: is not UTF-8 text (Excel's \"CSV (разделители — запятые)\" saves Windows-1251). \
         Fix: save it as \"CSV UTF-8\", or remove the non-Latin text"
    )]
    Encoding { path: PathBuf, line: usize },
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
        match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Self::parse(&text, path),
                Err(e) => {
                    let bytes = e.as_bytes();
                    let line = 1 + bytes[..e.utf8_error().valid_up_to()].iter().filter(|b| **b == b'\n').count();
                    Err(CostsError::Encoding { path: path.to_path_buf(), line })
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Costs::default()),
            Err(source) => Err(CostsError::Read { path: path.to_path_buf(), source }),
        }
    }

    /// Parses the file as written by hand or saved by Excel. Excel in a Russian locale writes a
    /// byte-order mark, `;` between fields, decimal commas (`412,50`), and turns ISO dates into
    /// `01.03.2026`: sellers keep costs in Excel, so all of that is read as meant.
    pub fn parse(text: &str, path: &Path) -> Result<Costs, CostsError> {
        let err = |line: usize, field: &'static str, value: &str, problem: &str, fix: &'static str| CostsError::Row {
            path: path.to_path_buf(),
            line,
            field,
            value: value.to_string(),
            problem: problem.to_string(),
            fix,
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut out = Costs { source: Some(path.to_path_buf()), ..Default::default() };
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end_matches('\r')));
        let header = lines.by_ref().find(|(_, l)| !l.trim().is_empty());
        let sep = match header {
            Some((n, h)) => {
                let sep = if h.contains(';') { ';' } else { ',' };
                let cols: Vec<String> = split(h, sep).iter().map(|c| c.to_lowercase()).collect();
                if cols != HEADER {
                    return Err(err(
                        n,
                        "header",
                        h,
                        "is not the expected header",
                        "the first line must be marketplace,sku,unit_cost,valid_from (or the same with ;)",
                    ));
                }
                sep
            }
            None => return Ok(out),
        };
        for (n, line) in lines {
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let f = split(line, sep);
            // Excel leaves a row it emptied as `;;;`.
            if f.iter().all(String::is_empty) {
                continue;
            }
            if f.len() != 4 {
                let fix = if sep == ',' && f.len() == 5 {
                    "a decimal comma splits the cost in two in a comma-separated file: write 412.50, quote it \
                     (\"412,50\"), or separate the fields with ;"
                } else {
                    "write marketplace,sku,unit_cost,valid_from"
                };
                return Err(err(n, "row", line, &format!("has {} fields, not 4", f.len()), fix));
            }
            let mp: Marketplace =
                f[0].parse().map_err(|_| err(n, "marketplace", &f[0], "is not a marketplace", "use wb or ozon"))?;
            let sku = f[1].as_str();
            if sku.contains(['E', 'e']) && sku.contains('+') {
                return Err(err(
                    n,
                    "sku",
                    sku,
                    "is in scientific notation, which loses digits",
                    "in Excel, format the sku column as Text and type the SKUs again",
                ));
            }
            if sku.is_empty() || !sku.chars().all(|c| c.is_ascii_digit()) {
                return Err(err(
                    n,
                    "sku",
                    sku,
                    "is not a marketplace SKU",
                    "use the WB nmId or the Ozon SKU (digits), as in the marts' sku column",
                ));
            }
            let cost = parse_cost(&f[2]).map_err(|why| {
                err(n, "unit_cost", &f[2], why, "write rubles with at most two decimals, e.g. 312.50 or 312,50")
            })?;
            if cost.0 < 0 {
                return Err(err(n, "unit_cost", &f[2], "is negative", "a unit cost is zero or more"));
            }
            let from = NaiveDate::parse_from_str(&f[3], "%Y-%m-%d")
                .or_else(|_| NaiveDate::parse_from_str(&f[3], "%d.%m.%Y"))
                .map_err(|_| err(n, "valid_from", &f[3], "is not a date", "write YYYY-MM-DD (or DD.MM.YYYY)"))?;
            let list = out.by_sku.entry((mp.code().to_string(), sku.to_string())).or_default();
            if list.iter().any(|(d, _)| *d == from) {
                return Err(err(
                    n,
                    "valid_from",
                    &f[3],
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

/// The fields of one line, trimmed, with `"..."` quoting as Excel writes it (a quoted field may
/// hold the separator; `""` inside is one quote).
fn split(line: &str, sep: char) -> Vec<String> {
    let (mut fields, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' => quoted = !quoted,
            c if c == sep && !quoted => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    fields.into_iter().map(|f| f.trim().to_string()).collect()
}

/// A cost in rubles: `312.50`, `312,50`, and `1 312,50` with Excel's (non-breaking) thousands
/// spaces. A value with both a point and a comma is refused: which one is the decimal is a guess.
fn parse_cost(text: &str) -> Result<Kopecks, &'static str> {
    let plain: String = text.chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}')).collect();
    if plain.contains('.') && plain.contains(',') {
        return Err("has both a decimal point and a comma");
    }
    plain.replace(',', ".").parse::<Kopecks>().map_err(|e| e.why)
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
    #[test]
    fn russian_excel_csv_is_read_as_meant() {
        // BOM, `;`, decimal commas, thousands spaces, DD.MM.YYYY, a quoted field, an emptied row.
        let text = "\u{feff}marketplace;sku;unit_cost;valid_from\r\nwb;1;412,50;01.03.2026\r\n;;;\r\n\
                    ozon;2;1\u{a0}312,5;2026-03-01\r\nwb;3;\"7,05\";15.03.2026\r\n";
        let c = parse(text).unwrap();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(c.on("wb", "1", d("2026-03-01")), Some(Kopecks(41_250)));
        assert_eq!(c.on("ozon", "2", d("2026-03-01")), Some(Kopecks(131_250)));
        assert_eq!(c.on("wb", "3", d("2026-03-15")), Some(Kopecks(705)));
        let c = parse("marketplace,sku,unit_cost,valid_from\nwb,1,\"412,50\",2026-03-01\n").unwrap();
        assert_eq!(c.on("wb", "1", d("2026-03-01")), Some(Kopecks(41_250)));
    }

    #[test]
    fn excel_damage_is_named_with_the_fix() {
        let h = "marketplace,sku,unit_cost,valid_from\n";
        for (row, needle) in [
            ("wb,1,412,50,2026-03-01", "quote it"),
            ("wb,1,23457E+11,5,2026-01-01", "fields"),
            ("wb,1.23457E+11,5,2026-01-01", "format the sku column as Text"),
            ("wb,1,1.312,50,2026-01-01", "fields"),
            ("wb,1,\"1.312,50\",2026-01-01", "both a decimal point and a comma"),
        ] {
            let e = parse(&format!("{h}{row}\n")).unwrap_err().to_string();
            assert!(e.contains("line 2") && e.contains(needle), "{row}: {e}");
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("costs.csv");
        // "Себестоимость" in Windows-1251, as Excel's plain "CSV" saves a Russian comment.
        std::fs::write(&p, b"marketplace,sku,unit_cost,valid_from\n# \xd1\xe5\xe1\xe5\n").unwrap();
        let e = Costs::load(&p).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("CSV UTF-8"), "{e}");
    }
}
