//! `mpetl plan`: what a backfill would fetch and the least time the limits allow; no request.

use std::path::Path;

use anyhow::Result;
use chrono::NaiveDate;
use mpetl::config::Config;
use mpetl::dataset::Marketplace;
use mpetl::pipeline::plan::{Period, parse_date};

use super::present::human;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, value_parser = parse_date)]
    from: NaiveDate,
    #[arg(long, value_parser = parse_date)]
    to: NaiveDate,
    #[arg(long = "account")]
    accounts: Vec<String>,
    #[arg(long, value_delimiter = ',', default_value = "wb,ozon")]
    sources: Vec<Marketplace>,
}

pub fn run(config: &Path, args: Args) -> Result<()> {
    let Args { from, to, accounts, sources } = args;
    let cfg = Config::load(config)?;
    let period = Period::new(from, to)?;
    let chosen: Vec<&mpetl::config::Account> = if accounts.is_empty() {
        cfg.accounts.iter().collect()
    } else {
        accounts.iter().map(|id| cfg.account(id)).collect::<Result<_, _>>()?
    };
    // Opened once the request is known good: a refused command leaves no state behind.
    let store = mpetl::state::open(&cfg)?;
    let req = mpetl::pipeline::plan::PlanRequest {
        period,
        accounts: chosen,
        sources,
        refresh: false,
        now: chrono::Utc::now(),
        since: Default::default(),
    };
    let plan = mpetl::pipeline::plan::plan(&cfg, store.as_ref(), &req)?;
    let cached = plan.chunks.iter().filter(|c| c.cached).count();
    println!("{} chunk(s), {cached} cached (no request):", plan.chunks.len());
    for c in &plan.chunks {
        println!("  {:<40} {}", c.chunk.id, if c.cached { "cached" } else { "fetch" });
    }
    for n in &plan.notes {
        println!("note: {n}");
    }
    let costs = mpetl::pipeline::plan::cost(&plan, &cfg);
    println!("\n{:<14} {:>9} {:>16} {:>14}", "bucket", "requests", "limit", "at least");
    let mut longest = std::time::Duration::ZERO;
    for b in &costs {
        longest = longest.max(b.lower_bound);
        let limit = format!("{}/{:?} (×{})", 1, b.quota.period, b.quota.burst);
        println!("{:<14} {:>8}+ {:>16} {:>14}", b.bucket, b.requests, limit, human(b.lower_bound));
    }
    println!(
        "\nThe run takes at least {} (buckets run concurrently; more when data fills more pages).",
        human(longest)
    );
    Ok(())
}
