//! `mpetl metrics`: a period's metrics from the lake (no network), and the marts it touches.

use std::path::Path;

use anyhow::Result;
use chrono::NaiveDate;
use mpetl::config::Config;
use mpetl::metrics::{self, Grain};
use mpetl::pipeline::plan::{Period, parse_date};

use super::present::{metric_json, print_metrics};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, value_parser = parse_date, requires = "to")]
    from: Option<NaiveDate>,
    #[arg(long, value_parser = parse_date, requires = "from")]
    to: Option<NaiveDate>,
    /// Time grain of the table and the mart.
    #[arg(long, value_enum, default_value = "month")]
    by: Grain,
    /// Only these accounts (repeatable).
    #[arg(long = "account")]
    accounts: Vec<String>,
    /// As JSON on stdout: the totals per period, account and marketplace (money as exact decimal
    /// strings), the notes and the files written.
    #[arg(long)]
    json: bool,
}

pub fn run(config: &Path, args: Args) -> Result<()> {
    let Args { from, to, by, accounts, json } = args;
    let cfg = Config::load(config)?;
    let accounts = (!accounts.is_empty()).then_some(accounts);
    for id in accounts.iter().flatten() {
        cfg.account(id)?;
    }
    let lake = mpetl::lake::Lake::new(cfg.lake_dir());
    let started = std::time::Instant::now();
    let lap = |what: &str| tracing::debug!(ms = started.elapsed().as_millis() as u64, "{what}");
    let context = metrics::Context::load(&cfg)?;
    lap("costs and catalogue loaded");
    let inputs = context.inputs();
    let (period, touched, rewrite) = match (from, to) {
        (Some(from), Some(to)) => {
            let period = Period::new(from, to)?;
            let touched = metrics::marts::touched(&period);
            (period, touched, false)
        }
        _ => {
            let months = metrics::marts::lake_months(&lake);
            let (Some(first), Some(last)) = (months.first(), months.last()) else {
                anyhow::bail!("the lake at {} is empty: run `mpetl backfill` first", cfg.lake_dir().display());
            };
            (Period::new(*first, Grain::Month.end(*last))?, months, true)
        }
    };
    // The period's own rows come from the days the marts sum, when one span covers it: one read
    // of the lake, not two. An account filter is not the marts' business: computed apart.
    let also = accounts.is_none().then_some((&period, by));
    let mut update = metrics::marts::update(&lake, &inputs, &cfg.marts_dir(), &touched, &Grain::ALL, rewrite, also)?;
    lap("marts updated");
    let sku = match update.also.take() {
        Some(sku) => sku,
        None => metrics::by_sku(&lake, &inputs, &period, by, accounts.as_deref())?,
    };
    lap("the period's metrics computed");
    let totals = metrics::totals(&sku, &cfg.tax)?;
    let unknown = metrics::unknown::unknown_operations(&lake, &context.catalogue, period.from, period.to)?;
    let unknown_units = metrics::unknown::unknown_units(&lake, period.from, period.to)?;
    // The snapshot taken the morning after the period shows the stock at its end.
    let stock = metrics::stock::write(&lake, cfg.timezone, period.to + chrono::Duration::days(1), &cfg.marts_dir())?;
    lap("unknown operations and the stock mart");
    let wrote: Vec<_> = update.files.iter().chain(&stock).cloned().collect();
    if json {
        let doc = serde_json::json!({
            "from": period.from,
            "to": period.to,
            "grain": by.name(),
            "totals": metrics::rows(&totals)?.iter().map(metric_json).collect::<Vec<_>>(),
            "missing_costs": metrics::missing_costs(&sku)?.iter().map(|m| serde_json::json!({
                "marketplace": m.marketplace, "sku": m.sku, "seller_sku": m.seller_sku, "units": m.units,
            })).collect::<Vec<_>>(),
            "unknown_operations": unknown,
            "unknown_units": unknown_units,
            "wrote": wrote,
            "rewritten": update.rewritten,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    print_metrics(&period, by, &sku, &totals, &cfg.costs_file)?;
    for u in &unknown {
        println!("note: {u}");
    }
    for u in &unknown_units {
        println!("note: {u}");
    }
    for p in &update.rewritten {
        println!(
            "note: {} was written by another mpetl version (or a rewrite that did not finish): rewritten from the lake",
            p.display()
        );
    }
    for line in super::present::written(&wrote) {
        println!("wrote {line}");
    }
    Ok(())
}
