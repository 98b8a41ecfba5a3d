//! Ozon's part of the events: its accruals, each component where it belongs, and the units of
//! its sale lines.

use std::collections::BTreeSet;
use std::path::PathBuf;

use chrono::NaiveDate;
use polars::prelude::*;

use super::*;
use crate::lake::memo::{Memo, Stamp};

/// Ozon accruals: every component signed as Ozon sends it (charges negative, income positive).
/// Units come from the line's `sale_price` component: Ozon's quantity, or when Ozon sent none
/// the quantity of that posting's line in the posting lists; unknown (null) without either.
pub(super) fn ozon_accruals(
    lf: LazyFrame,
    lake: &Lake,
    scope: &Scope<'_>,
    catalogue: &Catalogue,
    no_returns: Expr,
) -> Result<Vec<LazyFrame>, MetricsError> {
    use crate::lake::schema::accrual_kind as kind;
    let types = super::super::classify::ozon_types(&lf, Some(scope.footers(lake)), catalogue)?;
    let classified = lf.clone().join(
        types,
        [col("type_name"), col("type_description")],
        [col("type_name"), col("type_description")],
        JoinArgs::new(JoinType::Left),
    );
    let is_kind = |k: &str| col("kind").eq(lit(k.to_string()));
    let fee = kind::FEES.iter().fold(lit(false), |acc, k| acc.or(is_kind(k)));
    let cat = |c: &str| fee.clone().and(col("oz_cat").eq(lit(c.to_string())));
    let charge = |cond: Expr| when_then(cond, neg(col("amount")), zero_money());
    let income = |cond: Expr| when_then(cond, col("amount"), zero_money());
    let revenue = is_kind(kind::SALE_PRICE).or(is_kind(kind::BONUS)).or(is_kind(kind::COINVESTMENT));
    let unclassified = is_kind(kind::REMAINDER).or(fee.clone().and(col("oz_cat").is_null()));
    let money = part(
        classified,
        scope,
        "ozon",
        col("date"),
        col("sku"),
        vec![
            ("returns", no_returns.clone()),
            ("revenue", income(revenue)),
            ("commission", charge(is_kind(kind::SALE_COMMISSION).or(cat("commission")))),
            ("logistics", charge(cat("logistics"))),
            ("storage", charge(cat("storage"))),
            ("acceptance", charge(cat("acceptance"))),
            ("penalties", charge(cat("penalty"))),
            ("other_deductions", charge(cat("other"))),
            // Ozon takes ad charges from the payout: they are the ad spend, and an ad deduction.
            ("ad_deductions", charge(cat("ads"))),
            ("ad_spend", charge(cat("ads"))),
            ("transfers", charge(cat("transfer"))),
            ("compensation", income(cat("compensation"))),
            ("additional_payments", income(cat("additional_payment"))),
            ("unclassified", income(unclassified)),
        ],
    );
    // Only lines Ozon sent without a quantity need the posting lists.
    let lines = lf.filter(is_kind(kind::SALE_PRICE));
    let sent = lines.clone().filter(col("quantity").is_not_null());
    let missing = lines.filter(col("quantity").is_null()).drop(cols(["quantity"]));
    let found = with_posting_quantities(lake, missing)?;
    let units = |lf: LazyFrame, qty: Expr| {
        part(
            lf,
            scope,
            "ozon",
            col("date"),
            col("sku"),
            vec![
                ("returns", no_returns.clone()),
                ("units_sold", when_then(col("direction").gt(lit(0i64)), qty.clone(), lit(0i64))),
                ("units_returned", when_then(col("direction").lt(lit(0i64)), qty, lit(0i64))),
            ],
        )
    };
    Ok(vec![money, units(sent, col("quantity")), units(found, col("posting_quantity"))])
}

