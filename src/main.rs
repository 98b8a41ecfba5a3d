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
        #[arg(long, value_parser = parse_date)]
        from: NaiveDate,
        /// Last day, inclusive.
        #[arg(long, value_parser = parse_date)]
        to: NaiveDate,
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
    /// Compute the metrics of a period from the lake (no network) and print them.
    Metrics {
        #[arg(long, value_parser = parse_date)]
        from: NaiveDate,
        #[arg(long, value_parser = parse_date)]
        to: NaiveDate,
        /// Time grain of the table and the mart.
        #[arg(long, value_enum, default_value = "month")]
        by: Grain,
        /// Only these accounts (repeatable).
        #[arg(long = "account")]
        accounts: Vec<String>,
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

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("MPETL_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match rt.block_on(run(cli)) {
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
                "  duckdb -c \"SELECT * FROM '{dir}/marts/totals_month.parquet' ORDER BY period_start, marketplace\""
            );
            println!("Sandbox requests served: {}", out.sandbox.total_requests());
            Ok(())
        }
        Command::Backfill { from, to, accounts, sources, refresh } => {
            let cfg = Config::load(&cli.config)?;
            let period = Period::new(from, to)?;
            let (events, rx) = Events::channel();
            let progress = tokio::spawn(notify::terminal::run(rx));
            let runner = Runner::open(cfg, events)?;
            let req = BackfillRequest {
                period,
                accounts: (!accounts.is_empty()).then_some(accounts.clone()),
                sources,
                refresh,
                grains: vec![Grain::Day, Grain::Week, Grain::Month],
            };
            let result = runner.backfill(&req).await;
            drop(runner);
            let _ = progress.await;
            let report = result?;
            print_report(&report);
            Ok(())
        }
        Command::Metrics { from, to, by, accounts } => {
            let cfg = Config::load(&cli.config)?;
            let period = Period::new(from, to)?;
            let marts = cfg.marts_dir();
            let runner = Runner::open(cfg, Events::none())?;
            let accounts = (!accounts.is_empty()).then_some(accounts);
            if let Some(ids) = &accounts {
                for id in ids {
                    runner.config().account(id)?;
                }
            }
            let (mut sku, mut totals) = runner.metrics(&period, by, accounts.as_deref())?;
            let written = metrics::write_marts(&marts, by, &mut sku, &mut totals, &period)?;
            print_metrics(&period, by, &sku, &totals, &runner.config().costs_file)?;
            for p in written {
                println!("wrote {}", p.display());
            }
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
            println!("  Ground truth:  {u}/__sandbox/truth?from=YYYY-MM-DD&to=YYYY-MM-DD");
            println!("Point a backfill at it:");
            println!(
                "  MPETL_ENDPOINTS__WB_STATISTICS={u} MPETL_ENDPOINTS__OZON={u} MPETL_ACCOUNTS__MAIN__WB__TOKEN={} MPETL_ACCOUNTS__MAIN__OZON__CLIENT_ID={} MPETL_ACCOUNTS__MAIN__OZON__API_KEY={} mpetl backfill --from 2026-01-01 --to 2026-01-31",
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

fn print_metrics(
    period: &Period,
    grain: Grain,
    sku: &polars::prelude::DataFrame,
    totals: &polars::prelude::DataFrame,
    costs_file: &std::path::Path,
) -> Result<()> {
    let rows = metrics::rows(totals)?;
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
        "Fetched {} rows with {} requests in {:.1} s; {} of {} chunks were cached. Lake: {} new keys, {} changed rows, {} partition files written.",
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
                "Reconciliation: {} WB report(s) checked; every header total equals the sum of its rows.",
                rec.reports
            );
        } else {
            println!(
                "Reconciliation: {} WB report(s) checked; {} total(s) DISAGREE with the rows:",
                rec.reports,
                rec.mismatches.len()
            );
            for m in &rec.mismatches {
                println!(
                    "  account {} report {} {}: header {} ≠ rows {}",
                    m.account,
                    m.report_id,
                    m.field,
                    mpetl::money::format_kopecks(m.header),
                    mpetl::money::format_kopecks(m.rows)
                );
            }
        }
    }
    for m in &r.marts {
        println!("mart: {}", m.display());
    }
}
