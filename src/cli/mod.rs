//! The `mpetl` command line: one file per command, what they print in [`present`].

mod backfill;
#[cfg(feature = "sandbox")]
mod bench;
mod cache;
mod config;
#[cfg(feature = "sandbox")]
mod demo;
mod doctor;
mod job;
mod lake;
mod metrics;
mod plan;
mod present;
#[cfg(feature = "sandbox")]
mod sandbox;
mod schedule;
mod status;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Batch ETL for Wildberries and Ozon sellers: marketplace data → Parquet lake → period metrics.
#[derive(Parser)]
#[command(
    name = "mpetl",
    version,
    about,
    after_help = "Exit codes: 0 done; 1 an error not listed here; 2 a usage or config mistake; 3 some chunks \
failed (the rest is stored; `backfill --resume` continues); 75 another run or process holds the \
account or the state store (try again later); 130 / 143 stopped by Ctrl-C / SIGTERM (resumable)."
)]
pub struct Cli {
    /// Config file (TOML); `MPETL_*` environment variables override its keys.
    #[arg(long, global = true, env = "MPETL_CONFIG", default_value = "mpetl.toml")]
    config: PathBuf,
    /// Errors only: no warnings in the log and no live progress on the terminal.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// More log on stderr: -v info, -vv debug, -vvv trace. `MPETL_LOG` (a tracing filter such as
    /// `mpetl=debug,warn`) wins over -q and -v.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// The log's lines as text, or as one JSON object each (for journald, Loki, ELK).
    #[arg(long, global = true, value_enum, env = "MPETL_LOG_FORMAT", default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl Cli {
    /// The log filter -q / -v ask for.
    pub fn log_level(&self) -> &'static str {
        match (self.quiet, self.verbose) {
            (true, _) => "error",
            (false, 0) => "warn",
            (false, 1) => "info",
            (false, 2) => "debug",
            (false, _) => "trace",
        }
    }

    pub fn log_format(&self) -> LogFormat {
        self.log_format
    }
}

/// `-q`: commands draw no live progress.
pub static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

#[derive(Subcommand)]
enum Command {
    /// Run the whole pipeline on the built-in sandbox: a year of a medium seller, no tokens needed.
    #[cfg(feature = "sandbox")]
    Demo(demo::Args),
    /// Pull a period from the marketplaces into the lake, then write the marts.
    Backfill(backfill::Args),
    /// Show what a backfill of a period would fetch: chunks (cached or not), requests per
    /// rate-limit bucket and the least wall time the limits allow. Makes no request.
    Plan(plan::Args),
    /// Active and recent runs (stage, chunks done/total, rows, errors, ETA); with a run id,
    /// that run's per-chunk detail.
    Status(status::Args),
    /// The chunk cache: `stats` per dataset, or `invalidate` chunks so the next run fetches
    /// them again.
    Cache(cache::Args),
    /// The configuration: `show` prints every key in effect, where it came from, secrets redacted.
    Config(config::Args),
    /// The lake itself: `verify` reads every partition and checks it against the chunk records.
    Lake(lake::Args),
    /// Check what tonight's job needs: the data dir and its free space, the state store, each
    /// account's tokens (accepted, days left), the Telegram bot and its chats. Exit 1 on a failure.
    Doctor(doctor::Args),
    /// Jobs in the jobs directory: `list` them with next fire times and last results, or `run`
    /// one now.
    Job(job::Args),
    /// Run the jobs on their schedules until SIGTERM or Ctrl-C (see README "Jobs").
    Schedule(schedule::Args),
    /// Take accounts of fanned-out jobs (`state.fan_out`) off Redis and fetch them into the
    /// shared lake, until SIGTERM or Ctrl-C (see README "Several hosts").
    Worker(schedule::WorkerArgs),
    /// Serve Telegram commands (/report, /status, /help) by long polling, for the allow-listed
    /// chats in [telegram].
    Bot,
    /// Compute the metrics of a period from the lake (no network), print them and update the
    /// marts of every month it overlaps; without a period, rewrite every mart from the whole lake.
    Metrics(metrics::Args),
    /// Build a large seller's lake through the pipeline, then time the metrics stage (rows/s, peak
    /// memory) against DuckDB on the same Parquet.
    #[cfg(feature = "sandbox")]
    Bench(bench::Args),
    /// (internal) The metrics stage of `bench`, in its own process so its peak memory is its own.
    #[cfg(feature = "sandbox")]
    #[command(hide = true)]
    BenchMetrics(bench::MetricsArgs),
    /// (internal) The decode + write stage of `bench`, in its own process.
    #[cfg(feature = "sandbox")]
    #[command(hide = true)]
    BenchDecode(bench::DecodeArgs),
    /// Serve the WB and Ozon emulators on 127.0.0.1 until Ctrl-C.
    #[cfg(feature = "sandbox")]
    Sandbox(sandbox::Args),
    /// Print a shell completion script, e.g. `mpetl completions bash >
    /// /etc/bash_completion.d/mpetl` (zsh: into a directory of your `$fpath` as `_mpetl`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `mpetl man > /usr/local/share/man/man1/mpetl.1`.
    Man,
}