/// `lines` (accrual lines with `unit_number` and `sku`) with `posting_quantity`: that posting
/// line's quantity from the posting lists, null where they do not have it. The lists are read
/// only when there is a line to look up (Ozon sends most lines with their quantity), and only as
/// far back as the lines' postings are: see [`posting_quantities`].
pub(in crate::metrics) fn with_posting_quantities(lake: &Lake, lines: LazyFrame) -> Result<LazyFrame, MetricsError> {
    let no_quantity = |lines: LazyFrame| lines.with_column(lit(NULL).cast(DataType::Int64).alias("posting_quantity"));
    // The postings to look up (few: a line without a quantity is rare), and the last day one is
    // needed on; a line without a posting number has nothing to look up.
    let wanted = lines
        .clone()
        .filter(col("unit_number").is_not_null().and(col("unit_number").neq(lit(""))).and(col("sku").is_not_null()))
        .group_by([col("unit_number"), col("sku")])
        .agg([col("date").max().alias("last")])
        .collect()?;
    let last = wanted.column("last")?.date()?.as_date_iter().flatten().max();
    let Some(last) = last else { return Ok(no_quantity(lines)) };
    Ok(match posting_quantities(lake, wanted.drop("last")?, last)?.0 {
        Some(q) => lines.join(
            q.lazy(),
            [col("unit_number"), col("sku")],
            [col("posting_number"), col("sku")],
            JoinArgs::new(JoinType::Left),
        ),
        None => no_quantity(lines),
    })
}

/// The quantities of the posting lines `wanted` (`unit_number`, `sku`) from the FBO and FBS lists
/// (a posting is in one of them), or `None` when neither has one of them.
///
/// A posting is partitioned by the month it entered processing, which comes before its accruals:
/// the months are read backwards from that of `last` (two days on, as [`kopecks::month_range`]
/// reads), 3 months, then 6, 12, … until every posting is found, then the months after it. A
/// nightly run finds its fortnight's postings in the first window instead of reading every month
/// ever loaded. A posting that is in none of them (sold before the lake's first month) would make
/// every run read every month: which postings a partition does not hold is kept in a memo (see
/// [`crate::lake::memo`]), so a month is read again for them only once it was rewritten.
///
/// Also the number of partition files it read.
fn posting_quantities(
    lake: &Lake,
    mut wanted: DataFrame,
    last: NaiveDate,
) -> Result<(Option<DataFrame>, usize), MetricsError> {
    let (_, newest) = kopecks::month_range(last, last);
    let mut files: Vec<(Dataset, String, PathBuf)> = Vec::new();
    for ds in [Dataset::OzonFbo, Dataset::OzonFbs] {
        for part in lake.partition_files(ds) {
            let month = crate::lake::verify::partition_of(&part).map(|(_, m)| m).unwrap_or_default();
            files.push((ds, month, part));
        }
    }
    let mut back: Vec<&str> = files.iter().map(|(_, m, _)| m.as_str()).filter(|m| *m <= newest.as_str()).collect();
    back.sort_unstable_by(|a, b| b.cmp(a));
    back.dedup();
    let mut windows: Vec<Vec<&str>> = Vec::new();
    let (mut start, mut size) = (0, 3);
    while start < back.len() {
        let end = (start + size).min(back.len());
        windows.push(back[start..end].to_vec());
        (start, size) = (end, size * 2);
    }
    let later: Vec<&str> = files.iter().map(|(_, m, _)| m.as_str()).filter(|m| *m > newest.as_str()).collect();
    windows.push(later);

    let mut memo: Memo<Absent> = Memo::load(lake.root().join(ABSENT_MEMO), lake.root().to_path_buf());
    let keys = [col("posting_number"), col("sku")];
    let mut found: Option<DataFrame> = None;
    let (mut read, mut files_read): (Vec<(PathBuf, Stamp)>, usize) = (Vec::new(), 0);
    for window in windows {
        if wanted.height() == 0 {
            break;
        }
        let looked_for = posting_keys(&wanted)?;
        let mut scans = Vec::new();
        for ds in [Dataset::OzonFbo, Dataset::OzonFbs] {
            let mut parts = Vec::new();
            for (_, _, part) in files.iter().filter(|(d, m, _)| *d == ds && window.contains(&m.as_str())) {
                let stamp = Stamp::of(part);
                let absent = memo.get(part, stamp).is_some_and(|a| looked_for.iter().all(|k| a.contains(k)));
                if !absent {
                    files_read += 1;
                    parts.push(part.clone());
                    read.extend(stamp.map(|s| (part.clone(), s)));
                }
            }
            if let Some(lf) = lake.scan_partitions(ds, parts)? {
                scans.push(lf.select([col("posting_number"), col("sku"), col("quantity").alias("posting_quantity")]));
            }
        }
        if scans.is_empty() {
            continue;
        }
        let hits = concat(scans, UnionArgs::default())?
            .join(wanted.clone().lazy(), keys.clone(), [col("unit_number"), col("sku")], JoinArgs::new(JoinType::Inner))
            .group_by(keys.clone())
            .agg([col("posting_quantity").first()])
            .collect()?;
        if hits.height() > 0 {
            wanted = wanted
                .lazy()
                .join(
                    hits.clone().lazy().select([keys[0].clone(), keys[1].clone(), lit(true).alias("hit")]),
                    [col("unit_number"), col("sku")],
                    keys.clone(),
                    JoinArgs::new(JoinType::Left),
                )
                .filter(col("hit").is_null())
                .select([col("unit_number"), col("sku")])
                .collect()?;
            found = Some(match found {
                Some(f) => f.vstack(&hits)?,
                None => hits,
            });
        }
    }
    // The postings found nowhere are in none of the files read (stamped before they were read),
    // nor in those skipped (the memo had them absent there). Only these are kept: a posting found
    // in an older month costs its windows' reads whatever the memo says.
    let nowhere = posting_keys(&wanted)?;
    if !nowhere.is_empty() {
        for (part, stamp) in read {
            let mut absent = memo.get(&part, Some(stamp)).cloned().unwrap_or_default();
            absent.extend(nowhere.iter().cloned());
            if absent.len() <= MAX_ABSENT {
                memo.put(&part, stamp, absent);
            }
        }
    }
    memo.save();
    Ok((found, files_read))
}

