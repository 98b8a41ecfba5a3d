//! `mpetl demo`: the whole pipeline on the built-in sandbox, then what a seller would see.

use std::path::PathBuf;

use anyhow::{Context, Result};
use mpetl::demo::{self, DemoOptions};
use mpetl::events::Events;
use mpetl::metrics::Grain;
use mpetl_sandbox::ProfileName;

use super::present::{print_metrics, print_report};

#[derive(clap::Args)]
pub struct Args {
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
}

pub async fn run(args: Args) -> Result<()> {
    let Args { data_dir, profile, seed, days, time_scale } = args;
    let opts = DemoOptions { data_dir, profile, seed, days, time_scale, ..DemoOptions::default() };
    let (events, rx) = Events::channel();
    let progress = super::progress(rx);
    eprintln!("mpetl demo: sandbox seller '{profile:?}' (seed {seed}), {days} days, limits time-scaled ×{time_scale}");
    let result = demo::run(&opts, events).await;
    let out = result.context("demo run failed")?;
    let _ = progress.await;
    print_report(&out.report);
    let (sku, totals) = out.runner.metrics(&out.period, Grain::Month, None)?;
    print_metrics(&out.period, Grain::Month, &sku, &totals, &out.runner.config().costs_file)?;
    let dir = opts.data_dir.display();
    println!("\nThe lake is in {dir}/lake (Parquet, hive-partitioned), marts in {dir}/marts. Query it with DuckDB:");
    println!(
        "  duckdb -c \"SELECT month, count(*) AS rows, sum(price * quantity) AS value FROM read_parquet('{dir}/lake/ozon_fbo/*/*/part-0.parquet', hive_partitioning = true) GROUP BY month ORDER BY month\""
    );
    println!(
        "  duckdb -c \"SELECT * FROM '{dir}/marts/totals_month/*.parquet' WHERE account = 'all' ORDER BY period_from, marketplace\""
    );
    println!("Sandbox requests served: {}", out.sandbox.total_requests());
    print_demo_telegram(&out.telegram);
    Ok(())
}

/// What the demo's emulated chat received, as the chat shows it.
fn print_demo_telegram(t: &mpetl::demo::DemoTelegram) {
    let calls = t.api.calls();
    let count = |m: &str| calls.iter().filter(|c| c.method == m && c.status == 200).count();
    println!(
        "\nTelegram (the sandbox's Bot API emulator at {}, chat {}): {} message(s) sent, {} edit(s) of the progress message (at most one per 3 s), {} photo(s).",
        t.api.base_url,
        t.chat,
        count("sendMessage"),
        count("editMessageText"),
        count("sendPhoto")
    );
    for m in t.api.messages(t.chat) {
        let what = if m.file.is_some() {
            "chart"
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
