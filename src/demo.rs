//! `mpetl demo`: the whole pipeline against the in-process sandbox, with no tokens and no Redis.

use std::path::PathBuf;

use chrono::{Duration, Utc};
use secrecy::SecretString;

use crate::config::{Account, Config, Endpoints, FetchConfig, OzonCredentials, WbCredentials};
use crate::metrics::Grain;
use crate::notify::Events;
use crate::plan::Period;
use crate::run::{BackfillRequest, RunError, RunReport, Runner};
use crate::sandbox::{self, ProfileName, Sandbox, SandboxConfig};

/// How the demo runs.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub data_dir: PathBuf,
    pub profile: ProfileName,
    pub seed: u64,
    /// Days to backfill, ending yesterday.
    pub days: i64,
    /// Divides the marketplaces' rate-limit periods (1/min becomes 60/time_scale s).
    pub time_scale: u32,
    /// Rows per WB statistics page in the sandbox (small, so that paging shows).
    pub wb_page_cap: usize,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            data_dir: PathBuf::from("data/demo"),
            profile: ProfileName::Medium,
            seed: 42,
            days: 365,
            time_scale: 600,
            wb_page_cap: 5000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot start the sandbox on 127.0.0.1 or write its files: {0}")]
    Sandbox(std::io::Error),
    #[error(transparent)]
    Run(#[from] RunError),
}

/// A config that points every client at `sandbox`, with its credentials.
pub fn sandbox_config(sandbox: &Sandbox, data_dir: PathBuf, time_scale: u32, wb_page_cap: usize) -> Config {
    Config {
        costs_file: data_dir.join("costs.csv"),
        data_dir,
        timezone: chrono_tz::Europe::Moscow,
        endpoints: Endpoints {
            wb_statistics: sandbox.base_url.clone(),
            wb_finance: sandbox.base_url.clone(),
            wb_advert: sandbox.base_url.clone(),
            ozon: sandbox.base_url.clone(),
        },
        redis_url: None,
        limits: Default::default(),
        state_namespace: "demo".into(),
        state: Default::default(),
        telegram: None,
        tax: crate::config::Tax { mode: crate::config::TaxMode::Revenue, rate: rust_decimal::Decimal::new(6, 2) },
        fetch: FetchConfig { time_scale, wb_page_cap: wb_page_cap as u32, ..FetchConfig::default() },
        accounts: vec![Account {
            id: "demo".into(),
            name: "Sandbox seller".into(),
            wb: Some(WbCredentials { token: Some(SecretString::from(sandbox::WB_TOKEN)) }),
            ozon: Some(OzonCredentials {
                client_id: Some(sandbox::OZON_CLIENT_ID.into()),
                api_key: Some(SecretString::from(sandbox::OZON_API_KEY)),
            }),
        }],
    }
}

pub struct DemoRun {
    pub sandbox: Sandbox,
    pub runner: Runner,
    pub period: Period,
    pub report: RunReport,
}

pub async fn run(opts: &DemoOptions, events: Events) -> Result<DemoRun, DemoError> {
    let sandbox = Sandbox::start(SandboxConfig {
        profile: opts.profile,
        seed: opts.seed,
        wb_page_cap: opts.wb_page_cap,
        ..Default::default()
    })
    .await
    .map_err(DemoError::Sandbox)?;
    let cfg = sandbox_config(&sandbox, opts.data_dir.clone(), opts.time_scale, opts.wb_page_cap);
    // The sandbox seller's purchase prices, as a seller would keep them.
    std::fs::create_dir_all(&opts.data_dir)
        .and_then(|_| std::fs::write(&cfg.costs_file, sandbox.data().finance.costs_csv()))
        .map_err(DemoError::Sandbox)?;
    let today = Utc::now().with_timezone(&cfg.timezone).date_naive();
    let period = Period::new(today - Duration::days(opts.days), today - Duration::days(1)).map_err(RunError::from)?;
    let runner = Runner::open(cfg, events)?;
    let report = runner
        .backfill(&BackfillRequest {
            grains: vec![Grain::Day, Grain::Week, Grain::Month],
            ..BackfillRequest::new(period)
        })
        .await?;
    Ok(DemoRun { sandbox, runner, period, report })
}
