//! `mpetl cache stats|invalidate`: the chunk cache.

use std::path::Path;

use anyhow::Result;
use chrono::NaiveDate;
use mpetl::config::Config;
use mpetl::dataset::Dataset;
use mpetl::pipeline::plan::{Period, parse_date};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Entries, rows, hits, misses, hit ratio and lake bytes per dataset.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Drop cached chunks (all, or those matching every filter given). The lake is kept; the
    /// next run fetches the dropped chunks again and upserts them.
    Invalidate {
        /// A dataset name, e.g. wb_finance, ozon_fbo, wb_orders.
        #[arg(long, value_parser = parse_dataset)]
        dataset: Option<Dataset>,
        #[arg(long = "account")]
        account: Option<String>,
        /// Chunks covering days from this one on.
        #[arg(long, value_parser = parse_date)]
        from: Option<NaiveDate>,
        /// Chunks covering days up to this one.
        #[arg(long, value_parser = parse_date)]
        to: Option<NaiveDate>,
    },
}

fn parse_dataset(s: &str) -> Result<Dataset, String> {
    Dataset::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Dataset::ALL.iter().map(|d| d.name()).collect();
        format!("unknown dataset '{s}'; use one of: {}", names.join(", "))
    })
}

pub fn run(config: &Path, args: Args) -> Result<()> {
    match args.action {
        Action::Stats { json } => stats(config, json),
        Action::Invalidate { dataset, account, from, to } => invalidate(config, dataset, account, from, to),
    }
}

fn stats(config: &Path, json: bool) -> Result<()> {
    let cfg = Config::load(config)?;
    let stats = match mpetl::state::open_to_read(&cfg)? {
        Some(store) => mpetl::status::cache_stats(store.as_ref(), &mpetl::lake::Lake::new(cfg.lake_dir()))?,
        None => Vec::new(),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
    } else {
        print!("{}", mpetl::status::cache_table(&stats));
    }
    Ok(())
}

fn invalidate(
    config: &Path,
    dataset: Option<Dataset>,
    account: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<()> {
    let cfg = Config::load(config)?;
    if let Some(a) = &account {
        cfg.account(a)?;
    }
    if let (Some(f), Some(t)) = (from, to) {
        Period::new(f, t)?;
    }
    let store = mpetl::state::open(&cfg)?;
    let sel = mpetl::status::Invalidate { dataset, account, from, to };
    let dropped = mpetl::status::invalidate(store.as_ref(), &sel)?;
    for id in &dropped {
        println!("dropped {id}");
    }
    println!("{} cached chunk(s) dropped; the next run fetches them again", dropped.len());
    Ok(())
}
