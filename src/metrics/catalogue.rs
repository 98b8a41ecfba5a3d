//! The operation catalogue (`data/operations.toml`): which metric category each WB payment basis
//! and Ozon accrual type lands in. It decides where money goes, never whether it counts: payout
//! is computed from every row's money fields, and what the catalogue does not know is
//! `unclassified` and named after the run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The catalogue shipped with mpetl, built into the binary so every command has it.
pub const BUILTIN: &str = include_str!("../../data/operations.toml");

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("cannot read the operation catalogue {path}: {source}. Fix: check operations_file in the config")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("operation catalogue {origin}: {detail}")]
    Invalid { origin: String, detail: String },
}

/// Where a WB row's `forPay` goes (its typed fields keep their own meaning whatever this is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WbCategory {
    Sale,
    Compensation,
    Logistics,
    Storage,
    Acceptance,
    Penalty,
    Deduction,
    AdditionalPayment,
    Loyalty,
    Info,
}

impl WbCategory {
    const ALL: [(&'static str, WbCategory); 10] = [
        ("sale", WbCategory::Sale),
        ("compensation", WbCategory::Compensation),
        ("logistics", WbCategory::Logistics),
        ("storage", WbCategory::Storage),
        ("acceptance", WbCategory::Acceptance),
        ("penalty", WbCategory::Penalty),
        ("deduction", WbCategory::Deduction),
        ("additional_payment", WbCategory::AdditionalPayment),
        ("loyalty", WbCategory::Loyalty),
        ("info", WbCategory::Info),
    ];

    pub fn code(self) -> &'static str {
        Self::ALL.iter().find(|(_, c)| *c == self).map(|(n, _)| *n).unwrap_or("info")
    }
}

/// One known WB payment basis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WbOperation {
    pub name: String,
    pub category: WbCategory,
    /// The row's quantity moves goods (sold on a Продажа document, returned on a Возврат one).
    pub units: bool,
    /// The row gives a charge back: its service fields are magnitudes to give back.
    pub reversal: bool,
}

/// What a WB deduction is, by its `bonusTypeName`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeductionClass {
    /// Advertising WB took from the payout (ad spend itself is counted from fullstats).
    Ads,
    /// Money moved, not spent: loans, repayments, transfers to another balance.
    Transfer,
    Other,
}

/// Where an Ozon fee's money goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OzonCategory {
    Logistics,
    Storage,
    Acceptance,
    Penalty,
    Commission,
    Other,
    Ads,
    Compensation,
    AdditionalPayment,
    Transfer,
}

impl OzonCategory {
    const ALL: [(&'static str, OzonCategory); 10] = [
        ("logistics", OzonCategory::Logistics),
        ("storage", OzonCategory::Storage),
        ("acceptance", OzonCategory::Acceptance),
        ("penalty", OzonCategory::Penalty),
        ("commission", OzonCategory::Commission),
        ("other", OzonCategory::Other),
        ("ads", OzonCategory::Ads),
        ("compensation", OzonCategory::Compensation),
        ("additional_payment", OzonCategory::AdditionalPayment),
        ("transfer", OzonCategory::Transfer),
    ];

    pub fn code(self) -> &'static str {
        Self::ALL.iter().find(|(_, c)| *c == self).map(|(n, _)| *n).unwrap_or("other")
    }
}

#[derive(Debug, Clone)]
pub struct Catalogue {
    wb: HashMap<String, WbOperation>,
    deductions: Vec<(DeductionClass, Vec<String>)>,
    ozon_exact: HashMap<String, OzonCategory>,
    ozon_contains: Vec<(String, OzonCategory)>,
}

