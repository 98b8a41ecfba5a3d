//! Shared test harness: a sandbox on 127.0.0.1, a temp data dir, a config pointing at both, and
//! the sandbox's ground truth fetched over HTTP.

#![allow(dead_code)]

pub mod proxy;
pub mod redis_server;

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, Utc};
use mpetl::config::{Config, FetchConfig};
use mpetl::demo::sandbox_config;
use mpetl::events::Events;
use mpetl::metrics::{self, Grain, MetricRow};
use mpetl::pipeline::plan::Period;
use mpetl::pipeline::{BackfillRequest, RunError, RunReport, Runner};
use mpetl_sandbox::{ProfileName, Sandbox, SandboxConfig};
use serde::Deserialize;

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

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Truth {
    pub marketplace: String,
    pub day: NaiveDate,
    pub sku: String,
    pub seller_sku: String,
    pub orders: i64,
    pub orders_value: i64,
    pub cancellations: i64,
    pub buyouts: i64,
    pub returns: Option<i64>,
    pub buyouts_value: i64,
    pub returns_value: i64,
    pub units_sold: Option<i64>,
    pub units_returned: Option<i64>,
    pub revenue: i64,
    pub commission: i64,
    pub compensation: i64,
    pub logistics: i64,
    pub storage: i64,
    pub acceptance: i64,
    pub penalties: i64,
    pub other_deductions: i64,
    pub ad_deductions: i64,
    pub transfers: i64,
    pub additional_payments: i64,
    pub unclassified: i64,
    pub ad_spend: i64,
    pub cogs: Option<i64>,
}

impl Truth {
    /// What the marketplace transfers: every part of the payout, by its sign.
    pub fn payout(&self) -> i64 {
        self.revenue - self.commission + self.compensation
            - self.logistics
            - self.storage
            - self.acceptance
            - self.penalties
            - self.other_deductions
            - self.ad_deductions
            - self.transfers
            + self.additional_payments
            + self.unclassified
    }

    /// Every compared figure, by mart column name; money in kopecks.
    pub fn figures(&self) -> Vec<(&'static str, Option<i128>)> {
        let m = |v: i64| Some(i128::from(v));
        let v = vec![
            ("orders", m(self.orders)),
            ("orders_value", m(self.orders_value)),
            ("cancellations", m(self.cancellations)),
            ("buyouts", m(self.buyouts)),
            ("returns", self.returns.map(i128::from)),
            ("buyouts_value", m(self.buyouts_value)),
            ("returns_value", m(self.returns_value)),
            ("sales_value", m(self.buyouts_value - self.returns_value)),
            ("units_sold", self.units_sold.map(i128::from)),
            ("units_returned", self.units_returned.map(i128::from)),
            ("revenue", m(self.revenue)),
            ("commission", m(self.commission)),
            ("compensation", m(self.compensation)),
            ("logistics", m(self.logistics)),
            ("storage", m(self.storage)),
            ("acceptance", m(self.acceptance)),
            ("penalties", m(self.penalties)),
            ("other_deductions", m(self.other_deductions)),
            ("ad_deductions", m(self.ad_deductions)),
            ("transfers", m(self.transfers)),
            ("additional_payments", m(self.additional_payments)),
            ("unclassified", m(self.unclassified)),
            ("payout", m(self.payout())),
            ("ad_spend", m(self.ad_spend)),
            ("cogs", self.cogs.map(i128::from)),
        ];
        assert!(v.iter().map(|f| f.0).eq(FIGURES.iter().copied()), "FIGURES and figures() disagree");
        v
    }
}

/// The same figures read from a metrics row.
pub fn figures(m: &MetricRow) -> Vec<(&'static str, Option<i128>)> {
    FIGURES.iter().map(|name| (*name, m.money(name).or_else(|| m.count(name).map(i128::from)))).collect()
}

/// The compared figures, in the order `Truth::figures` lists them.
pub const FIGURES: [&str; 25] = [
    "orders",
    "orders_value",
    "cancellations",
    "buyouts",
    "returns",
    "buyouts_value",
    "returns_value",
    "sales_value",
    "units_sold",
    "units_returned",
    "revenue",
    "commission",
    "compensation",
    "logistics",
    "storage",
    "acceptance",
    "penalties",
    "other_deductions",
    "ad_deductions",
    "transfers",
    "additional_payments",
    "unclassified",
    "payout",
    "ad_spend",
    "cogs",
];

/// Compares daily metrics with the truth cell by cell, to the kopeck; returns the differences.
pub fn diff(metrics: &[MetricRow], truth: &[Truth]) -> Vec<String> {
    let mut want: BTreeMap<(String, NaiveDate, String), &Truth> = BTreeMap::new();
    for t in truth {
        want.insert((t.marketplace.clone(), t.day, t.sku.clone()), t);
    }
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for m in metrics {
        let key = (m.marketplace.clone(), m.period_from.expect("period"), m.sku.clone());
        let Some(t) = want.get(&key) else {
            out.push(format!("metrics have {key:?} which the truth lacks: {:?}", figures(m)));
            continue;
        };
        seen.insert(key.clone());
        let (got, exp) = (figures(m), t.figures());
        for ((name, g), (_, e)) in got.iter().zip(exp.iter()) {
            if g != e {
                out.push(format!("{key:?} {name}: got {g:?}, truth {e:?}"));
            }
        }
        if m.seller_sku != t.seller_sku {
            out.push(format!("{key:?} seller_sku: got {:?}, truth {:?}", m.seller_sku, t.seller_sku));
        }
    }
    for k in want.keys().filter(|k| !seen.contains(*k)).take(10) {
        out.push(format!("truth has {k:?} which the metrics lack"));
    }
    out
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
