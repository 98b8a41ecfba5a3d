//! The config file as written (`Raw*`: every key optional, numbers leniently typed) and its
//! validation into a [`Config`]: each refusal names the key, the value and the fix.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use chrono_tz::Tz;
use secrecy::SecretString;
use serde::{Deserialize, Deserializer};

mod validate;

use super::*;
use validate::validate;

/// Numbers may come from TOML or, as text, from the environment.
pub(super) fn de_num<'de, D, T>(d: D) -> Result<T, D::Error>
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
    #[serde(default, deserialize_with = "de_ids")]
    allowed_chats: Vec<i64>,
    #[serde(default, deserialize_with = "de_ids")]
    allowed_users: Vec<i64>,
    #[serde(default, deserialize_with = "de_opt_string_lenient")]
    max_report_days: Option<String>,
}

/// A rate limit override: one request per `period_secs`, `burst` at once.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimit {
    #[serde(deserialize_with = "de_f64")]
    period_secs: f64,
    #[serde(deserialize_with = "de_num")]
    burst: u32,
}

/// A number that may have a fraction, from TOML or, as text, from the environment.
fn de_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        F(f64),
        I(i64),
        S(String),
    }
    match N::deserialize(d)? {
        N::F(f) => Ok(f),
        N::I(i) => Ok(i as f64),
        N::S(s) => s
            .trim()
            .parse()
            .map_err(|e| serde::de::Error::custom(format!("'{s}' is not a number ({e}); write one, e.g. 60 or 0.5"))),
    }
}

/// Chat or user ids: a TOML list, or from the environment one text of ids separated by commas
/// (`MPETL_TELEGRAM__ALLOWED_CHATS=-1001234,5678`).
fn de_ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum L {
        List(Vec<i64>),
        S(String),
    }
    match L::deserialize(d)? {
        L::List(v) => Ok(v),
        L::S(s) => s
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| {
                t.parse().map_err(|_| {
                    serde::de::Error::custom(format!(
                        "'{t}' in '{s}' is not a whole number; write ids separated by commas, e.g. -1001234567890,42"
                    ))
                })
            })
            .collect(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawState {
    redis_url: Option<SecretString>,
    namespace: Option<String>,
    #[serde(default, deserialize_with = "de_opt_string_lenient")]
    lease_secs: Option<String>,
    #[serde(default, deserialize_with = "de_opt_string_lenient")]
    reconnect_secs: Option<String>,
    fan_out: Option<bool>,
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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEndpoints {
    wb_statistics: Option<String>,
    wb_finance: Option<String>,
    wb_advert: Option<String>,
    wb_content: Option<String>,
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

/// Keys whose values are secrets, never quoted in an error.
const SECRET_KEYS: [&str; 3] = ["token", "api_key", "redis_url"];

/// `MPETL_*` variables that are not config keys.
const RESERVED_ENV: [&str; 4] = ["MPETL_CONFIG", "MPETL_LOG", "MPETL_FAILPOINT", "MPETL_FAILPOINT_PARENT"];

/// The conventional variable for a Redis URL (as Heroku, Render, Railway and most compose files
/// set it): `state.redis_url` when `MPETL_STATE__REDIS_URL` does not say otherwise.
pub const REDIS_URL_ENV: &str = "REDIS_URL";

/// Every value of the file by its dotted key, for `config show`'s sources.
fn leaves(table: &toml::Table, prefix: &str, out: &mut BTreeMap<String, String>, origin: &str) {
    for (k, v) in table {
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match v {
            toml::Value::Table(t) => leaves(t, &key, out, origin),
            _ => {
                out.insert(key, format!("file {origin}"));
            }
        }
    }
}

/// Sets `path` to `value`, creating sections; returns the dotted key it set (an account id as
/// the file spells it).
fn set_path(table: &mut toml::Table, path: &[String], value: String) -> Result<String, String> {
    let (last, parents) = path.split_last().ok_or("empty key")?;
    let mut set = Vec::with_capacity(path.len());
    let mut cur = table;
    for (i, p) in parents.iter().enumerate() {
        // An account id may hold `-` (or capitals), which an environment variable's name cannot:
        // `MPETL_ACCOUNTS__MY_SHOP__…` reaches the file's `[accounts.my-shop]`.
        let key = match (i, path.first().map(String::as_str)) {
            (1, Some("accounts")) if !cur.contains_key(p) => {
                cur.keys().find(|k| k.replace('-', "_").eq_ignore_ascii_case(p)).cloned().unwrap_or_else(|| p.clone())
            }
            _ => p.clone(),
        };
        set.push(key.clone());
        let entry = cur.entry(key).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = entry.as_table_mut().ok_or_else(|| format!("`{p}` is a value in the config file, not a section"))?;
    }
    cur.insert(last.clone(), toml::Value::String(value));
    set.push(last.clone());
    Ok(set.join("."))
}

/// Parses TOML text, overlays `MPETL_*` pairs from `env`, validates.
pub(super) fn parse(
    text: &str,
    origin: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigError> {
    // toml's own message quotes the offending line, which may hold a token: say where instead.
    let mut table: toml::Table = toml::from_str(text).map_err(|e| {
        let at = e.span().map_or(0, |s| s.start).min(text.len());
        let line = 1 + text.as_bytes()[..at].iter().filter(|b| **b == b'\n').count();
        ConfigError::Parse { origin: format!("file {origin}"), message: format!("line {line}: {}", e.message()) }
    })?;
    let mut sources = BTreeMap::new();
    leaves(&table, "", &mut sources, origin);
    let mut overlaid = Vec::new();
    let env: Vec<(String, String)> = env.into_iter().collect();
    let own = env.iter().any(|(n, _)| n == "MPETL_STATE__REDIS_URL");
    for (name, value) in env {
        if name == REDIS_URL_ENV && !own && !value.trim().is_empty() {
            let key = set_path(&mut table, &["state".into(), "redis_url".into()], value)
                .map_err(|m| ConfigError::Parse { origin: format!("environment variable {name}"), message: m })?;
            sources.insert(key, format!("env {name}"));
            overlaid.push(name);
            continue;
        }
        let Some(rest) = name.strip_prefix("MPETL_") else {
            continue;
        };
        if RESERVED_ENV.contains(&name.as_str()) || rest.is_empty() {
            continue;
        }
        let path: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
        let key = set_path(&mut table, &path, value)
            .map_err(|m| ConfigError::Parse { origin: format!("environment variable {name}"), message: m })?;
        sources.insert(key, format!("env {name}"));
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
                // serde quotes a value of the wrong type; a secret's is not shown.
                p if SECRET_KEYS.iter().any(|k| p.ends_with(k)) => {
                    format!("{p}: is not text (the value is a secret and is not shown); write it in quotes")
                }
                p => format!("{p}: {}", e.inner().message()),
            },
        })?;
    let mut config = validate(raw)?;
    config.sources = sources;
    Ok(config)
}
