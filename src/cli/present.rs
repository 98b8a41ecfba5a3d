//! How results look on a terminal: the run report, the metrics tables, durations.

use anyhow::Result;
use mpetl::metrics::{self, Grain};
use mpetl::pipeline::RunReport;
use mpetl::pipeline::plan::Period;

/// "38 min 20 s", "2.5 s".
pub fn human(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{:.1} s", d.as_secs_f64()),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

pub fn print_metrics(
    period: &Period,
    grain: Grain,
    sku: &polars::prelude::DataFrame,
    totals: &polars::prelude::DataFrame,
    costs_file: &std::path::Path,
) -> Result<()> {
    // One line per marketplace and in all, over every account.
    let rows: Vec<_> = metrics::rows(totals)?.into_iter().filter(|r| r.account == "all").collect();
    println!(
        "\nPeriod {} – {}, by {}. Orders and buyouts (statistics, preliminary):\n",
        period.from,
        period.to,
        grain.name()
    );
    print!("{}", mpetl::report::operations_table(&rows, grain));
    println!("\nMoney (finance reports and accruals):\n");
    print!("{}", mpetl::report::money_table(&rows, grain));
    print!("{}", mpetl::report::missing_costs(&metrics::missing_costs(sku)?, costs_file));
    Ok(())
}

/// A metrics row as a JSON object: counts as numbers, money as exact decimal strings
/// ("1234.50"), ratios as numbers, unknowns as null.
pub fn metric_json(r: &metrics::MetricRow) -> serde_json::Value {
    let mut o = serde_json::Map::new();
    o.insert("period_from".into(), serde_json::json!(r.period_from));
    o.insert("period_to".into(), serde_json::json!(r.period_to));
    o.insert("account".into(), r.account.clone().into());
    o.insert("marketplace".into(), r.marketplace.clone().into());
    for (k, v) in &r.counts {
        o.insert((*k).into(), serde_json::json!(v));
    }
    for (k, v) in &r.money {
        o.insert((*k).into(), serde_json::json!(v.map(mpetl::money::format_kopecks)));
    }
    for (k, v) in &r.ratios {
        o.insert((*k).into(), serde_json::json!(v));
    }
    o.insert("reconciled".into(), serde_json::json!(r.reconciled));
    o.insert("complete".into(), serde_json::json!(r.complete));
    serde_json::Value::Object(o)
}

pub fn print_report(r: &RunReport) {
    println!(
        "Run {}: fetched {} rows with {} requests in {:.1} s; {} of {} chunks were cached. Lake: {} new keys, {} changed rows, {} partition files written.",
        r.run_id,
        r.rows_fetched,
        r.requests,
        r.seconds,
        r.chunks_cached,
        r.chunks_planned,
        r.lake.inserted,
        r.lake.changed,
        r.lake.partitions_written
    );
    for n in &r.notes {
        println!("note: {n}");
    }
    if let Some(rec) = &r.reconciliation {
        if rec.mismatches.is_empty() {
            println!(
                "Reconciliation: {} WB report(s) and {} Ozon statement period(s) checked; every total equals the sum of our rows.",
                rec.reports, rec.periods
            );
        } else {
            println!(
                "Reconciliation: {} WB report(s) and {} Ozon statement period(s) checked; {} total(s) DISAGREE with our rows:",
                rec.reports,
                rec.periods,
                rec.mismatches.len()
            );
            for m in &rec.mismatches {
                println!(
                    "  account {} {} {} {}: marketplace {} ≠ rows {}",
                    m.account,
                    m.marketplace,
                    m.statement,
                    m.field,
                    mpetl::money::format_kopecks(m.header),
                    mpetl::money::format_kopecks(m.rows)
                );
            }
        }
    }
    for u in &r.unknown {
        println!("unknown: {u}");
    }
    // One line per SKU is plenty for a few; a cabinet with many gets the first ten and a count.
    for u in r.unknown_units.iter().take(10) {
        println!("unknown: {u}");
    }
    if r.unknown_units.len() > 10 {
        println!("unknown: … and {} more Ozon SKUs with lines of unknown units", r.unknown_units.len() - 10);
    }
    for line in written(&r.marts) {
        println!("mart: {line}");
    }
}

/// Files written, one line per directory: a mart's month files read as one line
/// (`…/marts/sku_day/ 2025-12 … 2026-11, 12 files`), a single file as its path.
pub fn written(files: &[std::path::PathBuf]) -> Vec<String> {
    let mut dirs: std::collections::BTreeMap<&std::path::Path, Vec<String>> = Default::default();
    let mut out = Vec::new();
    for f in files {
        let month = f.file_stem().and_then(|s| s.to_str()).filter(|s| s.len() == 7 && s.as_bytes()[4] == b'-');
        match (month, f.parent()) {
            (Some(m), Some(dir)) => dirs.entry(dir).or_default().push(m.to_string()),
            _ => out.push(f.display().to_string()),
        }
    }
    for (dir, mut months) in dirs {
        months.sort();
        let line = match (months.first(), months.last()) {
            (Some(a), Some(b)) if a != b => format!("{}/ {a} … {b}, {} files", dir.display(), months.len()),
            _ => format!("{}/ {}", dir.display(), months.join("")),
        };
        out.push(line);
    }
    out
}
