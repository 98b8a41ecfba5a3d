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
use serde::{Deserialize, Deserializer};

use crate::dataset::Marketplace;

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

/// Numbers may come from TOML or, as text, from the environment.
fn de_num<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr + TryFrom<i64>,
    <T as std::str::FromStr>::Err: std::fmt::Display,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        I(i64),
        S(String),
    }
    match N::deserialize(d)? {
        N::I(i) => T::try_from(i).map_err(|_| serde::de::Error::custom(format!("{i} is out of range"))),
        N::S(s) => s
            .trim()
            .parse()
            .map_err(|e| serde::de::Error::custom(format!("'{s}' is not a whole number ({e}); write one, e.g. 30"))),
    }
}

fn de_opt_string_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum V {
        I(i64),
        S(String),
    }
    Ok(Option::<V>::deserialize(d)?.map(|v| match v {
        V::I(i) => i.to_string(),
        V::S(s) => s,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    data_dir: Option<PathBuf>,
    timezone: Option<String>,
    #[serde(default)]
    endpoints: RawEndpoints,
    #[serde(default)]
    fetch: FetchConfig,
    #[serde(default)]
    accounts: BTreeMap<String, RawAccount>,
    costs_file: Option<PathBuf>,
    operations_file: Option<PathBuf>,
    #[serde(default)]
    tax: RawTax,
    #[serde(default)]
    state: RawState,
    #[serde(default)]
    limits: BTreeMap<String, RawLimit>,
    telegram: Option<RawTelegram>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTelegram {
    token: Option<SecretString>,
    token_file: Option<PathBuf>,
    api_base: Option<String>,
    language: Option<String>,
    #[serde(default)]
    allowed_chats: Vec<i64>,
    #[serde(default)]
    allowed_users: Vec<i64>,
    #[serde(default, deserialize_with = "de_opt_string_lenient")]
    max_report_days: Option<String>,
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

/// A rate limit override: one request per `period_secs`, `burst` at once.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimit {
    period_secs: f64,
    burst: u32,
}

/// Buckets whose limits `[limits.<bucket>]` may override.
pub const BUCKETS: [&str; 9] = [
    "wb_orders",
    "wb_sales",
    "wb_finance",
    "wb_finance_list",
    "wb_advert",
    "wb_fullstats",
    "wb_upd",
    "ozon",
    "ozon_accruals",
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawState {
    redis_url: Option<SecretString>,
    namespace: Option<String>,
    #[serde(default, deserialize_with = "de_opt_string_lenient")]
    lease_secs: Option<String>,
    #[serde(default, deserialize_with = "de_opt_string_lenient")]
    reconnect_secs: Option<String>,
}

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
}

impl Default for StateOptions {
    fn default() -> Self {
        StateOptions { lease_secs: 30, reconnect_secs: 15 }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTax {
    mode: Option<String>,
    #[serde(default, deserialize_with = "de_opt_string_lenient_f")]
    rate: Option<String>,
}

/// A rate may be written as a TOML number (0.06) or a string ("0.06").
fn de_opt_string_lenient_f<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum V {
        F(f64),
        I(i64),
        S(String),
    }
    Ok(Option::<V>::deserialize(d)?.map(|v| match v {
        V::F(f) => f.to_string(),
        V::I(i) => i.to_string(),
        V::S(s) => s,
    }))
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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEndpoints {
    wb_statistics: Option<String>,
    wb_finance: Option<String>,
    wb_advert: Option<String>,
    ozon: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    name: Option<String>,
    wb: Option<RawWb>,
    ozon: Option<RawOzon>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWb {
    token: Option<SecretString>,
    token_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOzon {
    #[serde(default, deserialize_with = "de_opt_string_lenient")]
    client_id: Option<String>,
    api_key: Option<SecretString>,
    api_key_file: Option<PathBuf>,
}

/// How mpetl talks to the marketplaces. Every field has a production default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FetchConfig {
    /// Postings per Ozon page (the API allows 1–100).
    #[serde(deserialize_with = "de_num")]
    pub ozon_page_limit: u32,
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
    /// Divides every rate-limit period. 1 for the real APIs; the sandbox demo uses more so that a
    /// 1/min limit passes in milliseconds.
    #[serde(deserialize_with = "de_num")]
    pub time_scale: u32,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            ozon_page_limit: 100,
            fbs_max_window_days: 30,
            wb_page_cap: 80_000,
            http_timeout_secs: 60,
            max_retry_wait_secs: 900,
            wb_stats_refresh_minutes: 30,
            open_chunk_ttl_hours: 24,
            settle_days: 30,
            time_scale: 1,
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
}

const RESERVED_ENV: [&str; 4] = ["MPETL_CONFIG", "MPETL_LOG", "MPETL_FAILPOINT", "MPETL_FAILPOINT_PARENT"];

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
        let mut table: toml::Table = toml::from_str(text)
            .map_err(|e| ConfigError::Parse { origin: format!("file {origin}"), message: e.to_string() })?;
        let mut overlaid = Vec::new();
        for (name, value) in env {
            let Some(rest) = name.strip_prefix("MPETL_") else {
                continue;
            };
            if RESERVED_ENV.contains(&name.as_str()) || rest.is_empty() {
                continue;
            }
            let path: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
            set_path(&mut table, &path, value)
                .map_err(|m| ConfigError::Parse { origin: format!("environment variable {name}"), message: m })?;
            overlaid.push(name);
        }
        // Through serde_path_to_error: a value of the wrong type is named by its key
        // (`fetch.ozon_page_limit: ...`), which toml's own error loses once the text is a table.
        let raw: RawConfig =
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| ConfigError::Parse {
                origin: if overlaid.is_empty() {
                    format!("file {origin}")
                } else {
                    format!("file {origin} with environment overrides {}", overlaid.join(", "))
                },
                message: match e.path().to_string() {
                    p if p == "." => e.inner().message().to_string(),
                    p => format!("{p}: {}", e.inner().message()),
                },
            })?;
        Self::validate(raw)
    }

    fn validate(raw: RawConfig) -> Result<Config, ConfigError> {
        let tz_text = raw.timezone.unwrap_or_else(|| "Europe/Moscow".into());
        let timezone: Tz = tz_text.parse().map_err(|_| {
            invalid("timezone", &tz_text, "use an IANA zone name such as Europe/Moscow or Asia/Yekaterinburg")
        })?;
        let data_dir = raw.data_dir.unwrap_or_else(|| PathBuf::from("data"));
        if data_dir.as_os_str().is_empty() {
            return Err(invalid("data_dir", "", "name a directory, e.g. data_dir = \"data\""));
        }
        let endpoints = Endpoints {
            wb_statistics: base_url(
                "endpoints.wb_statistics",
                raw.endpoints.wb_statistics,
                "https://statistics-api.wildberries.ru",
            )?,
            wb_finance: base_url(
                "endpoints.wb_finance",
                raw.endpoints.wb_finance,
                "https://finance-api.wildberries.ru",
            )?,
            wb_advert: base_url("endpoints.wb_advert", raw.endpoints.wb_advert, "https://advert-api.wildberries.ru")?,
            ozon: base_url("endpoints.ozon", raw.endpoints.ozon, "https://api-seller.ozon.ru")?,
        };
        let f = &raw.fetch;
        if !(1..=100).contains(&f.ozon_page_limit) {
            return Err(invalid(
                "fetch.ozon_page_limit",
                f.ozon_page_limit,
                "Ozon accepts 1 to 100 postings per page; use 100",
            ));
        }
        if !(1..=365).contains(&f.fbs_max_window_days) {
            return Err(invalid(
                "fetch.fbs_max_window_days",
                f.fbs_max_window_days,
                "use 1 to 365 days (30 is what Ozon accepts)",
            ));
        }
        if f.time_scale == 0 {
            return Err(invalid("fetch.time_scale", 0, "use 1 for the real APIs"));
        }
        if f.wb_page_cap == 0 {
            return Err(invalid("fetch.wb_page_cap", 0, "use WB's cap, 80000"));
        }
        // 0 makes every request time out at once; more than an hour hides a dead connection.
        if !(1..=3600).contains(&f.http_timeout_secs) {
            return Err(invalid("fetch.http_timeout_secs", f.http_timeout_secs, "use 1 to 3600 seconds, e.g. 60"));
        }
        if !(1..=86_400).contains(&f.max_retry_wait_secs) {
            return Err(invalid(
                "fetch.max_retry_wait_secs",
                f.max_retry_wait_secs,
                "use 1 to 86400 seconds (900: a chunk told to wait longer fails, and the next run resumes it)",
            ));
        }
        if raw.accounts.is_empty() {
            return Err(ConfigError::Missing(
                "config has no seller account: add a section such as [accounts.main] with [accounts.main.wb] and/or [accounts.main.ozon]".into(),
            ));
        }
        let mut accounts = Vec::new();
        for (id, a) in raw.accounts {
            if id.is_empty()
                || !id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
            {
                return Err(invalid(
                    format!("accounts.{id}"),
                    &id,
                    "account ids use lowercase letters, digits, '_' and '-' (they name lake partitions and env variables)",
                ));
            }
            let wb = match a.wb {
                None => None,
                Some(w) => {
                    Some(WbCredentials { token: secret(&format!("accounts.{id}.wb.token"), w.token, w.token_file)? })
                }
            };
            let ozon = match a.ozon {
                None => None,
                Some(o) => {
                    if let Some(c) = &o.client_id
                        && (c.is_empty() || !c.chars().all(|ch| ch.is_ascii_digit()))
                    {
                        return Err(invalid(
                            format!("accounts.{id}.ozon.client_id"),
                            c,
                            "Ozon's Client-Id is a number: copy it from Seller → Settings → API keys",
                        ));
                    }
                    Some(OzonCredentials {
                        client_id: o.client_id,
                        api_key: secret(&format!("accounts.{id}.ozon.api_key"), o.api_key, o.api_key_file)?,
                    })
                }
            };
            if wb.is_none() && ozon.is_none() {
                return Err(invalid(
                    format!("accounts.{id}"),
                    "{}",
                    "give the account a [wb] or an [ozon] section (or both)",
                ));
            }
            accounts.push(Account { name: a.name.unwrap_or_else(|| id.clone()), id, wb, ozon });
        }
        let tax = tax(raw.tax)?;
        let costs_file = raw.costs_file.unwrap_or_else(|| data_dir.join("costs.csv"));
        let state_namespace = raw.state.namespace.unwrap_or_else(|| "default".into());
        if state_namespace.is_empty() || state_namespace.contains(':') {
            return Err(invalid(
                "state.namespace",
                &state_namespace,
                "use a short name without ':' (it prefixes Redis keys)",
            ));
        }
        let mut state = StateOptions::default();
        // The heartbeat ticks every second and renews at a third of the lease: a lease under
        // 10 s expires between ticks, and the run's own writes are refused as fenced.
        for (field, v, slot, range) in [
            ("state.lease_secs", raw.state.lease_secs, &mut state.lease_secs, 10..=3600),
            ("state.reconnect_secs", raw.state.reconnect_secs, &mut state.reconnect_secs, 1..=3600),
        ] {
            if let Some(v) = v {
                *slot = v.trim().parse::<u64>().ok().filter(|n| range.contains(n)).ok_or_else(|| {
                    invalid(
                        field,
                        &v,
                        format!("give a whole number of seconds from {} to {}, e.g. 30", range.start(), range.end()),
                    )
                })?;
            }
        }
        // Renewals come every third of the lease; one that waits out a whole reconnect window
        // must still land before the remaining two thirds run out.
        if state.reconnect_secs * 3 >= state.lease_secs * 2 {
            return Err(invalid(
                "state.reconnect_secs",
                state.reconnect_secs.to_string(),
                format!(
                    "make it less than two thirds of state.lease_secs ({}): a lease renewal held up that long by a Redis reconnect lets the lease expire, and another run may take the account; or raise state.lease_secs",
                    state.lease_secs
                ),
            ));
        }
        let mut limits = BTreeMap::new();
        for (bucket, l) in raw.limits {
            if !BUCKETS.contains(&bucket.as_str()) {
                return Err(invalid(
                    format!("limits.{bucket}"),
                    &bucket,
                    format!("known buckets: {}", BUCKETS.join(", ")),
                ));
            }
            // A day is far beyond any marketplace's limit; beyond it the durations overflow.
            if !(l.period_secs > 0.0 && l.period_secs <= 86_400.0) || l.burst == 0 || l.burst > 1000 {
                return Err(invalid(
                    format!("limits.{bucket}"),
                    format!("period_secs = {}, burst = {}", l.period_secs, l.burst),
                    "write one request per period_secs (more than 0, at most 86400) with burst from 1 to 1000, e.g. { period_secs = 60, burst = 1 }",
                ));
            }
            limits
                .insert(bucket, crate::http::Quota { period: Duration::from_secs_f64(l.period_secs), burst: l.burst });
        }
        let telegram = match raw.telegram {
            None => None,
            Some(t) => {
                let token = secret("telegram.token", t.token, t.token_file)?.ok_or_else(|| {
                    invalid(
                        "telegram.token",
                        "(missing)",
                        "set telegram.token (or token_file, or MPETL_TELEGRAM__TOKEN) to the token @BotFather gave",
                    )
                })?;
                let lang = match t.language.as_deref() {
                    None => Default::default(),
                    Some(l) => l.parse().map_err(|e: String| invalid("telegram.language", l, e))?,
                };
                let api_base = t.api_base.unwrap_or_else(|| "https://api.telegram.org".into());
                if !(api_base.starts_with("http://") || api_base.starts_with("https://")) {
                    return Err(invalid(
                        "telegram.api_base",
                        &api_base,
                        "write a URL such as https://api.telegram.org",
                    ));
                }
                let max_report_days = match t.max_report_days {
                    None => 366,
                    Some(v) => v.trim().parse::<u32>().ok().filter(|d| (1..=3660).contains(d)).ok_or_else(|| {
                        invalid("telegram.max_report_days", &v, "give a whole number of days from 1 to 3660, e.g. 366")
                    })?,
                };
                Some(TelegramConfig {
                    token,
                    api_base,
                    lang,
                    allowed_chats: t.allowed_chats,
                    allowed_users: t.allowed_users,
                    max_report_days,
                    delivery_patience: Duration::from_secs(120),
                })
            }
        };
        Ok(Config {
            telegram,
            data_dir,
            timezone,
            endpoints,
            fetch: raw.fetch,
            accounts,
            costs_file,
            operations_file: raw.operations_file,
            tax,
            redis_url: raw.state.redis_url,
            state_namespace,
            limits,
            state,
        })
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

fn tax(raw: RawTax) -> Result<Tax, ConfigError> {
    let mode = match raw.mode.as_deref().unwrap_or("none") {
        "none" => TaxMode::None,
        "revenue" => TaxMode::Revenue,
        "profit" => TaxMode::Profit,
        other => {
            return Err(invalid("tax.mode", other, "use none, revenue (share of revenue) or profit (share of profit)"));
        }
    };
    let rate = match (&raw.rate, mode) {
        (None, TaxMode::None) => rust_decimal::Decimal::ZERO,
        (None, _) => return Err(invalid("tax.rate", "", "set the rate as a fraction, e.g. rate = \"0.06\" for 6 %")),
        (Some(r), _) => {
            let d = rust_decimal::Decimal::from_str_exact(r.trim())
                .map_err(|_| invalid("tax.rate", r, "write the rate as a decimal fraction, e.g. \"0.06\""))?;
            if d < rust_decimal::Decimal::ZERO || d >= rust_decimal::Decimal::ONE {
                return Err(invalid("tax.rate", r, "the rate is a fraction between 0 and 1, e.g. 0.06 for 6 %"));
            }
            d
        }
    };
    Ok(Tax { mode, rate })
}

fn base_url(key: &str, value: Option<String>, default: &str) -> Result<String, ConfigError> {
    let v = value.unwrap_or_else(|| default.to_string());
    let trimmed = v.trim().trim_end_matches('/').to_string();
    match reqwest::Url::parse(&trimmed) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host().is_some() => Ok(trimmed),
        _ => Err(invalid(key, v, format!("use an http(s) base URL such as {default}"))),
    }
}

fn secret(key: &str, inline: Option<SecretString>, file: Option<PathBuf>) -> Result<Option<SecretString>, ConfigError> {
    use secrecy::ExposeSecret;
    let (text, origin) = match (inline, file) {
        (Some(inline), _) => (inline.expose_secret().to_string(), "the value".to_string()),
        (None, None) => return Ok(None),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::SecretFile {
                key: key.into(),
                path: path.clone(),
                source,
            })?;
            (text, format!("the secret file {}", path.display()))
        }
    };
    // Pasted tokens and files saved on Windows end in "\r\n": trimmed. A control character
    // left inside cannot go into an HTTP header; the error says where it is, never the secret.
    let t = text.trim();
    if t.is_empty() {
        return Err(ConfigError::Missing(format!("{origin} for `{key}` is empty")));
    }
    if let Some((i, c)) = t.chars().enumerate().find(|(_, c)| c.is_control()) {
        return Err(ConfigError::Secret {
            key: key.into(),
            detail: format!(
                "{origin} has the control character U+{:04X} at character {} of {}",
                c as u32,
                i + 1,
                t.chars().count()
            ),
        });
    }
    Ok(Some(SecretString::from(t.to_string())))
}

fn set_path(table: &mut toml::Table, path: &[String], value: String) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty key")?;
    let mut cur = table;
    for p in parents {
        let entry = cur.entry(p.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = entry.as_table_mut().ok_or_else(|| format!("`{p}` is a value in the config file, not a section"))?;
    }
    cur.insert(last.clone(), toml::Value::String(value));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    const BASE: &str = r#"
        data_dir = "d"
        [accounts.main.wb]
        [accounts.main.ozon]
        client_id = 123
    "#;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn env_overlays_file_and_secrets_stay_hidden() {
        let c = Config::from_toml_and_env(
            BASE,
            "t",
            env(&[
                ("MPETL_ACCOUNTS__MAIN__WB__TOKEN", "tok-123"),
                ("MPETL_FETCH__TIME_SCALE", "60"),
                ("MPETL_TIMEZONE", "Asia/Yekaterinburg"),
            ]),
        )
        .unwrap();
        assert_eq!(c.fetch.time_scale, 60);
        assert_eq!(c.timezone, chrono_tz::Asia::Yekaterinburg);
        let tok = c.accounts[0].wb.as_ref().unwrap().token.as_ref().unwrap();
        assert_eq!(tok.expose_secret(), "tok-123");
        assert!(!format!("{c:?}").contains("tok-123"), "Debug must not print secrets");
        assert_eq!(c.accounts[0].ozon.as_ref().unwrap().client_id.as_deref(), Some("123"));
    }

    #[test]
    fn bad_values_name_key_value_and_fix() {
        let e =
            Config::from_toml_and_env(BASE, "t", env(&[("MPETL_TIMEZONE", "Europe/Moskow")])).unwrap_err().to_string();
        assert!(e.contains("timezone") && e.contains("Europe/Moskow") && e.contains("IANA"), "{e}");
        let e = Config::from_toml_and_env(&format!("{BASE}\n[fetch]\nozon_page_limit = 500\n"), "t", vec![])
            .unwrap_err()
            .to_string();
        assert!(e.contains("fetch.ozon_page_limit") && e.contains("500"), "{e}");
        let e = Config::from_toml_and_env("timezon = \"x\"\n[accounts.a.wb]\n", "t", vec![]).unwrap_err().to_string();
        assert!(e.contains("timezon"), "{e}");
        let e = Config::from_toml_and_env("[accounts.Main.wb]\n", "t", vec![]).unwrap_err().to_string();
        assert!(e.contains("accounts.Main"), "{e}");
    }

    #[test]
    fn missing_token_says_which_env_var() {
        let c = Config::from_toml_and_env(BASE, "t", vec![]).unwrap();
        let e = require_credentials(&c.accounts[0], Marketplace::Wb).unwrap_err().to_string();
        assert!(e.contains("MPETL_ACCOUNTS__MAIN__WB__TOKEN"), "{e}");
    }
}
