//! Telegram: the Bot API over plain reqwest (base URL configurable, so tests and the demo use the
//! sandbox's emulator), one progress message per run edited at most once per 3 s with only the
//! latest text, and the final summary as a new message plus a chart.
//!
//! Telegram trouble never fails the ETL: the notifier logs and carries on.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;

pub use super::text::{Lang, bar, escape, fit, progress_text, visible_len};
use crate::events::Event;
use crate::progress::Progress;

/// Telegram's limit for a message text after entity parsing.
pub const MAX_TEXT: usize = 4096;
/// The least time between two edits of one message (Telegram's flood control allows ~20 a
/// minute in groups).
pub const EDIT_INTERVAL: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum TelegramError {
    #[error("Telegram asks to wait {0} s (flood control)")]
    RetryAfter(u64),
    #[error("Telegram: the message to edit is gone ({0})")]
    MessageGone(String),
    #[error("Telegram: message is not modified")]
    NotModified,
    #[error("Telegram refused the bot token (HTTP {0}). Fix: check telegram.token (from @BotFather)")]
    Unauthorized(u16),
    #[error("Telegram cannot post to chat {chat}: {detail}. Fix: add the bot to the chat, or correct the chat id")]
    Forbidden { chat: i64, detail: String },
    #[error("Telegram refused the request: {0}")]
    BadRequest(String),
    /// No connection was made: nothing was delivered, so repeating is safe.
    #[error("Telegram is unreachable: {0}")]
    Unreachable(String),
    /// A 5xx or a timeout: the call may or may not have taken effect.
    #[error("Telegram is unavailable: {0}")]
    Unavailable(String),
}

/// A bot: the Bot API at `base` with `token`.
#[derive(Clone)]
pub struct Bot {
    http: reqwest::Client,
    base: String,
    token: SecretString,
}

impl Bot {
    pub fn new(base: &str, token: SecretString) -> Bot {
        // Long polls wait up to 50 s: the timeout leaves room for them.
        let http = crate::http::client(Duration::from_secs(70));
        Bot { http, base: base.trim_end_matches('/').to_string(), token }
    }

    fn url(&self, method: &str) -> String {
        format!("{}/bot{}/{method}", self.base, self.token.expose_secret())
    }

    /// One call; the envelope's `ok`/`error_code`/`parameters` decide the outcome. Errors never
    /// carry the URL (it holds the token).
    pub async fn call(&self, method: &str, body: &Value) -> Result<Value, TelegramError> {
        let resp = self.http.post(self.url(method)).json(body).send().await.map_err(transport)?;
        Self::envelope(resp, body.get("chat_id").and_then(Value::as_i64).unwrap_or_default()).await
    }

    async fn envelope(resp: reqwest::Response, chat: i64) -> Result<Value, TelegramError> {
        let status = resp.status().as_u16();
        let v: Value = resp.json().await.map_err(|e| TelegramError::Unavailable(e.without_url().to_string()))?;
        if v["ok"].as_bool() == Some(true) {
            return Ok(v["result"].clone());
        }
        let desc = v["description"].as_str().unwrap_or_default().to_string();
        if let Some(wait) = v["parameters"]["retry_after"].as_u64() {
            return Err(TelegramError::RetryAfter(wait));
        }
        let code = v["error_code"].as_u64().map_or(status, |c| c as u16);
        Err(match code {
            401 | 404 => TelegramError::Unauthorized(code),
            403 => TelegramError::Forbidden { chat, detail: desc },
            400 if desc.contains("message is not modified") => TelegramError::NotModified,
            400 if desc.contains("message to edit not found") || desc.contains("message can't be edited") => {
                TelegramError::MessageGone(desc)
            }
            400 => TelegramError::BadRequest(desc),
            _ => TelegramError::Unavailable(format!("HTTP {code}: {desc}")),
        })
    }

    /// Sends an HTML message; returns its id.
    pub async fn send(&self, chat: i64, html: &str) -> Result<i64, TelegramError> {
        let r = self
            .call(
                "sendMessage",
                &json!({"chat_id": chat, "text": html, "parse_mode": "HTML", "link_preview_options": {"is_disabled": true}}),
            )
            .await?;
        Ok(r["message_id"].as_i64().unwrap_or_default())
    }

