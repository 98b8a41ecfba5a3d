//! `mpetl bench`: the pipeline and the metrics stage against DuckDB, or a year under the limits.

use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use mpetl::config::Config;
use mpetl::pipeline::plan::{Period, parse_date};
use mpetl_sandbox::ProfileName;

/// Marks a directory `bench` made, so that only such a directory is cleared.
const BENCH_MARKER: &str = ".mpetl-bench";

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = "large")]
    profile: ProfileName,
    #[arg(long, default_value_t = 365)]
    days: i64,
    #[arg(long, default_value = "data/bench")]
    data_dir: PathBuf,
    /// Time the lake already in --data-dir instead of building it again.
    #[arg(long)]
    reuse: bool,
    /// Times the metrics stage and DuckDB are each run; the table shows the median and the range.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    runs: u32,
    /// Instead: run the year against the real rate limits (time-scaled by this), and compare
    /// wall time with the limits' lower bound and requests with the least the data needs.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    limits: Option<u32>,
    /// Instead: backfill this many sellers at once (mostly small, every twentieth medium) from
    /// one sandbox, under the real limits ÷ `--limits` (default 2): wall time against the
    /// slowest seller's bound, requests, peak memory, CPU, and every seller against its truth.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    sellers: Option<u32>,
}

#[derive(clap::Args)]
pub struct MetricsArgs {
    #[arg(long)]
    data_dir: PathBuf,
    #[arg(long, value_parser = parse_date)]
    from: NaiveDate,
    #[arg(long, value_parser = parse_date)]
    to: NaiveDate,
}

pub async fn run(args: Args) -> Result<()> {
    match (args.sellers, args.limits) {
        (Some(n), scale) => sellers(n as usize, args.days, scale.unwrap_or(2), &args.data_dir).await,
        (None, Some(scale)) => limits(args.profile, args.days, scale).await,
        (None, None) => bench(args.profile, args.days, &args.data_dir, args.reuse, args.runs).await,
    }
}

async fn sellers(n: usize, days: i64, scale: u32, data_dir: &std::path::Path) -> Result<()> {
    prepare(data_dir)?;
    eprintln!("{n} sellers, {days} days, real limits ÷ {scale}: generating the sellers, then the backfill…");
    let r = mpetl::bench::sellers(&std::env::current_exe()?, data_dir, n, days, scale).await?;
    let wall = r.wall.as_secs_f64();
    let bound = r.bound.as_secs_f64();
    println!("{n} sellers ({} – {}), real limits ÷ {scale}, one process, embedded state", r.period.from, r.period.to);
    println!("{:<44} {:>14}", "rows fetched", r.rows);
    println!("{:<44} {:>14.1}", "wall s", wall);
    println!("{:<44} {:>14.1}  ({})", "slowest seller's lower bound s", bound, r.bound_of);
    println!("{:<44} {:>14.3}", "wall / bound", wall / bound);
    println!("{:<44} {:>14}", "data requests", r.requests);
    println!("{:<44} {:>14}  ({:.2}×)", "least the data needs", r.minimum, r.requests as f64 / r.minimum.max(1) as f64);
    println!("{:<44} {:>14}", "other requests (lists, catalogue, stocks)", r.other_requests);
    println!("{:<44} {:>14}", "retries / limit violations", format!("{} / {}", r.retries, r.violations));
    println!("{:<44} {:>14.0}", "pipeline peak RSS MiB", r.pipeline_peak_mib);
    println!("{:<44} {:>14.0}", "sandbox peak RSS MiB (its own process)", r.sandbox_peak_mib);
    println!(
        "{:<44} {:>14.1}  ({:.0} % of one core)",
        "pipeline CPU s (user + system)",
        r.cpu_seconds,
        100.0 * r.cpu_seconds / wall
    );
    println!("{:<44} {:>14}", "sellers equal to their truth, every cell", format!("{} / {n}", r.exact));
    for d in &r.differences {
        println!("  {d}");
    }
    anyhow::ensure!(r.exact == n, "{} seller(s) differ from their ground truth", n - r.exact);
    Ok(())
}

/// Clears `data_dir` for a new build: only a directory bench made (its marker inside) or an
/// empty one, as a mistyped --data-dir must never cost anyone their files.
fn prepare(data_dir: &std::path::Path) -> Result<()> {
    if data_dir.exists() {
        let empty = std::fs::read_dir(data_dir).map(|mut d| d.next().is_none()).unwrap_or(false);
        anyhow::ensure!(
            empty || data_dir.join(BENCH_MARKER).exists(),
            "--data-dir {} holds files `mpetl bench` did not write; it clears its directory before each build, so it will not use this one. Fix: pass a new or empty directory (the default is data/bench), or --reuse to time the lake already there",
            data_dir.display()
        );
        std::fs::remove_dir_all(data_dir).with_context(|| format!("clearing {}", data_dir.display()))?;
    }
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    std::fs::write(data_dir.join(BENCH_MARKER), "written by `mpetl bench`; the next bench clears this directory\n")
        .with_context(|| format!("writing to {}", data_dir.display()))?;
    Ok(())
}

