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
    List {
        /// As JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Run one job now, with its notifications.
    Run {
        name: String,
        /// The run's report (and the summary, when it is not posted) as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(config: &Path, args: Args) -> Result<()> {
    match args.action {
        Action::List { json } => list(config, &args.jobs, json),
        Action::Run { name, json } => run_one(config, &args.jobs, &name, json).await,
    }
}

fn list(config: &Path, jobs: &Path, json: bool) -> Result<()> {
    let cfg = Config::load(config)?;
    let list = mpetl::jobs::load_dir(jobs, &cfg)?;
    let store = mpetl::state::open_to_read(&cfg)?;
    let now = chrono::Utc::now();
    let mut out = Vec::new();
    for j in &list {
        let next: Vec<String> =
            j.next_fires(now, 2).iter().map(|t| t.format("%Y-%m-%d %H:%M:%S %Z").to_string()).collect();
        let last = match &store {
            Some(s) => mpetl::schedule::last_result(s.as_ref(), &j.name)?,
            None => None,
        };
        let kind = match &j.kind {
            mpetl::jobs::JobKind::Incremental { .. } => "incremental".to_string(),
            mpetl::jobs::JobKind::Backfill { period } => format!("backfill {}..{}", period.from, period.to),
        };
        if json {
            out.push(serde_json::json!({
                "name": j.name,
                "kind": kind,
                "cron": j.cron,
                "timezone": j.tz.name(),
                "next": j.next_fires(now, 2),
                "last": last,
            }));
            continue;
        }
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
        println!("{}  ({kind}; cron \"{}\" {})\n  next: {}\n  last: {last}", j.name, j.cron, j.tz, next.join(", "));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if list.is_empty() {
        println!("No jobs in {}.", jobs.display());
    }
    Ok(())
}

async fn run_one(config: &Path, jobs: &Path, name: &str, json: bool) -> Result<()> {
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
    if let (Some(id), false) = (out.summary_message, json) {
        println!("Summary posted (message {id}).");
    }
    let report = out.result?;
    if !json {
        print_report(&report);
    }
    // Without Telegram the summary is printed here.
    let mut summary_text = None;
    if let (Some(period), None) = (job.summary, job.telegram_chat) {
        let today = started.with_timezone(&job.tz).date_naive();
        let run_period = job.request(started).period;
        let title = cfg.accounts.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ");
        let lang = cfg.telegram.as_ref().map(|t| t.lang).unwrap_or_default();
        let summary =
            mpetl::summary::Summary::compute(&cfg, &title, period.period(today, run_period), job.accounts.as_deref())?;
        summary_text = Some(summary.text(lang));
    }
    if json {
        let doc = serde_json::json!({
            "job": job.name,
            "report": report,
            "summary_message": out.summary_message,
            "summary": summary_text,
            "notes": out.notes,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else if let Some(text) = summary_text {
        println!("\n{text}");
    }
    Ok(())
}