    pub async fn edit(&self, chat: i64, message: i64, html: &str) -> Result<(), TelegramError> {
        self.call(
            "editMessageText",
            &json!({"chat_id": chat, "message_id": message, "text": html, "parse_mode": "HTML"}),
        )
        .await
        .map(|_| ())
    }

    /// Sends a PNG as a photo, shown inline in the chat, with an HTML caption.
    pub async fn send_png(&self, chat: i64, name: &str, png: Vec<u8>, caption: &str) -> Result<i64, TelegramError> {
        let part = reqwest::multipart::Part::bytes(png)
            .file_name(name.to_string())
            .mime_str("image/png")
            .map_err(|e| TelegramError::BadRequest(e.without_url().to_string()))?;
        let form = reqwest::multipart::Form::new()
            .text("chat_id", chat.to_string())
            .text("caption", caption.to_string())
            .text("parse_mode", "HTML")
            .part("photo", part);
        let resp = self.http.post(self.url("sendPhoto")).multipart(form).send().await.map_err(transport)?;
        let r = Self::envelope(resp, chat).await?;
        Ok(r["message_id"].as_i64().unwrap_or_default())
    }

    /// The bot's own username (getMe), to tell `/report@this_bot` from `/report@other_bot`.
    pub async fn username(&self) -> Result<String, TelegramError> {
        let r = self.call("getMe", &json!({})).await?;
        Ok(r["username"].as_str().unwrap_or_default().to_string())
    }

    /// Long polling: updates after `offset`, waiting up to `timeout` seconds for one.
    pub async fn updates(&self, offset: i64, timeout: u64) -> Result<Vec<Value>, TelegramError> {
        let r = self
            .call("getUpdates", &json!({"offset": offset, "timeout": timeout, "allowed_updates": ["message"]}))
            .await?;
        Ok(r.as_array().cloned().unwrap_or_default())
    }

    /// Delivers one message at most once: flood control (429) and refused connections, which
    /// deliver nothing, are waited out (up to `patience`); a 5xx or a timeout, which may have
    /// delivered it, is not repeated (a seller should not get the summary twice).
    pub async fn deliver(&self, chat: i64, html: &str, patience: Duration) -> Result<i64, TelegramError> {
        let deadline = Instant::now() + patience;
        let mut pause = Duration::from_secs(1);
        loop {
            match self.send(chat, html).await {
                Err(e @ (TelegramError::RetryAfter(_) | TelegramError::Unreachable(_)))
                    if Instant::now() < deadline =>
                {
                    let wait = match e {
                        TelegramError::RetryAfter(s) => Duration::from_secs(s) + Duration::from_millis(200),
                        _ => pause,
                    };
                    pause = (pause * 2).min(Duration::from_secs(30));
                    tracing::warn!(error = %e, wait_ms = wait.as_millis() as u64, "Telegram: retrying the message");
                    tokio::time::sleep(wait.min(deadline.saturating_duration_since(Instant::now()))).await;
                }
                other => return other,
            }
        }
    }
}

fn transport(e: reqwest::Error) -> TelegramError {
    // `without_url`: the URL carries the token.
    if e.is_connect() {
        TelegramError::Unreachable(e.without_url().to_string())
    } else {
        TelegramError::Unavailable(e.without_url().to_string())
    }
}

/// Where and how progress goes.
#[derive(Clone)]
pub struct ProgressTarget {
    pub bot: Bot,
    pub chat: i64,
    pub title: String,
    pub lang: Lang,
    pub tz: chrono_tz::Tz,
    /// At least this between two edits (3 s; tests may not go lower than what they assert).
    pub interval: Duration,
}

/// Tries of the final progress state after a 5xx or no answer, beyond the first.
const FINAL_RETRIES: u32 = 3;

/// What the progress notifier did, for the caller and tests.
#[derive(Debug, Default, Clone)]
pub struct ProgressOutcome {
    pub message: Option<i64>,
    pub sends: u64,
    pub edits: u64,
    pub failures: u64,
    /// Whether the run finished (`RunFinished` arrived) and with what.
    pub finished: Option<bool>,
}