async fn limits(profile: ProfileName, days: i64, scale: u32) -> Result<()> {
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

#[derive(clap::Args)]
pub struct DecodeArgs {
    /// WB finance pages (`page-N.json`), read into memory before the clock starts.
    #[arg(long, num_args = 1..)]
    pages: Vec<std::path::PathBuf>,
    /// The lake the rows go into.
    #[arg(long)]
    lake: std::path::PathBuf,
}

/// The decode + write stage alone, in a process of its own so that its peak memory is its own.
pub fn decode_child(args: DecodeArgs) -> Result<()> {
    let timing = mpetl::bench::decode::decode_and_write(&args.pages, &args.lake)?;
    println!("{}", serde_json::to_string(&timing)?);
    Ok(())
}

/// The decode + write stage: a medium seller's `days` of WB finance pages fetched to files, then
/// decoded and written by a child process of its own.
async fn decode_stage(data_dir: &std::path::Path, days: i64) -> Result<mpetl::bench::decode::DecodeTiming> {
    let exe = std::env::current_exe()?;
    let dir = data_dir.join("decode");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    eprintln!("fetching a medium seller's {days} days of WB finance pages for the decode + write stage…");
    let pages = mpetl::bench::decode::fetch_pages(&exe, &dir.join("pages"), days).await?;
    let out = std::process::Command::new(&exe)
        .arg("bench-decode")
        .arg("--lake")
        .arg(dir.join("lake"))
        .arg("--pages")
        .args(&pages)
        .output()?;
    anyhow::ensure!(out.status.success(), "the decode child failed: {}", String::from_utf8_lossy(&out.stderr));
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// The metrics stage alone, in a process of its own so that its peak memory is its own.
pub fn metrics_child(args: MetricsArgs) -> Result<()> {
    let MetricsArgs { data_dir, from, to } = args;
    let cfg = bench_config(&data_dir)?;
    let timing = mpetl::bench::time_metrics(&cfg, &Period::new(from, to)?)?;
    println!("{}", serde_json::to_string(&timing)?);
    Ok(())
}

/// The bench lake's config: the sandbox seller's account, 6 % tax on revenue, its costs.csv.
fn bench_config(data_dir: &std::path::Path) -> Result<Config> {
    let toml = format!(
        "data_dir = {:?}\n[tax]\nmode = \"revenue\"\nrate = \"0.06\"\n[accounts.demo.wb]\n[accounts.demo.ozon]\n",
        data_dir.display().to_string()
    );
    Ok(Config::from_toml_and_env(&toml, "bench", Vec::new())?)
}

/// The middle of a few timings (the lower middle for an even count), and their range.
fn median(times: &[f64]) -> (f64, f64, f64) {
    let mut t = times.to_vec();
    t.sort_by(f64::total_cmp);
    let (min, max) = (t.first().copied().unwrap_or(f64::NAN), t.last().copied().unwrap_or(f64::NAN));
    (t.get(t.len().saturating_sub(1) / 2).copied().unwrap_or(f64::NAN), min, max)
}

async fn bench(profile: ProfileName, days: i64, data_dir: &std::path::Path, reuse: bool, runs: u32) -> Result<()> {
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Moscow).date_naive();
    let period = Period::new(today - chrono::Duration::days(days), today - chrono::Duration::days(1))?;
    let lake = mpetl::lake::Lake::new(data_dir.join("lake"));
    let mut build = None;
    if !(reuse && lake.root().exists()) {
        prepare(data_dir)?;
        eprintln!(
            "building the lake of a {profile:?} seller over {days} days through the pipeline (sandbox over HTTP)…"
        );
        let b = mpetl::bench::build(&std::env::current_exe()?, data_dir, profile, days).await?;
        println!(
            "build: {} rows fetched with {} requests, lake + marts written in {:.1} s ({:.0} rows/s end to end); peak RSS: pipeline {:.0} MiB, sandbox (its own process) {:.0} MiB",
            b.report.rows_fetched,
            b.report.requests,
            b.seconds,
            b.report.rows_fetched as f64 / b.seconds,
            b.pipeline_peak_mib,
            b.sandbox_peak_mib
        );
        build = Some(b);
    }
    let rows = mpetl::bench::lake_rows(&lake)?;
    println!("lake: {rows} rows in {} ({} – {})", lake.root().display(), period.from, period.to);
    let decode = decode_stage(data_dir, days).await?;
    println!(
        "decode + write (WB finance JSON in memory → committed partitions): {} rows, {:.0} MiB of JSON in {:.2} s, {:.0} rows/s, {:.0} rows per CPU-second (one core), peak RSS {:.0} MiB",
        decode.rows,
        decode.bytes as f64 / 1048576.0,
        decode.seconds,
        decode.rows as f64 / decode.seconds,
        decode.rows as f64 / decode.cpu_seconds,
        decode.peak_rss_mib
    );
    let exe = std::env::current_exe()?;
    let (mut ours, mut theirs, mut peak, mut agree) = (Vec::new(), Vec::new(), 0f64, true);
    let (mut duck_version, mut statements) = (String::new(), [(0, 0); 2]);
    let mut last = None;
    for _ in 0..runs {
        let out = mpetl::bench::child(&exe, data_dir, period.from, period.to).output()?;
        anyhow::ensure!(out.status.success(), "the metrics child failed: {}", String::from_utf8_lossy(&out.stderr));
        let timing: mpetl::bench::MetricsTiming = serde_json::from_slice(&out.stdout)?;
        ours.push(timing.seconds);
        peak = peak.max(timing.peak_rss_mib);
        if let Some(d) = mpetl::bench::time_duckdb(&lake, &data_dir.join("duckdb"), &period)? {
            let differ: Vec<String> = mpetl::bench::checked()
                .filter(|c| d.sums.get(*c) != timing.sums.get(*c))
                .map(|c| format!("{c} {:?} (mpetl {:?})", d.sums.get(c), timing.sums.get(c)))
                .collect();
            let same = differ.is_empty() && d.rows == timing.sku_rows;
            if !same {
                println!("DuckDB's totals DIFFER: {} rows (mpetl {}); {}", d.rows, timing.sku_rows, differ.join(", "));
            }
            statements = d.statements;
            agree &= same;
            theirs.push(d.seconds);
            duck_version = d.version;
        }
        last = Some(timing);
    }
    let Some(timing) = last else { return Ok(()) };
    let (m, m_min, m_max) = median(&ours);
    println!(
        "mpetl metrics (polars, by day × SKU, COGS, tax, profit): {m:.2} s, {:.0} rows/s, peak RSS {peak:.0} MiB, {} result rows",
        rows as f64 / m,
        timing.sku_rows
    );
    let duck = (!theirs.is_empty()).then(|| median(&theirs));
    match duck {
        Some((d, _, _)) => println!(
            "DuckDB {duck_version}, the same work over the same Parquet (day × SKU sums of every measure, statements check: {} WB reports, {} disagree; {} Ozon periods, {} disagree): {d:.2} s, {:.0} rows/s; mpetl/DuckDB time ratio {:.2}; same totals ({} measures): {}",
            statements[0].0,
            statements[0].1,
            statements[1].0,
            statements[1].1,
            rows as f64 / d,
            m / d,
            mpetl::bench::checked().count(),
            if agree { "yes" } else { "NO" }
        ),
        None => println!("DuckDB reference: not run (pip install duckdb)"),
    }
    // One table of every stage this run measured.
    println!("\n{:<40} {:>9} {:>9} {:>6} {:>9} {:>11}", "stage", "mpetl s", "DuckDB s", "ratio", "peak MiB", "rows/s");
    if let Some(b) = &build {
        println!(
            "{:<40} {:>9.1} {:>9} {:>6} {:>9.0} {:>11.0}",
            "build: HTTP → JSON → lake + marts",
            b.seconds,
            "—",
            "—",
            b.pipeline_peak_mib,
            b.report.rows_fetched as f64 / b.seconds
        );
    }
    println!(
        "{:<40} {:>9.2} {:>9} {:>6} {:>9.0} {:>11.0}",
        "decode + write: WB finance JSON → lake",
        decode.seconds,
        "—",
        "—",
        decode.peak_rss_mib,
        decode.rows as f64 / decode.seconds
    );
    let (d, ratio) =
        duck.map_or(("—".to_string(), "—".to_string()), |(d, _, _)| (format!("{d:.2}"), format!("{:.2}", m / d)));
    println!(
        "{:<40} {m:>9.2} {d:>9} {ratio:>6} {peak:>9.0} {:>11.0}",
        "metrics: day × SKU, COGS, tax, profit",
        rows as f64 / m
    );
    let range =
        |t: &[f64], min: f64, max: f64| if t.len() > 1 { format!("{min:.2}–{max:.2} s") } else { "one run".into() };
    println!(
        "{runs} run(s) each, medians shown: mpetl {}, DuckDB {}; same totals in every run: {}",
        range(&ours, m_min, m_max),
        duck.map_or("not run".to_string(), |(_, a, b)| range(&theirs, a, b)),
        if agree { "yes" } else { "NO" }
    );
    Ok(())
}