pub async fn run(cli: Cli) -> Result<()> {
    QUIET.store(cli.quiet, std::sync::atomic::Ordering::SeqCst);
    let config = cli.config.as_path();
    match cli.command {
        #[cfg(feature = "sandbox")]
        Command::Demo(args) => demo::run(args).await,
        Command::Backfill(args) => backfill::run(config, args).await,
        Command::Plan(args) => plan::run(config, args),
        Command::Status(args) => status::run(config, args),
        Command::Cache(args) => cache::run(config, args),
        Command::Config(args) => config::run(config, args),
        Command::Lake(args) => lake::run(config, args),
        Command::Doctor(args) => doctor::run(config, args).await,
        Command::Job(args) => job::run(config, args).await,
        Command::Schedule(args) => schedule::run(config, args).await,
        Command::Worker(args) => schedule::worker(config, args).await,
        Command::Bot => schedule::bot(config).await,
        Command::Metrics(args) => metrics::run(config, args),
        #[cfg(feature = "sandbox")]
        Command::Bench(args) => bench::run(args).await,
        #[cfg(feature = "sandbox")]
        Command::BenchMetrics(args) => bench::metrics_child(args),
        #[cfg(feature = "sandbox")]
        Command::BenchDecode(args) => bench::decode_child(args),
        #[cfg(feature = "sandbox")]
        Command::Sandbox(args) => sandbox::run(args).await,
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "mpetl",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Command::Man => {
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut std::io::stdout())?;
            Ok(())
        }
    }
}

/// Shows a run's progress on stderr, unless `-q`: then its events are only drained.
fn progress(rx: tokio::sync::mpsc::UnboundedReceiver<mpetl::events::Event>) -> tokio::task::JoinHandle<()> {
    if QUIET.load(std::sync::atomic::Ordering::SeqCst) {
        let mut rx = rx;
        tokio::spawn(async move { while rx.recv().await.is_some() {} })
    } else {
        tokio::spawn(mpetl::notify::terminal::run(rx))
    }
}

/// The signal that stopped the command (2 or 15), for its exit code; 0 while none came.
pub static STOPPED_BY: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// Ctrl-C, or SIGTERM (what systemd and `kill` send).
async fn shutdown_signal() {
    use std::sync::atomic::Ordering;
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => tokio::select! {
            _ = tokio::signal::ctrl_c() => STOPPED_BY.store(libc::SIGINT, Ordering::SeqCst),
            _ = term.recv() => STOPPED_BY.store(libc::SIGTERM, Ordering::SeqCst),
        },
        Err(e) => {
            tracing::warn!(error = %e, "SIGTERM cannot be caught here: only Ctrl-C stops a run cleanly");
            let _ = tokio::signal::ctrl_c().await;
            STOPPED_BY.store(libc::SIGINT, Ordering::SeqCst);
        }
    }
}

/// The exit status of a failed command: 2 for a usage or config mistake, 3 when some chunks
/// failed (the rest is stored; resumable), 75 when another run or process holds what this one
/// needs (try again later: EX_TEMPFAIL), 128 + the signal when stopped by one (130 Ctrl-C,
/// 143 SIGTERM), 1 for anything else. Clap's own usage errors exit 2 as well.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    use mpetl::pipeline::RunError;
    for cause in e.chain() {
        if let Some(r) = cause.downcast_ref::<RunError>() {
            return match r {
                RunError::Config(_) | RunError::Plan(_) | RunError::Period(_) => 2,
                RunError::UnknownRun { .. } | RunError::NothingToResume { .. } => 2,
                RunError::Chunks { .. } => 3,
                RunError::Busy { .. } => 75,
                RunError::State(mpetl::state::StateError::Locked { .. }) => 75,
                RunError::Interrupted { .. } => {
                    128 + match STOPPED_BY.load(std::sync::atomic::Ordering::SeqCst) {
                        0 => libc::SIGINT,
                        n => n,
                    } as u8
                }
                _ => 1,
            };
        }
        if cause.downcast_ref::<mpetl::config::ConfigError>().is_some()
            || cause.downcast_ref::<mpetl::period::PeriodError>().is_some()
        {
            return 2;
        }
        if let Some(mpetl::worker::WorkerError::NoRedis) = cause.downcast_ref::<mpetl::worker::WorkerError>() {
            return 2;
        }
        if let Some(mpetl::state::StateError::Locked { .. }) = cause.downcast_ref::<mpetl::state::StateError>() {
            return 75;
        }
    }
    1
}
