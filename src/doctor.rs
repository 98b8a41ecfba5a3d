//! `mpetl doctor`: everything tonight's job needs, checked now with one cheap call per service:
//! the data directory and its free space, the state store, each account's tokens (reachable,
//! accepted, and how long they have left), the Telegram bot and each chat it must write to.
//! A failed check is something that will make the job fail; a warning, something that soon will.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::Serialize;

use crate::config::Config;

/// Days before a token's expiry from which doctor (and the nightly summary) warn.
pub const EXPIRY_WARNING_DAYS: i64 = 14;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

/// One thing checked.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked: `wb token (account main)`, `disk`, `telegram chat -100…`.
    pub name: String,
    pub status: Status,
    /// What was found, or what is wrong and how to fix it. Never a secret.
    pub detail: String,
    /// When a token stops working, where the marketplace says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

impl Check {
    fn new(name: impl Into<String>, status: Status, detail: impl Into<String>) -> Check {
        Check { name: name.into(), status, detail: detail.into(), expires_at: None }
    }
}

/// Every check, in order: data, state, accounts, Telegram. `chats` are the chats jobs post to,
/// besides `[telegram].allowed_chats`.
pub async fn run(cfg: &Config, chats: &[i64]) -> Vec<Check> {
    let mut out = vec![data_dir(&cfg.data_dir)];
    out.push(state(cfg).await);
    let http = crate::http::client(Duration::from_secs(cfg.fetch.http_timeout_secs.min(30)));
    for a in &cfg.accounts {
        if let Some(wb) = &a.wb {
            out.extend(wb_token(&http, cfg, &a.id, wb.token.as_ref()).await);
        }
        if let Some(oz) = &a.ozon {
            out.push(ozon_key(&http, cfg, &a.id, oz).await);
        }
    }
    if let Some(t) = &cfg.telegram {
        out.extend(telegram(t, chats).await);
    }
    out
}

/// The data directory is writable and has room: a night's lake partitions and marts are
/// rewritten through temporary files beside them.
fn data_dir(dir: &Path) -> Check {
    let name = format!("data dir {}", dir.display());
    if let Err(e) = std::fs::create_dir_all(dir) {
        return Check::new(name, Status::Fail, format!("cannot create it: {e}"));
    }
    let probe = dir.join(".mpetl-doctor");
    if let Err(e) = std::fs::write(&probe, b"probe").and_then(|()| std::fs::remove_file(&probe)) {
        return Check::new(
            name,
            Status::Fail,
            format!("not writable: {e}. Fix: give the user running mpetl write access"),
        );
    }
    match free_bytes(dir) {
        Some(free) if free < 256 << 20 => Check::new(
            name,
            Status::Fail,
            format!("{} free: a night's partitions need more. Fix: free space or move data_dir", gib(free)),
        ),
        Some(free) if free < 2 << 30 => Check::new(name, Status::Warn, format!("writable, only {} free", gib(free))),
        Some(free) => Check::new(name, Status::Ok, format!("writable, {} free", gib(free))),
        None => Check::new(name, Status::Warn, "writable; free space unknown"),
    }
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}

fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a NUL-terminated string and `s` a statvfs the call fills in.
    if unsafe { libc::statvfs(path.as_ptr(), &mut s) } != 0 {
        return None;
    }
    // The field types differ between targets (u32 on some 32-bit ones).
    #[allow(clippy::useless_conversion)]
    Some(u64::from(s.f_bavail).saturating_mul(u64::from(s.f_frsize)))
}

