//! `mpetl demo`: the whole pipeline against the in-process sandbox, with no tokens and no Redis.

use std::path::PathBuf;

use chrono::{Duration, Utc};
use secrecy::SecretString;

use crate::config::{Account, Config, Endpoints, FetchConfig, OzonCredentials, WbCredentials};
use crate::events::Events;
use crate::metrics::Grain;
use crate::pipeline::plan::Period;
use crate::pipeline::{BackfillRequest, RunError, RunReport, Runner};
use mpetl_sandbox::{self as sandbox, ProfileName, Sandbox, SandboxConfig};

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

/// A config that points every client at the sandbox at `base_url`, with its credentials.
pub fn sandbox_config(base_url: &str, data_dir: PathBuf, time_scale: u32, wb_page_cap: usize) -> Config {
    Config {
        costs_file: data_dir.join("costs.csv"),
        operations_file: None,
        data_dir,
        timezone: chrono_tz::Europe::Moscow,
        endpoints: Endpoints {
            wb_statistics: base_url.into(),
            wb_finance: base_url.into(),
            wb_advert: base_url.into(),
            wb_content: base_url.into(),
            ozon: base_url.into(),
        },
        redis_url: None,
        sources: Default::default(),
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
    pub telegram: DemoTelegram,
}

/// The Telegram side of the demo: the sandbox's Bot API emulator and what reached it.
pub struct DemoTelegram {
    pub api: mpetl_sandbox::telegram::BotApi,
    pub chat: i64,
    pub progress: Option<crate::notify::telegram::ProgressOutcome>,
    pub summary_message: Option<i64>,
    pub chart: PathBuf,
    pub notes: Vec<String>,
}

/// The demo's chat in the emulator.
pub const DEMO_CHAT: i64 = 100_200_300;

pub async fn run(opts: &DemoOptions, events: Events) -> Result<DemoRun, DemoError> {
    let sandbox = Sandbox::start(SandboxConfig {
        profile: opts.profile,
        seed: opts.seed,
        wb_page_cap: opts.wb_page_cap,
        ..Default::default()
    })
    .await
    .map_err(DemoError::Sandbox)?;
    let mut cfg = sandbox_config(&sandbox.base_url, opts.data_dir.clone(), opts.time_scale, opts.wb_page_cap);
    let api = mpetl_sandbox::telegram::BotApi::start().map_err(DemoError::Sandbox)?;
    let tg = crate::config::TelegramConfig {
        token: SecretString::from(mpetl_sandbox::telegram::BOT_TOKEN),
        api_base: api.base_url.clone(),
        lang: Default::default(),
        allowed_chats: vec![DEMO_CHAT],
        allowed_users: Vec::new(),
        max_report_days: 366,
        delivery_patience: std::time::Duration::from_secs(10),
    };
    cfg.telegram = Some(tg.clone());
    // The sandbox seller's purchase prices, as a seller would keep them.
    std::fs::create_dir_all(&opts.data_dir)
        .and_then(|_| std::fs::write(&cfg.costs_file, sandbox.data().finance.costs_csv()))
        .map_err(DemoError::Sandbox)?;
    let today = Utc::now().with_timezone(&cfg.timezone).date_naive();
    let period = Period::new(today - Duration::days(opts.days), today - Duration::days(1)).map_err(RunError::from)?;
    // Progress goes to the terminal and, as a live-edited message, to the emulated chat.
    let title = format!("mpetl demo · {} — {}", period.from, period.to);
    let (to_telegram, progress) = crate::schedule::telegram_progress(&tg, DEMO_CHAT, title, cfg.timezone);
    let (tx, rx) = Events::channel();
    crate::schedule::tee(rx, vec![events, to_telegram]);
    let runner = Runner::open(cfg.clone(), tx)?;
    let report = runner
        .backfill(&BackfillRequest {
            grains: vec![Grain::Day, Grain::Week, Grain::Month],
            ..BackfillRequest::new(period)
        })
        .await?;
    // The runner keeps its sender open; the run is over, so the notifier may finish.
    let progress = tokio::time::timeout(std::time::Duration::from_secs(15), progress).await.ok().and_then(Result::ok);
    // The last 30 days' summary and the chart of the whole period, as a nightly job posts them.
    let mut notes = Vec::new();
    let summary_period = Period { from: period.to - Duration::days(29), to: period.to };
    let summary_message = match crate::schedule::post_summary(
        &cfg,
        runner.store().as_ref(),
        &tg,
        DEMO_CHAT,
        None,
        &report.run_id,
        summary_period.max_from(period.from),
    )
    .await
    {
        Ok(m) => m,
        Err(e) => {
            notes.push(e);
            None
        }
    };
    let chart = opts.data_dir.join("chart.png");
    let title = cfg.accounts.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ");
    match crate::summary::Summary::compute(&cfg, &title, period, None) {
        Ok(s) => {
            if let Err(e) = crate::lake::write_file_atomically(&chart, &s.chart_png()) {
                notes.push(format!("chart not written: {e}"));
            }
        }
        Err(e) => notes.push(format!("chart not drawn: {e}")),
    }
    let telegram = DemoTelegram { api, chat: DEMO_CHAT, progress, summary_message, chart, notes };
    Ok(DemoRun { sandbox, runner, period, report, telegram })
}