/// Consumes a run's events and keeps one message current: sent at the first event, then edited
/// no more than once per `interval` with only the latest text; the last state is always sent.
pub async fn progress(mut rx: UnboundedReceiver<Event>, t: ProgressTarget) -> ProgressOutcome {
    let mut p = Progress::new(chrono::Utc::now());
    let mut out = ProgressOutcome::default();
    // Edits follow progress, not the clock: a quiet minute (waiting on a rate limit) makes none.
    let (mut version, mut sent_version) = (0u64, None::<u64>);
    let mut next_edit = Instant::now();
    let mut open = true;
    let mut final_retries = 0;
    loop {
        let dirty = sent_version != Some(version);
        tokio::select! {
            // Everything already waiting is folded in first, so a burst becomes one edit.
            ev = rx.recv(), if open => {
                match ev {
                    Some(e) => {
                        if let Event::RunFinished { ok } = e {
                            out.finished = Some(ok);
                            open = false;
                        }
                        p.apply(&e, chrono::Utc::now());
                        version += 1;
                    }
                    None => open = false,
                }
                continue;
            }
            _ = tokio::time::sleep_until(next_edit), if dirty => {}
            else => break,
        }
        let text = progress_text(&t.title, &p, out.finished, t.lang, t.tz);
        let result = match out.message {
            None => t.bot.send(t.chat, &text).await.map(|id| {
                out.message = Some(id);
                out.sends += 1;
            }),
            Some(id) => match t.bot.edit(t.chat, id, &text).await {
                Ok(()) | Err(TelegramError::NotModified) => {
                    out.edits += 1;
                    Ok(())
                }
                // Deleted by someone: continue in a fresh message.
                Err(TelegramError::MessageGone(_)) => t.bot.send(t.chat, &text).await.map(|id| {
                    out.message = Some(id);
                    out.sends += 1;
                }),
                Err(e) => Err(e),
            },
        };
        // Counted from Telegram's answer, not from sending: a slow call cannot bring the next
        // one closer than the interval on Telegram's side.
        next_edit = Instant::now() + t.interval;
        match result {
            Ok(()) => sent_version = Some(version),
            Err(TelegramError::RetryAfter(s)) => {
                out.failures += 1;
                if !open && s > 60 {
                    break; // the run is over; its summary is a message of its own
                }
                next_edit = Instant::now() + Duration::from_secs(s) + Duration::from_millis(200);
            }
            // The final state is the one the seller reads: an outage of Telegram's (5xx, no
            // answer) is given a few more tries, an interval apart, before the notifier gives up.
            Err(e @ (TelegramError::Unavailable(_) | TelegramError::Unreachable(_)))
                if !open && final_retries < FINAL_RETRIES =>
            {
                out.failures += 1;
                final_retries += 1;
                tracing::warn!(error = %e, "Telegram: the final progress state not delivered; trying again");
            }
            Err(e) => {
                out.failures += 1;
                tracing::warn!(error = %e, "Telegram progress message not updated");
                if matches!(e, TelegramError::Unauthorized(_) | TelegramError::Forbidden { .. }) || !open {
                    // Permanent for this chat, or the run is over: stop trying, drain the rest.
                    while rx.recv().await.is_some() {}
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped_ampersand_first() {
        assert_eq!(escape("a < b & c > \"d\""), "a &lt; b &amp; c &gt; &quot;d&quot;");
        assert_eq!(escape("&lt;"), "&amp;lt;", "no double meaning");
    }

    #[test]
    fn bars_round_down_and_stay_ten_wide() {
        assert_eq!(bar(8, 10), "████████░░ 80%");
        assert_eq!(bar(0, 0), "░░░░░░░░░░ 0%");
        assert_eq!(bar(3, 3), "██████████ 100%");
        assert_eq!(bar(1, 3), "███░░░░░░░ 33%");
    }

    #[test]
    fn long_text_is_cut_at_a_line_within_the_limit() {
        let html: String = (0..500).map(|i| format!("<b>line</b> {i} &amp; more\n")).collect();
        let cut = fit(&html, MAX_TEXT);
        assert!(visible_len(&cut) <= MAX_TEXT, "{}", visible_len(&cut));
        assert!(cut.ends_with('…') && cut.contains("<b>line</b> 0 &amp; more\n"));
        assert_eq!(visible_len("<b>a</b>&amp;б"), 3);
    }
}
