//! Shared test harness: a sandbox on 127.0.0.1, a temp data dir, a config pointing at both, and
//! the sandbox's ground truth fetched over HTTP.

#![allow(dead_code)]

pub mod proxy;
pub mod redis_server;

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
pub use mpetl::bench::truth::{Truth, diff, figures};
use mpetl::config::{Config, FetchConfig};
use mpetl::demo::sandbox_config;
use mpetl::events::Events;
use mpetl::metrics::{self, Grain, MetricRow};
use mpetl::pipeline::plan::Period;
use mpetl::pipeline::{BackfillRequest, RunError, RunReport, Runner};
use mpetl_sandbox::{ProfileName, Sandbox, SandboxConfig};

pub struct Harness {
    pub sandbox: Sandbox,
    pub dir: tempfile::TempDir,
    pub cfg: Config,
}

/// Limits are scaled so far down that pacing costs nothing in tests.
pub const FAST: u32 = 100_000;

pub async fn harness(sb: SandboxConfig, tweak: impl FnOnce(&mut FetchConfig)) -> Harness {
    let sandbox = Sandbox::start(sb.clone()).await.expect("sandbox starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cfg = sandbox_config(&sandbox.base_url, dir.path().join("data"), FAST, sb.wb_page_cap);
    tweak(&mut cfg.fetch);
    std::fs::create_dir_all(&cfg.data_dir).unwrap();
    std::fs::write(&cfg.costs_file, sandbox.data().finance.costs_csv()).unwrap();
    Harness { sandbox, dir, cfg }
}

pub fn small(wb_page_cap: usize) -> SandboxConfig {
    SandboxConfig { profile: ProfileName::Small, seed: 7, wb_page_cap, ..Default::default() }
}

/// The last `days` days ending yesterday, in Moscow.
pub fn last_days(days: i64) -> Period {
    let today = Utc::now().with_timezone(&chrono_tz::Europe::Moscow).date_naive();
    Period::new(today - Duration::days(days), today - Duration::days(1)).unwrap()
}

pub fn request(period: Period) -> BackfillRequest {
    BackfillRequest::new(period)
}

impl Harness {
    pub fn runner(&self) -> Runner {
        Runner::open(self.cfg.clone(), Events::none()).expect("runner opens")
    }

    pub async fn backfill(&self, req: &BackfillRequest) -> Result<RunReport, RunError> {
        self.runner().backfill(req).await
    }

    pub fn daily(&self, period: &Period) -> Vec<MetricRow> {
        let runner = self.runner();
        let (sku, _) = runner.metrics(period, Grain::Day, None).expect("metrics");
        metrics::rows(&sku).expect("rows")
    }

    /// The sandbox's ground truth, over HTTP like any other client would read it.
    pub async fn truth(&self, period: &Period) -> Vec<Truth> {
        let url = format!("{}/__sandbox/truth?from={}&to={}", self.sandbox.base_url, period.from, period.to);
        reqwest::get(url).await.expect("truth").json().await.expect("truth json")
    }
}

pub fn assert_matches_truth(metrics: &[MetricRow], truth: &[Truth]) {
    assert!(!truth.is_empty(), "the truth is empty: the test would prove nothing");
    let d = diff(metrics, truth);
    assert!(
        d.is_empty(),
        "{} difference(s) from the ground truth, first ones:\n{}",
        d.len(),
        d.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// Bytes of every lake file, to prove a run rewrote nothing.
pub fn lake_snapshot(cfg: &Config) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    fn walk(dir: &std::path::Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.insert(p.display().to_string(), std::fs::read(&p).unwrap());
            }
        }
    }
    walk(&cfg.lake_dir(), &mut out);
    out
}

impl Harness {
    /// Writes a config file for the `mpetl` binary: this harness's sandbox, data dir and costs,
    /// limits ÷ `time_scale`, and `extra` TOML (e.g. a `[state]` section) before the tables.
    pub fn write_config(&self, name: &str, time_scale: u32, extra: &str) -> std::path::PathBuf {
        let u = &self.sandbox.base_url;
        let path = self.dir.path().join(name);
        std::fs::write(
            &path,
            format!(
                "data_dir = {:?}\ncosts_file = {:?}\n{extra}\n[fetch]\ntime_scale = {time_scale}\nwb_page_cap = {}\n\
                 [accounts.demo.wb]\ntoken = {:?}\n[accounts.demo.ozon]\nclient_id = {:?}\napi_key = {:?}\n\
                 [endpoints]\nwb_statistics = {u:?}\nwb_finance = {u:?}\nwb_advert = {u:?}\nwb_content = {u:?}\nozon = {u:?}\n",
                self.cfg.data_dir.display().to_string(),
                self.cfg.costs_file.display().to_string(),
                self.cfg.fetch.wb_page_cap,
                mpetl_sandbox::WB_TOKEN,
                mpetl_sandbox::OZON_CLIENT_ID,
                mpetl_sandbox::OZON_API_KEY
            ),
        )
        .unwrap();
        path
    }
}

/// `mpetl --config <config> <args…>`, not yet started.
pub fn mpetl(config: &std::path::Path, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mpetl"));
    // A developer's own REDIS_URL would switch every child to their Redis.
    cmd.arg("--config").arg(config).args(args).env_remove("REDIS_URL");
    cmd
}

/// The `mpetl` binary run in `dir` (its config: `dir/mpetl.toml`), as a user runs it.
pub fn mpetl_in(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_mpetl"))
        .args(args)
        .current_dir(dir)
        .env_remove("MPETL_CONFIG")
        .env_remove("REDIS_URL")
        .output()
        .expect("run mpetl")
}

/// Every file under `dir`, depth first.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Temp files and unreadable partitions under `dir`: what a half-done write would leave.
pub fn half_written(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for p in files_under(dir) {
        if p.extension().is_some_and(|x| x == "tmp") {
            out.push(format!("temp file {}", p.display()));
        } else if p.extension().is_some_and(|x| x == "parquet")
            && let Err(err) = mpetl::lake::read_file(&p)
        {
            out.push(format!("unreadable {}: {err}", p.display()));
        }
    }
    out
}
