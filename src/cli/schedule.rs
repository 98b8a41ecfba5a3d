//! `mpetl schedule` (the jobs on their cron schedules) and `mpetl bot` (Telegram commands).

use std::path::{Path, PathBuf};

use anyhow::Result;
use mpetl::config::Config;

use super::shutdown_signal;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = "jobs")]
    jobs: PathBuf,
    /// Also serve the Telegram commands (`mpetl bot`) in this process: with the embedded
    /// state store only one process may write the state.
    #[arg(long)]
    bot: bool,
}

pub async fn run(config: &Path, args: Args) -> Result<()> {
    let Args { jobs, bot } = args;
    let cfg = Config::load(config)?;
    let list = mpetl::jobs::load_dir(&jobs, &cfg)?;
    if bot && cfg.telegram.is_none() {
        return Err(mpetl::bot::BotError::NotConfigured.into());
    }
    let store = mpetl::state::open(&cfg)?;
    for j in &list {
        let next = j.next_fires(chrono::Utc::now(), 1);
        println!("job {}: next at {}", j.name, next.first().map_or("never".into(), |t| t.to_string()));
    }
    // One signal stops both the scheduler and the bot.
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|v| *v).await;
    };
    // The bot failing for good (a revoked token) must not take the nightly jobs with it: it is
    // said at once, loudly, the jobs go on, and the exit status says it at the end.
    let commands = async {
        if !bot {
            return Ok(());
        }
        let r = mpetl::bot::serve(cfg.clone(), store.clone(), stopped(rx.clone())).await;
        if let Err(e) = &r {
            tracing::error!(error = %e, "the Telegram bot stopped; the scheduled jobs go on");
            eprintln!(
                "error: the Telegram bot stopped: {e}\nThe scheduled jobs go on; restart `mpetl schedule --bot` once it is fixed."
            );
        }
        r
    };
    let (s, b) =
        tokio::join!(mpetl::schedule::schedule(cfg.clone(), store.clone(), list, stopped(rx.clone())), commands);
    s?;
    b?;
    Ok(())
}

pub async fn bot(config: &Path) -> Result<()> {
    let cfg = Config::load(config)?;
    let store = mpetl::state::open(&cfg)?;
    mpetl::bot::serve(cfg, store, shutdown_signal()).await?;
    Ok(())
}

#[derive(clap::Args)]
pub struct WorkerArgs {
    /// Accounts fetched at once by this worker.
    #[arg(long, default_value_t = mpetl::pipeline::ACCOUNTS_AT_ONCE)]
    accounts: usize,
}

pub async fn worker(config: &Path, args: WorkerArgs) -> Result<()> {
    let cfg = Config::load(config)?;
    if cfg.redis_url.is_none() {
        return Err(mpetl::worker::WorkerError::NoRedis.into());
    }
    let store = mpetl::state::open(&cfg)?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        println!("stopping: accounts in work stop at their next page and stay for other workers");
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let consumer = mpetl::state::holder_id("worker");
    println!("worker {consumer}: taking accounts from Redis, {} at once", args.accounts.max(1));
    mpetl::worker::work(cfg, store, consumer, args.accounts.max(1), stop).await?;
    Ok(())
}
