//! The `mpetl` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::{Parser, Subcommand};

use mpetl::config::Config;
use mpetl::dataset::Marketplace;
use mpetl::demo::{self, DemoOptions};
use mpetl::metrics::{self, Grain};
use mpetl::notify::{self, Events};
use mpetl::plan::{Period, parse_date};
use mpetl::run::{BackfillRequest, RunReport, Runner};
use mpetl::sandbox::{self, ProfileName, Sandbox, SandboxConfig};

/// Batch ETL for Wildberries and Ozon sellers: marketplace data → Parquet lake → period metrics.
#[derive(Parser)]
#[command(name = "mpetl", version, about)]
struct Cli {
    /// Config file (TOML); `MPETL_*` environment variables override its keys.
    #[arg(long, global = true, env = "MPETL_CONFIG", default_value = "mpetl.toml")]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole pipeline on the built-in sandbox: a year of a medium seller, no tokens needed.
    Demo {
        /// Where the lake, marts, state and the sandbox seller's costs.csv go.
        #[arg(long, default_value = "data/demo")]
        data_dir: PathBuf,
        /// Size of the sandbox seller: small, medium or large.
        #[arg(long, default_value = "medium")]
        profile: ProfileName,
        /// Seed of the generated data.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Days to backfill, ending yesterday.
        #[arg(long, default_value_t = 365)]
        days: i64,
        /// Divide the marketplaces' rate-limit periods by this (the real limits would take minutes).
        #[arg(long, default_value_t = 600)]
        time_scale: u32,
    },
    /// Pull a period from the marketplaces into the lake, then write the marts.
    Backfill {
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
    },
    /// Show what a backfill of a period would fetch: chunks (cached or not), requests per
    /// rate-limit bucket and the least wall time the limits allow. Makes no request.
    Plan {
        #[arg(long, value_parser = parse_date)]
        from: NaiveDate,
        #[arg(long, value_parser = parse_date)]
        to: NaiveDate,
        #[arg(long = "account")]
        accounts: Vec<String>,
        #[arg(long, value_delimiter = ',', default_value = "wb,ozon")]
        sources: Vec<Marketplace>,
    },
    /// Active and recent runs (stage, chunks done/total, rows, errors, ETA); with a run id,
    /// that run's per-chunk detail.
    Status {
        run: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// How many recent runs to list.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// The chunk cache: `stats` per dataset, or `invalidate` chunks so the next run fetches
    /// them again.
    Cache {
        #[command(subcommand)]
        action: CacheAction,
    },
    /// Jobs in the jobs directory: `list` them with next fire times and last results, or `run`
    /// one now.
    Job {
        #[command(subcommand)]
        action: JobAction,
        /// The directory of job files.
        #[arg(long, global = true, default_value = "jobs")]
        jobs: PathBuf,
    },
    /// Run the jobs on their schedules until SIGTERM or Ctrl-C (see README "Jobs").
    Schedule {
        #[arg(long, default_value = "jobs")]
        jobs: PathBuf,
        /// Also serve the Telegram commands (`mpetl bot`) in this process: with the embedded
        /// state store only one process may write the state.
        #[arg(long)]
        bot: bool,
    },
    /// Serve Telegram commands (/report, /status, /help) by long polling, for the allow-listed
    /// chats in [telegram].
    Bot,
    /// Compute the metrics of a period from the lake (no network), print them and update the
    /// marts of every month it overlaps; without a period, rewrite every mart from the whole lake.
    Metrics {
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
    },
    /// Build a large seller's lake through the pipeline, then time the metrics stage (rows/s, peak
    /// memory) against DuckDB on the same Parquet.
    Bench {
        #[arg(long, default_value = "large")]
        profile: ProfileName,
        #[arg(long, default_value_t = 365)]
        days: i64,
        #[arg(long, default_value = "data/bench")]
        data_dir: PathBuf,
        /// Time the lake already in --data-dir instead of building it again.
        #[arg(long)]
        reuse: bool,
        /// Instead: run the year against the real rate limits (time-scaled by this), and compare
        /// wall time with the limits' lower bound and requests with the least the data needs.
        #[arg(long)]
        limits: Option<u32>,
    },
    /// (internal) The metrics stage of `bench`, in its own process so its peak memory is its own.
    #[command(hide = true)]
    BenchMetrics {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long, value_parser = parse_date)]
        from: NaiveDate,
        #[arg(long, value_parser = parse_date)]
        to: NaiveDate,
    },
    /// Serve the WB and Ozon emulators on 127.0.0.1 until Ctrl-C.
    Sandbox {
        #[arg(long, default_value = "medium")]
        profile: ProfileName,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Rows per WB statistics page.
        #[arg(long, default_value_t = 80_000)]
        page_cap: usize,
    },
}