/// Where the postings each partition of the posting lists does not hold are kept, under the lake.
const ABSENT_MEMO: &str = ".memo/ozon-postings-absent.json";
/// Postings known absent from one partition, at most: the memo is read by every lookup, and a
/// lake missing thousands of old postings keeps it to ~30 KB a partition file (a few MB for years
/// of two lists), at the cost of reading for the postings past the limit.
const MAX_ABSENT: usize = 1_000;

/// (posting number, SKU) pairs.
type Absent = BTreeSet<(String, i64)>;

/// The (`unit_number`, `sku`) pairs of `wanted`.
fn posting_keys(wanted: &DataFrame) -> Result<Absent, MetricsError> {
    let numbers = wanted.column("unit_number")?.str()?;
    let skus = wanted.column("sku")?.cast(&DataType::Int64)?;
    let skus = skus.i64()?;
    Ok(numbers.iter().zip(skus.iter()).filter_map(|(n, s)| Some((n?.to_string(), s?))).collect())
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::lake::ALWAYS;
    use crate::lake::batch::{Batch, Lineage};
    use crate::money::Kopecks;
    use crate::sources::ozon::models::OzonPostingRow;

    fn posting(number: &str, sku: i64, (year, month): (i32, u32), quantity: i64) -> OzonPostingRow {
        OzonPostingRow {
            posting_number: number.into(),
            sku,
            order_number: format!("order-{number}"),
            order_id: None,
            status: "delivered".into(),
            substatus: String::new(),
            in_process_at: Utc.with_ymd_and_hms(year, month, 10, 12, 0, 0).unwrap(),
            created_at: None,
            offer_id: "offer".into(),
            name: "item".into(),
            quantity,
            price: Kopecks(100_00),
            currency: "RUB".into(),
        }
    }

    fn load(lake: &Lake, ds: Dataset, rows: Vec<OzonPostingRow>) {
        let lineage = Lineage { loaded_at: Utc::now(), chunk: "test".into() };
        for (month, df) in Batch::new(ds, rows).into_partitions(&lineage).unwrap() {
            lake.upsert(ds, "shop", &month, df, ALWAYS).unwrap();
        }
    }

    /// One posting a month, so that the windows have months to skip.
    fn fillers(months: impl Iterator<Item = (i32, u32)>) -> Vec<OzonPostingRow> {
        months.map(|(y, m)| posting(&format!("F-{y}-{m}"), 1, (y, m), 1)).collect()
    }

    fn months_between(first: (i32, u32), last: (i32, u32)) -> impl Iterator<Item = (i32, u32)> {
        let index = |(y, m): (i32, u32)| y * 12 + m as i32 - 1;
        (index(first)..=index(last)).map(|i| (i.div_euclid(12), i.rem_euclid(12) as u32 + 1))
    }

    /// The posting quantities `with_posting_quantities` gives the lines `(unit_number, sku)`,
    /// all dated `day`, in the lines' order.
    fn quantities(
        lake: &Lake,
        lines: &[(Option<&str>, i64)],
        day: NaiveDate,
    ) -> Result<Vec<Option<i64>>, MetricsError> {
        let n = lines.len();
        let lines = DataFrame::new_infer_height(vec![
            Column::new("i".into(), (0..n as u32).collect::<Vec<_>>()),
            Column::new("unit_number".into(), lines.iter().map(|l| l.0).collect::<Vec<_>>()),
            Column::new("sku".into(), lines.iter().map(|l| l.1).collect::<Vec<_>>()),
            Series::new("date".into(), vec![day; n]).into_column(),
        ])?;
        let df = with_posting_quantities(lake, lines.lazy())?.sort(["i"], Default::default()).collect()?;
        Ok(df.column("posting_quantity")?.i64()?.iter().collect())
    }

    #[test]
    fn a_posting_months_before_its_line_or_after_it_is_found_and_one_nowhere_stays_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::new(dir.path());
        let mut fbo = fillers(months_between((2025, 1), (2026, 10)));
        fbo.push(posting("OLD", 7, (2025, 1), 5));
        fbo.push(posting("MID", 7, (2026, 3), 2));
        fbo.push(posting("LATE", 7, (2026, 10), 4));
        load(&lake, Dataset::OzonFbo, fbo);
        load(&lake, Dataset::OzonFbs, vec![posting("FBS", 7, (2026, 6), 3)]);
        let lines = [
            (Some("OLD"), 7),
            (Some("MID"), 7),
            (Some("FBS"), 7),
            (Some("LATE"), 7),
            (Some("NOWHERE"), 7),
            (Some("OLD"), 8),
            (Some(""), 7),
            (None, 7),
            (Some("OLD"), 7),
        ];
        let day = NaiveDate::from_ymd_opt(2026, 7, 15).unwrap();
        assert_eq!(
            quantities(&lake, &lines, day).unwrap(),
            [Some(5), Some(2), Some(3), Some(4), None, None, None, None, Some(5)]
        );
    }

    #[test]
    fn when_every_posting_is_found_near_its_line_the_older_months_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::new(dir.path());
        let mut fbo = fillers(months_between((2026, 5), (2026, 7)));
        fbo.push(posting("A", 7, (2026, 8), 2));
        load(&lake, Dataset::OzonFbo, fbo);
        load(&lake, Dataset::OzonFbs, vec![posting("B", 7, (2026, 9), 3)]);
        // A month far back whose file cannot be read: reading it is an error.
        let old = lake.partition_file(Dataset::OzonFbo, "shop", "2025-02");
        std::fs::create_dir_all(old.parent().unwrap()).unwrap();
        std::fs::write(&old, b"not parquet").unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 9, 10).unwrap();
        assert_eq!(quantities(&lake, &[(Some("A"), 7), (Some("B"), 7)], day).unwrap(), [Some(2), Some(3)]);
        // A posting that is in none of the months near it sends the search on to that month.
        assert!(quantities(&lake, &[(Some("A"), 7), (Some("C"), 7)], day).is_err());
    }

    #[test]
    fn a_posting_in_no_month_is_looked_for_in_the_old_months_once_until_one_of_them_is_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::new(dir.path());
        load(&lake, Dataset::OzonFbo, fillers(months_between((2025, 1), (2026, 9))));
        let wanted = || {
            DataFrame::new_infer_height(vec![
                Column::new("unit_number".into(), ["F-2026-9", "GONE"]),
                Column::new("sku".into(), [1i64, 1]),
            ])
            .unwrap()
        };
        let day = NaiveDate::from_ymd_opt(2026, 9, 15).unwrap();
        let lookup = || {
            let (found, read) = posting_quantities(&lake, wanted(), day).unwrap();
            let found = found.unwrap().sort(["posting_number"], Default::default()).unwrap();
            let numbers: Vec<String> =
                found.column("posting_number").unwrap().str().unwrap().iter().flatten().map(String::from).collect();
            (numbers, read)
        };
        // The first time, all 21 months; then the three near the line, which hold the other one.
        assert_eq!(lookup(), (vec!["F-2026-9".to_string()], 21));
        assert_eq!(lookup(), (vec!["F-2026-9".to_string()], 3));
        // A month that changed is read again: now it has the posting.
        load(&lake, Dataset::OzonFbo, vec![posting("GONE", 1, (2025, 2), 4)]);
        assert_eq!(lookup(), (vec!["F-2026-9".to_string(), "GONE".to_string()], 4));
        assert_eq!(quantities(&lake, &[(Some("GONE"), 1)], day).unwrap(), [Some(4)]);
    }
}