async fn state(cfg: &Config) -> Check {
    let Some(url) = &cfg.redis_url else {
        return match crate::state::open(cfg) {
            Ok(_) => Check::new("state", Status::Ok, format!("embedded store in {}", cfg.state_dir().display())),
            Err(crate::state::StateError::Locked { .. }) => Check::new(
                "state",
                Status::Ok,
                "embedded store, held by a running mpetl process (a `schedule`?): that process runs the jobs",
            ),
            Err(e) => Check::new("state", Status::Fail, e.to_string()),
        };
    };
    let shown = crate::state::redis::redact(url.expose_secret());
    let url = url.expose_secret().to_string();
    let version = tokio::task::spawn_blocking(move || -> redis::RedisResult<String> {
        let client = redis::Client::open(url.as_str())?;
        let mut c = crate::state::redis::connect(&client)?;
        let info: String = redis::cmd("INFO").arg("server").query(&mut c)?;
        Ok(info.lines().find_map(|l| l.strip_prefix("redis_version:")).unwrap_or("unknown").trim().to_string())
    });
    match version.await {
        Ok(Ok(v)) => {
            Check::new("state", Status::Ok, format!("Redis {v} at {shown}, namespace {}", cfg.state_namespace))
        }
        Ok(Err(e)) => Check::new("state", Status::Fail, format!("Redis at {shown}: {e}")),
        Err(e) => Check::new("state", Status::Fail, format!("Redis at {shown}: the check failed: {e}")),
    }
}

/// The environment variable of an account's key, as an error's fix names it.
fn env_of(account: &str, key: &str) -> String {
    crate::config::env_name(&format!("accounts.{account}.{key}")).replace('-', "_")
}

/// A token that stops working soon, for the nightly summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiring {
    pub account: String,
    pub marketplace: &'static str,
    pub at: DateTime<Utc>,
}

/// WB tokens that expire within [`EXPIRY_WARNING_DAYS`] of `now` (or have expired), read from
/// the JWTs themselves: no request. (An Ozon key's expiry takes a call to `/v1/roles`, which
/// `mpetl doctor` makes.)
pub fn expiring_tokens(cfg: &Config, now: DateTime<Utc>) -> Vec<Expiring> {
    cfg.accounts
        .iter()
        .filter_map(|a| {
            let token = a.wb.as_ref()?.token.as_ref()?;
            let at = jwt_expiry(token.expose_secret())?;
            ((at - now).num_days() < EXPIRY_WARNING_DAYS).then(|| Expiring {
                account: a.id.clone(),
                marketplace: "wb",
                at,
            })
        })
        .collect()
}

/// `exp` of a JWT, without checking its signature (only WB can).
fn jwt_expiry(token: &str) -> Option<DateTime<Utc>> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    DateTime::from_timestamp(v["exp"].as_i64()?, 0)
}

/// How an expiry date reads, and whether it fails or warns.
fn expiry(at: DateTime<Utc>) -> (Status, String) {
    let days = (at - Utc::now()).num_days();
    let when = at.format("%Y-%m-%d");
    if at <= Utc::now() {
        (Status::Fail, format!("expired on {when}. Fix: issue a new one in the seller cabinet"))
    } else if days < EXPIRY_WARNING_DAYS {
        (Status::Warn, format!("expires on {when}, in {days} day(s): issue a new one before then"))
    } else {
        (Status::Ok, format!("valid until {when} ({days} days)"))
    }
}

/// The WB token: its expiry from the JWT, and `GET /ping` on each WB host mpetl calls.
async fn wb_token(
    http: &reqwest::Client,
    cfg: &Config,
    account: &str,
    token: Option<&secrecy::SecretString>,
) -> Vec<Check> {
    let name = format!("wb token (account {account})");
    let Some(token) = token else {
        return vec![Check::new(
            name,
            Status::Fail,
            format!(
                "not set. Fix: export {}=<token> (or {}_FILE=<path>)",
                env_of(account, "wb.token"),
                env_of(account, "wb.token")
            ),
        )];
    };
    let mut out = Vec::new();
    let expires = jwt_expiry(token.expose_secret());
    let mut first = match expires {
        Some(at) => {
            let (status, detail) = expiry(at);
            Check { expires_at: Some(at), ..Check::new(name.clone(), status, detail) }
        }
        None => Check::new(name.clone(), Status::Warn, "not a JWT: its expiry cannot be read"),
    };
    let e = &cfg.endpoints;
    let mut hosts = vec![("statistics", &e.wb_statistics), ("finance", &e.wb_finance), ("advert", &e.wb_advert)];
    hosts.dedup_by(|a, b| a.1 == b.1);
    let mut reached = Vec::new();
    for (what, base) in hosts {
        let url = format!("{}/ping", base.trim_end_matches('/'));
        let answer = http.get(&url).header("Authorization", token.expose_secret()).send().await;
        match answer {
            Ok(r) if r.status().is_success() => reached.push(what),
            Ok(r) => {
                let status = r.status();
                let body = r.bytes().await.unwrap_or_default();
                out.push(Check::new(
                    format!("wb {what} (account {account})"),
                    Status::Fail,
                    format!("{url} refused the token: {status} {}", crate::http::excerpt(&body)),
                ));
            }
            Err(err) => out.push(Check::new(
                format!("wb {what} (account {account})"),
                Status::Fail,
                format!("{url} unreachable: {}", err.without_url()),
            )),
        }
    }
    if !reached.is_empty() {
        first.detail = format!("{}; accepted by WB {}", first.detail, reached.join(", "));
    }
    out.insert(0, first);
    out
}

