//! `mpetl job list|run`: the jobs directory, and one job run now.

use std::path::{Path, PathBuf};

use anyhow::Result;
use mpetl::config::Config;

use super::present::print_report;
use super::shutdown_signal;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
    /// The directory of job files.
    #[arg(long, global = true, default_value = "jobs")]
    jobs: PathBuf,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Every job: kind, schedule, the next two fire times, the last result.
    List,
    /// Run one job now, with its notifications.
    Run { name: String },
}

pub async fn run(config: &Path, args: Args) -> Result<()> {
    match args.action {
        Action::List => list(config, &args.jobs),
        Action::Run { name } => run_one(config, &args.jobs, &name).await,
    }
}

fn list(config: &Path, jobs: &Path) -> Result<()> {
    let cfg = Config::load(config)?;
    let list = mpetl::jobs::load_dir(jobs, &cfg)?;
    let store = mpetl::state::open_to_read(&cfg)?;
    let now = chrono::Utc::now();
    for j in &list {
        let next: Vec<String> =
            j.next_fires(now, 2).iter().map(|t| t.format("%Y-%m-%d %H:%M:%S %Z").to_string()).collect();
        let last = match &store {
            Some(s) => mpetl::schedule::last_result(s.as_ref(), &j.name)?,
            None => None,
        };
        let last = last.map_or_else(
            || "never ran".to_string(),
            |l| {
                format!(
                    "{} at {} (run {})",
                    l.status,
                    l.at.format("%Y-%m-%d %H:%M:%S UTC"),
                    l.run_id.unwrap_or_default()
                )
            },
        );
        let kind = match &j.kind {
            mpetl::jobs::JobKind::Incremental { .. } => "incremental".to_string(),
            mpetl::jobs::JobKind::Backfill { period } => format!("backfill {}..{}", period.from, period.to),
        };
        println!("{}  ({kind}; cron \"{}\" {})\n  next: {}\n  last: {last}", j.name, j.cron, j.tz, next.join(", "));
    }
    if list.is_empty() {
        println!("No jobs in {}.", jobs.display());
    }
    Ok(())
}

async fn run_one(config: &Path, jobs: &Path, name: &str) -> Result<()> {
    let cfg = Config::load(config)?;
    let job = mpetl::jobs::find(jobs, &cfg, name)?;
    let store = mpetl::state::open(&cfg)?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let started = chrono::Utc::now();
    let out = mpetl::schedule::run_job(&cfg, store, &job, true, Some(stop)).await;
    for n in &out.notes {
        eprintln!("note: {n}");
    }
    if let Some(id) = out.summary_message {
        println!("Summary posted (message {id}).");
    }
    let report = out.result?;
    print_report(&report);
    // Without Telegram the summary is printed here.
    if let (Some(period), None) = (job.summary, job.telegram_chat) {
        let today = started.with_timezone(&job.tz).date_naive();
        let run_period = job.request(started).period;
        let title = cfg.accounts.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ");
        let lang = cfg.telegram.as_ref().map(|t| t.lang).unwrap_or_default();
        let summary =
            mpetl::summary::Summary::compute(&cfg, &title, period.period(today, run_period), job.accounts.as_deref())?;
        println!("\n{}", summary.text(lang));
    }
    Ok(())
}
