//! Configuration: `mpetl.toml` overlaid by `MPETL_*` environment variables.
//!
//! An environment variable names a key path with `__` between levels:
//! `MPETL_DATA_DIR=/srv/mpetl` sets `data_dir`, `MPETL_ACCOUNTS__MAIN__WB__TOKEN=…` sets
//! `accounts.main.wb.token`. Secrets (WB token, Ozon Api-Key) come from the environment or from a
//! file named by `token_file` / `api_key_file`; they are never printed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use secrecy::SecretString;
use serde::Deserialize;

use crate::dataset::Marketplace;

mod raw;
mod show;

use raw::de_num;
pub use show::{Setting, render};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "cannot read config file {path}: {source}. Fix: create it (the repository ships an example mpetl.toml) or pass --config <file>"
    )]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config {origin} is not valid: {message}")]
    Parse { origin: String, message: String },
    #[error("config key `{key}` = {value:?} is not valid: {fix}")]
    Invalid { key: String, value: String, fix: String },
    #[error(
        "config key `{key}` is not a usable secret: {detail}. Fix: copy the token again as one line, without spaces or line breaks inside"
    )]
    Secret { key: String, detail: String },
    #[error("cannot read the secret file for `{key}` ({path}): {source}")]
    SecretFile { key: String, path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Missing(String),
}

fn invalid(key: impl Into<String>, value: impl ToString, fix: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key: key.into(), value: value.to_string(), fix: fix.into() }
}

/// The Telegram bot (`[telegram]`): where jobs post and who may command it.
#[derive(Debug, Clone)]
pub struct TelegramConfig {
    /// From @BotFather; a secret (it is part of every Bot API URL, so URLs are never logged).
    pub token: SecretString,
    /// The Bot API server; the sandbox's emulator in tests and the demo.
    pub api_base: String,
    /// Language of progress and summaries: `ru` (default) or `en`.
    pub lang: crate::notify::telegram::Lang,
    /// Chats whose commands `mpetl bot` serves; everyone else gets one polite refusal.
    pub allowed_chats: Vec<i64>,
    /// When not empty, only these users (Telegram user ids) may run `/report` and `/status`,
    /// even in an allowed chat: every member of an allowed group could otherwise start a backfill.
    pub allowed_users: Vec<i64>,
    /// The longest period `/report` accepts, in days (366; 1 to 3660).
    pub max_report_days: u32,
    /// How long a summary waits out flood control and refused connections (120 s).
    pub delivery_patience: Duration,
}

/// Buckets whose limits `[limits.<bucket>]` may override.
pub const BUCKETS: [&str; 11] = [
    "wb_content",
    "wb_orders",
    "wb_sales",
    "wb_stocks",
    "wb_finance",
    "wb_finance_list",
    "wb_advert",
    "wb_fullstats",
    "wb_upd",
    "ozon",
    "ozon_accruals",
];

/// How runs hold their accounts and ride out Redis trouble (`[state]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateOptions {
    /// A run holds a lease on each of its accounts for this long, renewed every third of it; a
    /// run that dies loses its accounts this long after its last renewal (at once when it died
    /// on this host). Default 30.
    pub lease_secs: u64,
    /// How long a lost Redis connection is retried before the run stops cleanly; less than two
    /// thirds of `lease_secs`, so a renewal held up by reconnecting still lands before the lease
    /// expires. Default 15.
    pub reconnect_secs: u64,
    /// With Redis: a job's accounts go on a Redis Stream as work items, claimed by every
    /// `mpetl worker` and `mpetl schedule` process (and by the job's own process), so one job
    /// spreads over several hosts. Default false: the job's process fetches every account.
    pub fan_out: bool,
}

impl Default for StateOptions {
    fn default() -> Self {
        StateOptions { lease_secs: 30, reconnect_secs: 15, fan_out: false }
    }
}

/// How tax is estimated in the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaxMode {
    /// No tax line.
    None,
    /// `rate × (revenue + compensation)` (e.g. УСН «доходы», 6 %); never below zero.
    Revenue,
    /// `rate × (gross profit − ad spend)` (e.g. УСН «доходы минус расходы», 15 %); a loss owes 0.
    Profit,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tax {
    pub mode: TaxMode,
    pub rate: rust_decimal::Decimal,
}

impl Default for Tax {
    fn default() -> Self {
        Tax { mode: TaxMode::None, rate: rust_decimal::Decimal::ZERO }
    }
}