#[derive(Subcommand)]
enum JobAction {
    /// Every job: kind, schedule, the next two fire times, the last result.
    List,
    /// Run one job now, with its notifications.
    Run { name: String },
}

#[derive(Subcommand)]
enum CacheAction {
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
        dataset: Option<mpetl::dataset::Dataset>,
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

fn parse_dataset(s: &str) -> Result<mpetl::dataset::Dataset, String> {
    mpetl::dataset::Dataset::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = mpetl::dataset::Dataset::ALL.iter().map(|d| d.name()).collect();
        format!("unknown dataset '{s}'; use one of: {}", names.join(", "))
    })
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("MPETL_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    // The command runs on a worker, not on the thread that blocks on it: futures polled on
    // the `block_on` thread were seen to lose their timer wake-ups (two runs joined there hung
    // after one finished; see tests/it/limits.rs), never on a spawned task.
    let outcome = rt.block_on(async { tokio::spawn(run(cli)).await });
    match outcome.unwrap_or_else(|e| Err(anyhow::anyhow!("the command's task failed: {e}"))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo { data_dir, profile, seed, days, time_scale } => {
            let opts = DemoOptions { data_dir, profile, seed, days, time_scale, ..DemoOptions::default() };
            let (events, rx) = Events::channel();
            let progress = tokio::spawn(notify::terminal::run(rx));
            eprintln!(
                "mpetl demo: sandbox seller '{profile:?}' (seed {seed}), {days} days, limits time-scaled ×{time_scale}"
            );
            let result = demo::run(&opts, events).await;
            let out = result.context("demo run failed")?;
            let _ = progress.await;
            print_report(&out.report);
            let (sku, totals) = out.runner.metrics(&out.period, Grain::Month, None)?;
            print_metrics(&out.period, Grain::Month, &sku, &totals, &out.runner.config().costs_file)?;
            let dir = opts.data_dir.display();
            println!(
                "\nThe lake is in {dir}/lake (Parquet, hive-partitioned), marts in {dir}/marts. Query it with DuckDB:"
            );
            println!(
                "  duckdb -c \"SELECT month, count(*) AS rows, sum(price * quantity) AS value FROM read_parquet('{dir}/lake/ozon_fbo/**/*.parquet', hive_partitioning = true) GROUP BY month ORDER BY month\""
            );
            println!(
                "  duckdb -c \"SELECT * FROM '{dir}/marts/totals_month.parquet' WHERE account = 'all' ORDER BY period_from, marketplace\""
            );
            println!("Sandbox requests served: {}", out.sandbox.total_requests());
            print_demo_telegram(&out.telegram);
            Ok(())
        }
        Command::Backfill { from, to, resume, accounts, sources, refresh } => {
            let cfg = Config::load(&cli.config)?;
            let (events, rx) = Events::channel();
            let progress = tokio::spawn(notify::terminal::run(rx));
            let runner = Runner::open(cfg, events)?;
            let grains = vec![Grain::Day, Grain::Week, Grain::Month];
            let req = match resume {
                Some(id) => BackfillRequest { grains, ..runner.resume_request(&id)? },
                None => {
                    let period = Period::new(from.expect("clap requires it"), to.expect("clap requires it"))?;
                    BackfillRequest {
                        accounts: (!accounts.is_empty()).then_some(accounts.clone()),
                        sources,
                        refresh,
                        grains,
                        ..BackfillRequest::new(period)
                    }
                }
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
            print_report(&report);
            Ok(())
        }
        Command::Job { action: JobAction::List, jobs } => {
            let cfg = Config::load(&cli.config)?;
            let list = mpetl::jobs::load_dir(&jobs, &cfg)?;
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
                println!(
                    "{}  ({kind}; cron \"{}\" {})\n  next: {}\n  last: {last}",
                    j.name,
                    j.cron,
                    j.tz,
                    next.join(", ")
                );
            }
            if list.is_empty() {
                println!("No jobs in {}.", jobs.display());
            }
            Ok(())
        }
        Command::Job { action: JobAction::Run { name }, jobs } => {
            let cfg = Config::load(&cli.config)?;
            let job = mpetl::jobs::find(&jobs, &cfg, &name)?;
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
                let summary = mpetl::summary::Summary::compute(
                    &cfg,
                    &title,
                    period.period(today, run_period),
                    job.accounts.as_deref(),
                )?;
                println!("\n{}", plain(&summary.html(lang)));
            }
            Ok(())
        }
        Command::Schedule { jobs, bot } => {
            let cfg = Config::load(&cli.config)?;
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
            let commands = async {
                if bot { mpetl::bot::serve(cfg.clone(), store.clone(), stopped(rx.clone())).await } else { Ok(()) }
            };
            let (s, b) = tokio::join!(
                mpetl::schedule::schedule(cfg.clone(), store.clone(), list, stopped(rx.clone())),
                commands
            );
            s?;
            b?;
            Ok(())
        }
        Command::Bot => {
            let cfg = Config::load(&cli.config)?;
            let store = mpetl::state::open(&cfg)?;
            mpetl::bot::serve(cfg, store, shutdown_signal()).await?;
            Ok(())
        }
        Command::Status { run, json, limit } => {
            let cfg = Config::load(&cli.config)?;
            let Some(store) = mpetl::state::open_to_read(&cfg)? else {
                println!("No runs recorded yet (no state in {}).", cfg.state_dir().display());
                return Ok(());
            };
            let now = chrono::Utc::now();
            let stale = chrono::Duration::seconds(cfg.state.lease_secs as i64 + 5);
            match run {
                None => {
                    let views: Vec<_> =
                        store.runs(limit)?.into_iter().map(|r| mpetl::status::RunView::new(r, now, stale)).collect();
                    if json {
                        println!("{}", serde_json::to_string_pretty(&views)?);
                    } else {
                        print!("{}", mpetl::status::runs_table(&views));
                    }
                }
                Some(id) => {
                    let rec = store.run(&id)?.ok_or_else(|| mpetl::run::RunError::UnknownRun { id: id.clone() })?;
                    let chunks = rec
                        .chunks
                        .iter()
                        .map(|c| Ok((c.clone(), store.chunk(c)?)))
                        .collect::<Result<Vec<_>, mpetl::state::StateError>>()?;
                    let view = mpetl::status::RunView::new(rec, now, stale);
                    if json {
                        let detail: Vec<_> =
                            chunks.iter().map(|(id, c)| serde_json::json!({"id": id, "record": c})).collect();
                        println!(
                            "{}",
                            serde_json::to_string_pretty(&serde_json::json!({"run": view, "chunks": detail}))?
                        );
                    } else {
                        print!("{}", mpetl::status::run_detail(&view, &chunks));
                    }
                }
            }
            Ok(())
        }
        Command::Cache { action: CacheAction::Stats { json } } => {
            let cfg = Config::load(&cli.config)?;
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
        Command::Cache { action: CacheAction::Invalidate { dataset, account, from, to } } => {
            let cfg = Config::load(&cli.config)?;
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
        Command::Plan { from, to, accounts, sources } => {
            let cfg = Config::load(&cli.config)?;
            let period = Period::new(from, to)?;
            let store = mpetl::state::open(&cfg)?;
            let chosen: Vec<&mpetl::config::Account> = if accounts.is_empty() {
                cfg.accounts.iter().collect()
            } else {
                accounts.iter().map(|id| cfg.account(id)).collect::<Result<_, _>>()?
            };
            let req = mpetl::plan::PlanRequest {
                period,
                accounts: chosen,
                sources,
                refresh: false,
                now: chrono::Utc::now(),
                since: Default::default(),
            };
            let plan = mpetl::plan::plan(&cfg, store.as_ref(), &req)?;
            let cached = plan.chunks.iter().filter(|c| c.cached).count();
            println!("{} chunk(s), {cached} cached (no request):", plan.chunks.len());
            for c in &plan.chunks {
                println!("  {:<40} {}", c.chunk.id, if c.cached { "cached" } else { "fetch" });
            }
            for n in &plan.notes {
                println!("note: {n}");
            }
            let costs = mpetl::plan::cost(&plan, &cfg);
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
        Command::Metrics { from, to, by, accounts } => {
            let cfg = Config::load(&cli.config)?;
            let accounts = (!accounts.is_empty()).then_some(accounts);
            for id in accounts.iter().flatten() {
                cfg.account(id)?;
            }
            let lake = mpetl::lake::Lake::new(cfg.lake_dir());
            let context = metrics::Context::load(&cfg)?;
            let inputs = context.inputs();
            let (period, update) = match (from, to) {
                (Some(from), Some(to)) => {
                    let period = Period::new(from, to)?;
                    let touched = metrics::marts::touched(&period);
                    (period, metrics::marts::update(&lake, &inputs, &cfg.marts_dir(), &touched, &Grain::ALL, false)?)
                }
                _ => {
                    let months = metrics::marts::lake_months(&lake);
                    let (Some(first), Some(last)) = (months.first(), months.last()) else {
                        anyhow::bail!("the lake at {} is empty: run `mpetl backfill` first", cfg.lake_dir().display());
                    };
                    let period = Period::new(*first, Grain::Month.end(*last))?;
                    let all = metrics::marts::update(&lake, &inputs, &cfg.marts_dir(), &months, &Grain::ALL, true)?;
                    (period, all)
                }
            };
            let sku = metrics::by_sku(&lake, &inputs, &period, by, accounts.as_deref())?;
            let totals = metrics::totals(&sku, &cfg.tax)?;
            print_metrics(&period, by, &sku, &totals, &cfg.costs_file)?;
            for u in metrics::unknown::unknown_operations(&lake, &context.catalogue, period.from, period.to)? {
                println!("note: {u}");
            }
            for u in metrics::unknown::unknown_units(&lake, period.from, period.to)? {
                println!("note: {u}");
            }
            for p in update.files {
                println!("wrote {}", p.display());
            }
            Ok(())
        }
        Command::Bench { profile, days, limits: Some(scale), .. } => {
            let r = mpetl::bench::limits(profile, days, scale).await?;
            println!("{profile:?} seller, {days} days, real limits ÷ {scale}: {} rows", r.rows);
            println!("{:<42} {:>9} {:>9} {:>7} {:>9}", "endpoint", "requests", "minimum", "ratio", "old bot");
            for (path, n, min, old) in &r.requests {
                let old = old.map_or_else(|| "—".to_string(), |o| o.to_string());
                println!("{path:<42} {n:>9} {min:>9} {:>7.2} {old:>9}", *n as f64 / (*min).max(1) as f64);
            }
            println!(
                "wall {:.2} s; lower bound under the limits {:.2} s ({}); ratio {:.3}; limit violations: {}",
                r.wall.as_secs_f64(),
                r.lower_bound.as_secs_f64(),
                r.longest_bucket,
                r.wall.as_secs_f64() / r.lower_bound.as_secs_f64(),
                r.violations
            );
            println!(
                "the old bot's chunking (model, same data, same limits; no ads, no accruals): at least {:.2} s",
                r.old_lower_bound.as_secs_f64()
            );
            Ok(())
        }
        Command::Bench { profile, days, data_dir, reuse, limits: None } => bench(profile, days, &data_dir, reuse).await,
        Command::BenchMetrics { data_dir, from, to } => {
            let cfg = bench_config(&data_dir)?;
            let timing = mpetl::bench::time_metrics(&cfg, &Period::new(from, to)?)?;
            println!("{}", serde_json::to_string(&timing)?);
            Ok(())
        }
        Command::Sandbox { profile, seed, port, page_cap } => {
            let sb = Sandbox::start(SandboxConfig { profile, seed, port, wb_page_cap: page_cap, ..Default::default() })
                .await
                .context("starting the sandbox")?;
            let u = &sb.base_url;
            println!("Sandbox seller '{profile:?}' (seed {seed}) on {u}");
            println!(
                "  WB statistics: {u}/api/v1/supplier/orders, {u}/api/v1/supplier/sales (token {})",
                sandbox::WB_TOKEN
            );
            println!(
                "  Ozon:          {u}/v3/posting/fbo/list, {u}/v4/posting/fbs/list (Client-Id {}, Api-Key {})",
                sandbox::OZON_CLIENT_ID,
                sandbox::OZON_API_KEY
            );
            println!(
                "  WB finance:    {u}/api/finance/v1/sales-reports/detailed, …/list; ads: {u}/adv/v1/promotion/count, /adv/v3/fullstats, /adv/v1/upd"
            );
            println!("  Ozon finance:  {u}/v1/finance/accrual/by-day, …/types");
            println!("  Ground truth:  {u}/__sandbox/truth?from=YYYY-MM-DD&to=YYYY-MM-DD");
            println!("Point a backfill at it:");
            println!(
                "  MPETL_FETCH__TIME_SCALE=600 MPETL_ENDPOINTS__WB_STATISTICS={u} MPETL_ENDPOINTS__WB_FINANCE={u} MPETL_ENDPOINTS__WB_ADVERT={u} MPETL_ENDPOINTS__OZON={u} MPETL_ACCOUNTS__MAIN__WB__TOKEN={} MPETL_ACCOUNTS__MAIN__OZON__CLIENT_ID={} MPETL_ACCOUNTS__MAIN__OZON__API_KEY={} mpetl backfill --from 2026-01-01 --to 2026-01-31",
                sandbox::WB_TOKEN,
                sandbox::OZON_CLIENT_ID,
                sandbox::OZON_API_KEY
            );
            println!("Ctrl-C stops it.");
            tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
            Ok(())
        }
    }
}

/// The bench lake's config: the sandbox seller's account, 6 % tax on revenue, its costs.csv.
fn bench_config(data_dir: &std::path::Path) -> Result<Config> {
    let toml = format!(
        "data_dir = {:?}\n[tax]\nmode = \"revenue\"\nrate = \"0.06\"\n[accounts.demo.wb]\n[accounts.demo.ozon]\n",
        data_dir.display().to_string()
    );
    Ok(Config::from_toml_and_env(&toml, "bench", Vec::new())?)
}

async fn bench(profile: ProfileName, days: i64, data_dir: &std::path::Path, reuse: bool) -> Result<()> {
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Moscow).date_naive();
    let period = Period::new(today - chrono::Duration::days(days), today - chrono::Duration::days(1))?;
    let lake = mpetl::lake::Lake::new(data_dir.join("lake"));
    if !(reuse && lake.root().exists()) {
        if data_dir.exists() {
            std::fs::remove_dir_all(data_dir).with_context(|| format!("clearing {}", data_dir.display()))?;
        }
        eprintln!(
            "building the lake of a {profile:?} seller over {days} days through the pipeline (sandbox over HTTP)…"
        );
        let (run, secs) = mpetl::bench::build(data_dir, profile, days).await?;
        println!(
            "build: {} rows fetched with {} requests, lake + marts written in {secs:.1} s ({:.0} rows/s end to end)",
            run.report.rows_fetched,
            run.report.requests,
            run.report.rows_fetched as f64 / secs
        );
    }
    let rows = mpetl::bench::lake_rows(&lake)?;
    let exe = std::env::current_exe()?;
    let out = mpetl::bench::child(&exe, data_dir, period.from, period.to).output()?;
    anyhow::ensure!(out.status.success(), "the metrics child failed: {}", String::from_utf8_lossy(&out.stderr));
    let timing: mpetl::bench::MetricsTiming = serde_json::from_slice(&out.stdout)?;
    let peak = mpetl::bench::children_peak_mib();
    println!("lake: {rows} rows in {} ({} – {})", lake.root().display(), period.from, period.to);
    println!(
        "mpetl metrics (polars, by day × SKU, COGS, tax, profit): {:.2} s, {:.0} rows/s, peak RSS {peak:.0} MiB, {} result rows",
        timing.seconds,
        rows as f64 / timing.seconds,
        timing.sku_rows
    );
    match mpetl::bench::time_duckdb(lake.root(), &period)? {
        Some(d) => {
            let same = d.revenue_kop == timing.revenue_kop && d.orders == timing.orders && d.rows == timing.sku_rows;
            println!(
                "DuckDB, same aggregation over the same Parquet: {:.2} s, {:.0} rows/s; mpetl/DuckDB time ratio {:.2}; same totals: {}",
                d.seconds,
                rows as f64 / d.seconds,
                timing.seconds / d.seconds,
                if same {
                    "yes".to_string()
                } else {
                    format!("NO (DuckDB: {} rows, revenue {}, orders {})", d.rows, d.revenue_kop, d.orders)
                }
            );
        }
        None => println!("DuckDB reference: not run (pip install duckdb)"),
    }
    Ok(())
}

/// "38 min 20 s", "2.5 s".
/// What the demo's emulated chat received, as plain text.
fn print_demo_telegram(t: &mpetl::demo::DemoTelegram) {
    let calls = t.api.calls();
    let count = |m: &str| calls.iter().filter(|c| c.method == m && c.status == 200).count();
    println!(
        "\nTelegram (the sandbox's Bot API emulator at {}, chat {}): {} message(s) sent, {} edit(s) of the progress message (at most one per 3 s), {} document(s).",
        t.api.base_url,
        t.chat,
        count("sendMessage"),
        count("editMessageText"),
        count("sendDocument")
    );
    for m in t.api.messages(t.chat) {
        let what = if m.file.is_some() {
            "document"
        } else if Some(m.id) == t.summary_message {
            "summary"
        } else {
            "progress, final"
        };
        println!("  ── message {} ({what}) ──", m.id);
        for line in plain(&m.text).lines() {
            println!("  {line}");
        }
    }
    for n in &t.notes {
        println!("  note: {n}");
    }
    println!("Chart of daily revenue (blue) and net profit (green): {}", t.chart.display());
}

/// Telegram HTML as terminal text: tags dropped, the four entities decoded.
fn plain(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match (c, in_tag) {
            ('<', _) => in_tag = true,
            ('>', true) => in_tag = false,
            (c, false) => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&")
}

/// Ctrl-C, or SIGTERM (what systemd and `kill` send).
async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

fn human(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{:.1} s", d.as_secs_f64()),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

fn print_metrics(
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

fn print_report(r: &RunReport) {
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
    for m in &r.marts {
        println!("mart: {}", m.display());
    }
}
