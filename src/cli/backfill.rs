//! `mpetl backfill`: pull a period into the lake, then write the marts.

use anyhow::Result;
use chrono::NaiveDate;
use mpetl::config::Config;
use mpetl::dataset::Marketplace;
use mpetl::events::Events;
use mpetl::metrics::Grain;
use mpetl::pipeline::plan::{Period, parse_date};
use mpetl::pipeline::{BackfillRequest, Runner};

use super::present::print_report;
use super::shutdown_signal;

#[derive(clap::Args)]
pub struct Args {
    /// First day (YYYY-MM-DD, in the configured time zone).
    #[arg(long, value_parser = parse_date, required_unless_present = "resume")]
    from: Option<NaiveDate>,
    /// Last day, inclusive.
    #[arg(long, value_parser = parse_date, required_unless_present = "resume")]
    to: Option<NaiveDate>,
    /// Continue the run with this id (see `mpetl status`) with its own period, accounts and
    /// sources. A plain re-run of the same command continues too, under a new id.
    #[arg(long, conflicts_with_all = ["from", "to", "accounts", "refresh"])]
    resume: Option<String>,
    /// Only these accounts (repeatable); all configured accounts by default.
    #[arg(long = "account")]
    accounts: Vec<String>,
    /// Marketplaces to pull, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "wb,ozon")]
    sources: Vec<Marketplace>,
    /// Fetch every chunk again, cached or not.
    #[arg(long)]
    refresh: bool,
    /// Print the run's report as JSON on stdout (progress stays on stderr).
    #[arg(long)]
    json: bool,
}

pub async fn run(config: &std::path::Path, args: Args) -> Result<()> {
    let Args { from, to, resume, accounts, sources, refresh, json } = args;
    let cfg = Config::load(config)?;
    let grains = vec![Grain::Day, Grain::Week, Grain::Month];
    // A new request is checked before the state is opened: a refused one writes nothing.
    let fresh = match (from, to, resume.is_none()) {
        (Some(from), Some(to), true) => {
            let req = BackfillRequest {
                accounts: (!accounts.is_empty()).then_some(accounts.clone()),
                sources,
                refresh,
                grains: grains.clone(),
                ..BackfillRequest::new(Period::new(from, to)?)
            };
            mpetl::pipeline::check_request(&cfg, &req)?;
            Some(req)
        }
        _ => None,
    };
    let (events, rx) = Events::channel();
    let progress = super::progress(rx);
    let runner = Runner::open(cfg, events)?;
    let req = match (fresh, resume) {
        (Some(req), _) => req,
        (None, Some(id)) => BackfillRequest { grains, ..runner.resume_request(&id)? },
        (None, None) => unreachable!("clap requires --from and --to without --resume"),
    };
    // Ctrl-C or SIGTERM: chunks stop at their next page with what they fetched stored,
    // and the run ends `interrupted`, resumable.
    let stop = runner.stop_flag();
    tokio::spawn(async move {
        shutdown_signal().await;
        eprintln!("stopping: finishing the current pages, then the run can be resumed");
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let result = runner.backfill(&req).await;
    drop(runner);
    let _ = progress.await;
    let report = result?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}