/// The Ozon key: `POST /v1/roles` says whether it works, its roles and when it expires.
async fn ozon_key(
    http: &reqwest::Client,
    cfg: &Config,
    account: &str,
    creds: &crate::config::OzonCredentials,
) -> Check {
    let name = format!("ozon key (account {account})");
    let (Some(client), Some(key)) = (&creds.client_id, &creds.api_key) else {
        return Check::new(
            name,
            Status::Fail,
            format!(
                "client_id or api_key not set. Fix: export {} and {}",
                env_of(account, "ozon.client_id"),
                env_of(account, "ozon.api_key")
            ),
        );
    };
    let url = format!("{}/v1/roles", cfg.endpoints.ozon.trim_end_matches('/'));
    let answer = http
        .post(&url)
        .header("Client-Id", client)
        .header("Api-Key", key.expose_secret())
        .json(&serde_json::json!({}))
        .send()
        .await;
    let r = match answer {
        Ok(r) => r,
        Err(e) => return Check::new(name, Status::Fail, format!("{url} unreachable: {}", e.without_url())),
    };
    let status = r.status();
    let body = r.bytes().await.unwrap_or_default();
    if !status.is_success() {
        return Check::new(
            name,
            Status::Fail,
            format!("{url} refused the key: {status} {}", crate::http::excerpt(&body)),
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let roles: Vec<&str> = v["roles"].as_array().into_iter().flatten().filter_map(|r| r["name"].as_str()).collect();
    let roles = if roles.is_empty() { "no roles listed".to_string() } else { format!("roles: {}", roles.join(", ")) };
    match v["expires_at"].as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok()) {
        Some(at) => {
            let at = at.with_timezone(&Utc);
            let (status, detail) = expiry(at);
            Check { expires_at: Some(at), ..Check::new(name, status, format!("{detail}; {roles}")) }
        }
        None => Check::new(name, Status::Ok, format!("accepted; {roles}; expiry not stated")),
    }
}

/// `getMe`, then `sendChatAction` to each chat: a write the chat does not see, refused where
/// the bot was removed or never added.
async fn telegram(t: &crate::config::TelegramConfig, chats: &[i64]) -> Vec<Check> {
    let bot = crate::notify::telegram::Bot::new(&t.api_base, t.token.clone());
    let me = match bot.username().await {
        Ok(u) => Check::new("telegram bot", Status::Ok, format!("@{u}")),
        Err(e) => return vec![Check::new("telegram bot", Status::Fail, format!("getMe failed: {e}"))],
    };
    let mut out = vec![me];
    let mut all: Vec<i64> = t.allowed_chats.iter().chain(chats).copied().collect();
    all.sort_unstable();
    all.dedup();
    for chat in all {
        let r = bot.call("sendChatAction", &serde_json::json!({"chat_id": chat, "action": "typing"})).await;
        out.push(match r {
            Ok(_) => Check::new(format!("telegram chat {chat}"), Status::Ok, "the bot can post here"),
            Err(e) => Check::new(
                format!("telegram chat {chat}"),
                Status::Fail,
                format!("the bot cannot post here: {e}. Fix: add the bot to the chat (and let it post)"),
            ),
        });
    }
    out
}
