//! Shared test harness: a sandbox on 127.0.0.1, a temp data dir, a config pointing at both, and
//! the sandbox's ground truth fetched over HTTP.

#![allow(dead_code)]

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, Utc};
use mpetl::config::{Config, FetchConfig};
use mpetl::dataset::Marketplace;
use mpetl::demo::sandbox_config;
use mpetl::metrics::{self, Grain, MetricRow};
use mpetl::notify::Events;
use mpetl::plan::Period;
use mpetl::run::{BackfillRequest, RunError, RunReport, Runner};
use mpetl::sandbox::{ProfileName, Sandbox, SandboxConfig};
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
    let mut cfg = sandbox_config(&sandbox, dir.path().join("data"), FAST, sb.wb_page_cap);
    tweak(&mut cfg.fetch);
    Harness { sandbox, dir, cfg }
}

pub fn small(wb_page_cap: usize) -> SandboxConfig {
    SandboxConfig {
        profile: ProfileName::Small,
        seed: 7,
        wb_page_cap,
        ..Default::default()
    }
}

/// The last `days` days ending yesterday, in Moscow.
pub fn last_days(days: i64) -> Period {
    let today = Utc::now()
        .with_timezone(&chrono_tz::Europe::Moscow)
        .date_naive();
    Period::new(today - Duration::days(days), today - Duration::days(1)).unwrap()
}

pub fn request(period: Period) -> BackfillRequest {
    BackfillRequest {
        period,
        accounts: None,
        sources: vec![Marketplace::Wb, Marketplace::Ozon],
        refresh: false,
        grains: vec![Grain::Month],
    }
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
        let url = format!(
            "{}/__sandbox/truth?from={}&to={}",
            self.sandbox.base_url, period.from, period.to
        );
        reqwest::get(url)
            .await
            .expect("truth")
            .json()
            .await
            .expect("truth json")
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
}

/// Compares daily metrics with the truth cell by cell, to the kopeck; returns the differences.
pub fn diff(metrics: &[MetricRow], truth: &[Truth]) -> Vec<String> {
    let mut want: BTreeMap<(String, NaiveDate, String), &Truth> = BTreeMap::new();
    for t in truth {
        want.insert((t.marketplace.clone(), t.day, t.sku.clone()), t);
    }
    let mut out = Vec::new();
    let mut seen = 0;
    for m in metrics {
        let key = (m.marketplace.clone(), m.period_start, m.sku.clone());
        let Some(t) = want.get(&key) else {
            out.push(format!("metrics have {key:?} which the truth lacks: {m:?}"));
            continue;
        };
        seen += 1;
        let got = (
            m.orders,
            m.orders_value,
            m.cancellations,
            m.buyouts,
            m.returns,
            m.buyouts_value,
            m.returns_value,
            m.sales_value,
            m.seller_sku.as_str(),
        );
        let exp = (
            t.orders,
            i128::from(t.orders_value),
            t.cancellations,
            t.buyouts,
            t.returns,
            i128::from(t.buyouts_value),
            i128::from(t.returns_value),
            i128::from(t.buyouts_value - t.returns_value),
            t.seller_sku.as_str(),
        );
        if got != exp {
            out.push(format!("{key:?}: got {got:?}, truth {exp:?}"));
        }
    }
    if seen != want.len() {
        for (k, _) in want
            .iter()
            .filter(|(k, _)| {
                !metrics
                    .iter()
                    .any(|m| (m.marketplace.clone(), m.period_start, m.sku.clone()) == **k)
            })
            .take(10)
        {
            out.push(format!("truth has {k:?} which the metrics lack"));
        }
    }
    out
}

pub fn assert_matches_truth(metrics: &[MetricRow], truth: &[Truth]) {
    assert!(
        !truth.is_empty(),
        "the truth is empty: the test would prove nothing"
    );
    let d = diff(metrics, truth);
    assert!(
        d.is_empty(),
        "{} difference(s) from the ground truth, first ones:\n{}",
        d.len(),
        d.iter().take(15).cloned().collect::<Vec<_>>().join("\n")
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