/// Names match after trimming, lower-casing, `ё` → `е` and collapsing runs of spaces: the
/// marketplaces are not consistent about any of those.
pub fn normalise(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase().replace('ё', "е")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    wb: RawWb,
    #[serde(default)]
    ozon: RawOzon,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWb {
    #[serde(default)]
    operation: Vec<RawWbOperation>,
    #[serde(default)]
    deduction: Vec<RawDeduction>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWbOperation {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    category: String,
    #[serde(default)]
    units: bool,
    #[serde(default)]
    reversal: bool,
    #[serde(default)]
    #[allow(dead_code)]
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeduction {
    class: String,
    contains: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    source: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawOzon {
    #[serde(default, rename = "type")]
    types: Vec<RawOzonType>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOzonType {
    name: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    contains: Option<String>,
    category: String,
    #[serde(default)]
    #[allow(dead_code)]
    source: String,
}

impl Catalogue {
    /// The catalogue built into the binary (`data/operations.toml`).
    // Invariant: the text is compiled in, not input, and a unit test parses it, so a released
    // build cannot fail here.
    #[allow(clippy::expect_used)]
    pub fn builtin() -> Catalogue {
        Catalogue::parse(BUILTIN, "built-in data/operations.toml").expect("the built-in catalogue is valid")
    }

    /// The catalogue at `path`, or the built-in one.
    pub fn load(path: Option<&Path>) -> Result<Catalogue, CatalogueError> {
        match path {
            None => Ok(Catalogue::builtin()),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|source| CatalogueError::Read { path: p.to_path_buf(), source })?;
                Catalogue::parse(&text, &p.display().to_string())
            }
        }
    }

    pub fn parse(text: &str, origin: &str) -> Result<Catalogue, CatalogueError> {
        let invalid = |detail: String| CatalogueError::Invalid { origin: origin.to_string(), detail };
        let raw: Raw = toml::from_str(text).map_err(|e| {
            invalid(format!("{e}Fix: correct the TOML at that line (see the comments at the top of the shipped file)"))
        })?;
        let mut wb = HashMap::new();
        for op in raw.wb.operation {
            let category =
                WbCategory::ALL.iter().find(|(n, _)| *n == op.category).map(|(_, c)| *c).ok_or_else(|| {
                    invalid(format!(
                        "wb.operation {:?}: category = {:?} is not one of {}. Fix: use one of those",
                        op.name,
                        op.category,
                        WbCategory::ALL.map(|(n, _)| n).join(", ")
                    ))
                })?;
            let entry = WbOperation { name: op.name.clone(), category, units: op.units, reversal: op.reversal };
            for name in std::iter::once(&op.name).chain(op.aliases.iter()) {
                let key = normalise(name);
                if key.is_empty() {
                    return Err(invalid(format!(
                        "wb.operation {:?}: an empty name or alias. Fix: give the name WB writes in sellerOperName",
                        op.name
                    )));
                }
                if let Some(prev) = wb.insert(key, entry.clone()) {
                    return Err(invalid(format!(
                        "wb.operation {name:?} is listed twice (also under {:?}). Fix: keep one entry",
                        prev.name
                    )));
                }
            }
        }
        let mut deductions = Vec::new();
        for d in raw.wb.deduction {
            let class = match d.class.as_str() {
                "ads" => DeductionClass::Ads,
                "transfer" => DeductionClass::Transfer,
                "other" => DeductionClass::Other,
                other => {
                    return Err(invalid(format!(
                        "wb.deduction: class = {other:?} is not one of ads, transfer, other. Fix: use one of those"
                    )));
                }
            };
            let phrases: Vec<String> = d.contains.iter().map(|p| normalise(p)).filter(|p| !p.is_empty()).collect();
            if phrases.is_empty() {
                return Err(invalid(format!(
                    "wb.deduction (class {:?}): contains = [] matches nothing. Fix: list the phrases bonusTypeName contains",
                    d.class
                )));
            }
            deductions.push((class, phrases));
        }
        let (mut ozon_exact, mut ozon_contains) = (HashMap::new(), Vec::new());
        for t in raw.ozon.types {
            let label = t.name.clone().or_else(|| t.contains.clone()).unwrap_or_default();
            let category =
                OzonCategory::ALL.iter().find(|(n, _)| *n == t.category).map(|(_, c)| *c).ok_or_else(|| {
                    invalid(format!(
                        "ozon.type {label:?}: category = {:?} is not one of {}. Fix: use one of those",
                        t.category,
                        OzonCategory::ALL.map(|(n, _)| n).join(", ")
                    ))
                })?;
            match (&t.name, &t.contains) {
                (Some(name), None) => {
                    for n in std::iter::once(name).chain(t.aliases.iter()) {
                        if ozon_exact.insert(normalise(n), category).is_some() {
                            return Err(invalid(format!("ozon.type {n:?} is listed twice. Fix: keep one entry")));
                        }
                    }
                }
                (None, Some(phrase)) if t.aliases.is_empty() && !normalise(phrase).is_empty() => {
                    ozon_contains.push((normalise(phrase), category))
                }
                _ => {
                    return Err(invalid(format!(
                        "ozon.type {label:?}: give either `name` (with optional `aliases`) or one non-empty `contains` phrase. Fix: split it into two entries"
                    )));
                }
            }
        }
        Ok(Catalogue { wb, deductions, ozon_exact, ozon_contains })
    }

    /// The WB payment basis `seller_oper_name`, if the catalogue knows it.
    pub fn wb(&self, seller_oper_name: &str) -> Option<&WbOperation> {
        self.wb.get(&normalise(seller_oper_name))
    }

    /// Every name (normalised) of the WB operations in `category`.
    pub fn wb_names(&self, category: WbCategory) -> Vec<String> {
        let mut v: Vec<String> =
            self.wb.iter().filter(|(_, o)| o.category == category).map(|(k, _)| k.clone()).collect();
        v.sort();
        v
    }

    /// What a deduction with this `bonusTypeName` is.
    pub fn deduction_class(&self, bonus_type_name: &str) -> DeductionClass {
        let text = normalise(bonus_type_name);
        self.deductions
            .iter()
            .find(|(_, phrases)| phrases.iter().any(|p| text.contains(p.as_str())))
            .map_or(DeductionClass::Other, |(c, _)| *c)
    }

    /// The category of an Ozon accrual type, by its name or, failing that, its description.
    pub fn ozon(&self, name: &str, description: &str) -> Option<OzonCategory> {
        let (n, d) = (normalise(name), normalise(description));
        if let Some(c) = self.ozon_exact.get(&n).or_else(|| self.ozon_exact.get(&d)) {
            return Some(*c);
        }
        self.ozon_contains
            .iter()
            .find(|(p, _)| n.contains(p.as_str()) || (!d.is_empty() && d.contains(p.as_str())))
            .map(|(_, c)| *c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_catalogue_parses_and_knows_the_real_operations() {
        let c = Catalogue::parse(BUILTIN, "built-in").unwrap();
        let sale = c.wb("Продажа").unwrap();
        assert_eq!((sale.category, sale.units, sale.reversal), (WbCategory::Sale, true, false));
        assert_eq!(c.wb("  сторно   ПРОДАЖ ").unwrap().category, WbCategory::Sale, "case and spaces do not matter");
        assert_eq!(c.wb("Сторно платной приёмки").unwrap().category, WbCategory::Acceptance, "ё is е");
        assert!(c.wb("Логистика сторно").unwrap().reversal);
        assert_eq!(
            c.wb("Возмещение издержек по перевозке/по складским операциям с товаром").unwrap().category,
            WbCategory::Info
        );
        assert_eq!(c.wb("Компенсация подмененного товара").unwrap().category, WbCategory::Compensation);
        assert!(c.wb("Операция, которой нет").is_none());
        assert_eq!(c.deduction_class("Оказание услуг «ВБ.Продвижение», документ № 123456"), DeductionClass::Ads);
        assert_eq!(c.deduction_class("Погашение по займу"), DeductionClass::Transfer);
        assert_eq!(c.deduction_class("Джем-подписка"), DeductionClass::Other);
        assert_eq!(c.deduction_class(""), DeductionClass::Other);
        assert_eq!(c.ozon("Оплата за клик", ""), Some(OzonCategory::Ads));
        assert_eq!(c.ozon("MarketplaceServiceItemDirectFlowLogistic", ""), Some(OzonCategory::Logistics));
        assert_eq!(c.ozon("Тип 12", "Штраф за нарушение правил упаковки"), Some(OzonCategory::Penalty));
        assert_eq!(c.ozon("Декомпенсация по заявке", ""), Some(OzonCategory::Compensation));
        assert_eq!(c.ozon("Корректировка взаиморасчётов", ""), None);
    }

    #[test]
    fn a_bad_catalogue_names_the_entry_the_value_and_the_fix() {
        let e = Catalogue::parse("[[wb.operation]]\nname = \"X\"\ncategory = \"sales\"\n", "ops.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("ops.toml") && e.contains("\"X\"") && e.contains("\"sales\"") && e.contains("Fix"), "{e}");
        let e = Catalogue::parse(
            "[[wb.operation]]\nname = \"Логистика\"\ncategory = \"logistics\"\n[[wb.operation]]\nname = \"логистика\"\ncategory = \"info\"\n",
            "ops.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("twice"), "{e}");
        let e = Catalogue::parse("[[ozon.type]]\ncategory = \"ads\"\n", "ops.toml").unwrap_err().to_string();
        assert!(e.contains("either `name`"), "{e}");
        let e = Catalogue::parse("[[wb.operation]]\nname = \"X\"\n", "ops.toml").unwrap_err().to_string();
        assert!(e.contains("category") && e.contains("line"), "{e}");
    }
}