/// How mpetl talks to the marketplaces. Every field has a production default.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FetchConfig {
    /// Postings per Ozon page (the API allows 1–100).
    #[serde(deserialize_with = "de_num")]
    pub ozon_page_limit: u32,
    /// Returns per Ozon returns-list page (the API allows 1–500).
    #[serde(deserialize_with = "de_num")]
    pub ozon_returns_page_limit: u32,
    /// Products per Ozon product-list page and details call (the API allows 1–1000).
    #[serde(deserialize_with = "de_num")]
    pub ozon_products_page_limit: u32,
    /// Cards per WB content page (the API allows 1–100).
    #[serde(deserialize_with = "de_num")]
    pub wb_cards_page_limit: u32,
    /// Longest FBS window sent in one request; longer windows are split, and a window the API
    /// still calls `PERIOD_IS_TOO_LONG` is halved.
    #[serde(deserialize_with = "de_num")]
    pub fbs_max_window_days: u32,
    /// WB's row cap per statistics page, used to tell a finished stream from a stuck one.
    #[serde(deserialize_with = "de_num")]
    pub wb_page_cap: u32,
    /// Per-request timeout.
    #[serde(deserialize_with = "de_num")]
    pub http_timeout_secs: u64,
    /// The longest wait a marketplace may ask for (`Retry-After`, `X-Ratelimit-Retry`) before
    /// the request's chunk fails instead, resumable by the next run.
    #[serde(deserialize_with = "de_num")]
    pub max_retry_wait_secs: u64,
    /// WB refreshes statistics every 30 minutes: a stream synced more recently is not re-read.
    #[serde(deserialize_with = "de_num")]
    pub wb_stats_refresh_minutes: u64,
    /// A window chunk that touches the last `settle_days` stays cached this long.
    #[serde(deserialize_with = "de_num")]
    pub open_chunk_ttl_hours: u64,
    /// Postings keep changing status for weeks: a month counts as closed (cached for good) only
    /// once it ended this many days before it was fetched.
    #[serde(deserialize_with = "de_num")]
    pub settle_days: u32,
    /// Rows a long chunk holds before it stores them (Ozon accruals: whole days at a time), so
    /// a chunk's memory is bounded whatever the seller's size.
    #[serde(deserialize_with = "de_num")]
    pub store_every_rows: u32,
    /// Divides every rate-limit period. 1 for the real APIs; the sandbox demo uses more so that a
    /// 1/min limit passes in milliseconds.
    #[serde(deserialize_with = "de_num")]
    pub time_scale: u32,
    /// Requests in flight at once, all accounts together: a request whose rate-limit slot is
    /// ready waits for one of these before it is sent, so the answers of many sellers are read
    /// as fast as they come instead of timing out in a crowd.
    #[serde(deserialize_with = "de_num")]
    pub max_in_flight: u32,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            ozon_page_limit: 100,
            ozon_returns_page_limit: 500,
            ozon_products_page_limit: 1000,
            wb_cards_page_limit: 100,
            fbs_max_window_days: 30,
            wb_page_cap: 80_000,
            http_timeout_secs: 60,
            max_retry_wait_secs: 900,
            wb_stats_refresh_minutes: 30,
            open_chunk_ttl_hours: 24,
            settle_days: 30,
            store_every_rows: 100_000,
            time_scale: 1,
            max_in_flight: crate::http::DEFAULT_IN_FLIGHT as u32,
        }
    }
}

impl FetchConfig {
    pub fn http_timeout(&self) -> Duration {
        Duration::from_secs(self.http_timeout_secs)
    }

    /// The longest window one posting-list request may span.
    pub fn window_days(&self, ds: crate::dataset::Dataset) -> u32 {
        match ds {
            crate::dataset::Dataset::OzonFbs => self.fbs_max_window_days,
            _ => 365,
        }
    }
}

/// Base URLs, so the same clients talk to the real APIs or to the sandbox.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub wb_statistics: String,
    pub wb_finance: String,
    pub wb_advert: String,
    pub wb_content: String,
    pub ozon: String,
}

#[derive(Debug, Clone)]
pub struct WbCredentials {
    pub token: Option<SecretString>,
}

#[derive(Debug, Clone)]
pub struct OzonCredentials {
    pub client_id: Option<String>,
    pub api_key: Option<SecretString>,
}

#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub wb: Option<WbCredentials>,
    pub ozon: Option<OzonCredentials>,
}

