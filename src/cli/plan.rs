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
    /// As JSON on stdout: every chunk, the notes, requests and the least time per bucket.
    #[arg(long)]
    json: bool,
}

pub fn run(config: &Path, args: Args) -> Result<()> {
    let Args { from, to, accounts, sources, json } = args;
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
    let costs = mpetl::pipeline::plan::cost(&plan, &cfg);
    if json {
        let buckets: Vec<_> = costs
            .iter()
            .map(|b| {
                serde_json::json!({
                    "account": b.account,
                    "bucket": b.bucket,
                    "requests": b.requests,
                    "period_secs": b.quota.period.as_secs_f64(),
                    "burst": b.quota.burst,
                    "lower_bound_secs": b.lower_bound.as_secs_f64(),
                })
            })
            .collect();
        let doc = serde_json::json!({
            "from": period.from,
            "to": period.to,
            "chunks": plan.chunks.iter().map(|c| serde_json::json!({"id": c.chunk.id, "cached": c.cached})).collect::<Vec<_>>(),
            "notes": plan.notes,
            "buckets": buckets,
            "lower_bound_secs": costs.iter().map(|b| b.lower_bound.as_secs_f64()).fold(0.0, f64::max),
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    let cached = plan.chunks.iter().filter(|c| c.cached).count();
    println!("{} chunk(s), {cached} cached (no request):", plan.chunks.len());
    for c in &plan.chunks {
        println!("  {:<40} {}", c.chunk.id, if c.cached { "cached" } else { "fetch" });
    }
    for n in &plan.notes {
        println!("note: {n}");
    }
    println!("\n{:<14} {:<14} {:>9} {:>16} {:>14}", "account", "bucket", "requests", "limit", "at least");
    let mut longest = std::time::Duration::ZERO;
    for b in &costs {
        longest = longest.max(b.lower_bound);
        let limit = format!("{}/{:?} (×{})", 1, b.quota.period, b.quota.burst);
        println!("{:<14} {:<14} {:>8}+ {:>16} {:>14}", b.account, b.bucket, b.requests, limit, human(b.lower_bound));
    }
    println!(
        "\nThe run takes at least {} (every account's buckets run concurrently; more when data fills more pages).",
        human(longest)
    );
    Ok(())
}