impl Account {
    pub fn has(&self, mp: Marketplace) -> bool {
        match mp {
            Marketplace::Wb => self.wb.is_some(),
            Marketplace::Ozon => self.ozon.is_some(),
        }
    }
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub timezone: Tz,
    pub endpoints: Endpoints,
    pub fetch: FetchConfig,
    pub accounts: Vec<Account>,
    /// `marketplace,sku,unit_cost,valid_from`; defaults to `<data_dir>/costs.csv`.
    pub costs_file: PathBuf,
    /// The operation catalogue; the one built into mpetl (`data/operations.toml`) when None.
    pub operations_file: Option<PathBuf>,
    pub tax: Tax,
    /// Redis for state (from `REDIS_URL` or `state.redis_url`); the embedded store when None.
    /// A secret: the URL may carry a password.
    pub redis_url: Option<SecretString>,
    /// Separates deployments sharing one Redis: keys are `mpetl:<namespace>:…`.
    pub state_namespace: String,
    /// Rate limits that replace the defaults, per bucket (e.g. a Basic WB token's lower limits).
    pub limits: BTreeMap<String, crate::http::Quota>,
    pub state: StateOptions,
    pub telegram: Option<TelegramConfig>,
    /// Where each key the file or the environment set came from (`file mpetl.toml`,
    /// `env MPETL_…`), by dotted key; a key not here took its default. For `config show`.
    pub sources: BTreeMap<String, String>,
}

impl Config {
    /// Reads `path` and overlays the process environment.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        Self::from_toml_and_env(&text, &path.display().to_string(), std::env::vars())
    }

    /// Parses TOML text, overlays `MPETL_*` pairs from `env`, validates.
    pub fn from_toml_and_env(
        text: &str,
        origin: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        raw::parse(text, origin, env)
    }

    pub fn account(&self, id: &str) -> Result<&Account, ConfigError> {
        self.accounts.iter().find(|a| a.id == id).ok_or_else(|| {
            let known: Vec<&str> = self.accounts.iter().map(|a| a.id.as_str()).collect();
            invalid("--account", id, format!("the config has accounts: {}", known.join(", ")))
        })
    }

    pub fn lake_dir(&self) -> PathBuf {
        self.data_dir.join("lake")
    }
    pub fn marts_dir(&self) -> PathBuf {
        self.data_dir.join("marts")
    }
    pub fn state_dir(&self) -> PathBuf {
        self.data_dir.join("state")
    }
}

/// The env variable that sets a key, for error messages.
pub fn env_name(key: &str) -> String {
    format!("MPETL_{}", key.replace('.', "__").to_ascii_uppercase())
}

/// Checks that an account has the credentials a source needs, with a fix naming the env var.
pub fn require_credentials(account: &Account, mp: Marketplace) -> Result<(), ConfigError> {
    match mp {
        Marketplace::Wb => account.wb_token().map(drop),
        Marketplace::Ozon => account.ozon_keys().map(drop),
    }
}

impl Account {
    fn missing(&self, key: String, what: &str) -> ConfigError {
        ConfigError::Missing(format!(
            "account '{}': {what} is not set. Fix: export {}=<value>, or set `{key}_file` in the config to a file holding it",
            self.id,
            env_name(&key)
        ))
    }

    /// The WB token, or what is missing and how to set it.
    pub fn wb_token(&self) -> Result<SecretString, ConfigError> {
        let id = &self.id;
        let w = self
            .wb
            .as_ref()
            .ok_or_else(|| ConfigError::Missing(format!("account '{id}' has no [accounts.{id}.wb] section")))?;
        w.token.clone().ok_or_else(|| {
            self.missing(
                format!("accounts.{id}.wb.token"),
                "the WB API token (Personal token with Statistics, Promotion and Finance)",
            )
        })
    }

    /// The Ozon Client-Id and Api-Key, or what is missing and how to set it.
    pub fn ozon_keys(&self) -> Result<(String, SecretString), ConfigError> {
        let id = &self.id;
        let o = self
            .ozon
            .as_ref()
            .ok_or_else(|| ConfigError::Missing(format!("account '{id}' has no [accounts.{id}.ozon] section")))?;
        let client_id = o.client_id.clone().ok_or_else(|| {
            ConfigError::Missing(format!(
                "account '{id}': the Ozon Client-Id is not set. Fix: set accounts.{id}.ozon.client_id or export {}",
                env_name(&format!("accounts.{id}.ozon.client_id"))
            ))
        })?;
        let key =
            o.api_key.clone().ok_or_else(|| self.missing(format!("accounts.{id}.ozon.api_key"), "the Ozon Api-Key"))?;
        Ok((client_id, key))
    }
}

#[cfg(test)]
mod tests;
