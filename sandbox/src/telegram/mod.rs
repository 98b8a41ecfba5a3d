//! A Telegram Bot API emulator on 127.0.0.1: `POST /bot<token>/<method>` with JSON or multipart
//! bodies, the real envelope and error texts, per-chat message ids, and every call recorded.
//! Faults are queued per method (429 with `retry_after`, 400s, 5xx); edits that change nothing,
//! edits of unknown messages, texts over 4096 characters and broken HTML fail as Telegram fails.
//! Updates for the bot (`getUpdates`, long polling) are pushed by tests or the demo.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

mod checks;

use checks::{html_error, parse_multipart, photo_error, visible};

/// A fault to answer instead of the next call of a method.
#[derive(Debug, Clone)]
pub enum TgFault {
    RetryAfter(u64),
    NotFound,
    Server,
    BadRequest(String),
}

/// One recorded call.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TgCall {
    pub method: String,
    pub chat: Option<i64>,
    pub message: Option<i64>,
    pub text: Option<String>,
    /// Milliseconds since the emulator started.
    pub at_ms: u64,
    /// The HTTP status answered.
    pub status: u16,
    /// Bytes of an uploaded file, if any.
    pub file_bytes: Option<usize>,
}

#[derive(Debug, Clone, Default)]
pub struct TgMessage {
    pub id: i64,
    pub text: String,
    pub edits: u32,
    pub file: Option<(String, Vec<u8>)>,
}

#[derive(Default)]
struct Inner {
    calls: Vec<TgCall>,
    /// Messages per chat, by id.
    chats: BTreeMap<i64, BTreeMap<i64, TgMessage>>,
    next_id: BTreeMap<i64, i64>,
    faults: BTreeMap<String, VecDeque<TgFault>>,
    updates: Vec<Value>,
    next_update: i64,
}

struct Shared {
    token: String,
    started: Instant,
    inner: Mutex<Inner>,
    arrived: tokio::sync::Notify,
}

/// The running emulator; dropping it stops the server.
pub struct BotApi {
    pub base_url: String,
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// The token the emulator accepts.
pub const BOT_TOKEN: &str = "123456:SANDBOX-bot-token";

impl BotApi {
    pub fn start() -> std::io::Result<BotApi> {
        let shared = Arc::new(Shared {
            token: BOT_TOKEN.to_string(),
            started: Instant::now(),
            inner: Mutex::new(Inner::default()),
            arrived: tokio::sync::Notify::new(),
        });
        let app = Router::new().route("/{bot}/{method}", post(handle)).with_state(shared.clone());
        let (addr, tx) = super::serve_on_own_thread(app, 0, 1, "telegram-emulator")?;
        Ok(BotApi { base_url: format!("http://{addr}"), addr, shared, stop: Some(tx) })
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.shared.inner.lock().expect("emulator lock")
    }

    /// Answer the next `n` calls of `method` with `fault`.
    pub fn inject(&self, method: &str, fault: TgFault, n: usize) {
        let mut i = self.inner();
        let q = i.faults.entry(method.to_string()).or_default();
        q.extend(std::iter::repeat_n(fault, n));
    }

    pub fn calls(&self) -> Vec<TgCall> {
        self.inner().calls.clone()
    }

    /// The messages of a chat as they stand, by id.
    pub fn messages(&self, chat: i64) -> Vec<TgMessage> {
        self.inner().chats.get(&chat).map(|m| m.values().cloned().collect()).unwrap_or_default()
    }

    /// Deletes a message, as a user in the chat could.
    pub fn delete(&self, chat: i64, message: i64) {
        if let Some(c) = self.inner().chats.get_mut(&chat) {
            c.remove(&message);
        }
    }

    /// A user in `chat` writes `text` to the bot: in a private chat, the user is the chat.
    pub fn push_text(&self, chat: i64, text: &str) {
        self.push_text_from(chat, chat, text);
    }

    /// User `user` writes `text` in `chat` (a group when they differ).
    pub fn push_text_from(&self, chat: i64, user: i64, text: &str) {
        let kind = if chat == user { "private" } else { "group" };
        let mut i = self.inner();
        i.next_update += 1;
        let id = i.next_update;
        let at = chrono::Utc::now().timestamp();
        i.updates.push(json!({
            "update_id": id,
            "message": {"message_id": 10_000 + id, "date": at, "chat": {"id": chat, "type": kind},
                        "from": {"id": user, "is_bot": false, "first_name": "Seller"}, "text": text}
        }));
        drop(i);
        self.shared.arrived.notify_waiters();
    }
}

impl Drop for BotApi {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

fn err(status: StatusCode, desc: &str, params: Option<Value>) -> Response {
    let mut body = json!({"ok": false, "error_code": status.as_u16(), "description": desc});
    if let Some(p) = params {
        body["parameters"] = p;
    }
    (status, Json(body)).into_response()
}

fn ok(result: Value) -> Response {
    Json(json!({"ok": true, "result": result})).into_response()
}

async fn handle(
    State(s): State<Arc<Shared>>,
    Path((bot, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let at_ms = s.started.elapsed().as_millis() as u64;
    let multipart = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let (params, file) = if multipart {
        match parse_multipart(&headers, body).await {
            Ok(v) => v,
            Err(e) => return err(StatusCode::BAD_REQUEST, &format!("Bad Request: {e}"), None),
        }
    } else {
        (serde_json::from_slice::<Value>(&body).unwrap_or(json!({})), None)
    };
    let chat = params["chat_id"].as_i64().or_else(|| params["chat_id"].as_str().and_then(|c| c.parse().ok()));
    let message = params["message_id"].as_i64();
    let text = params["text"].as_str().or_else(|| params["caption"].as_str()).map(String::from);
    let method_key = method.to_ascii_lowercase();
    let resp = answer(&s, &bot, &method_key, &params, chat, message, text.clone(), file.clone()).await;
    if method_key != "getupdates" {
        s.inner.lock().expect("emulator lock").calls.push(TgCall {
            method: method.clone(),
            chat,
            message,
            text,
            at_ms,
            status: resp.status().as_u16(),
            file_bytes: file.as_ref().map(|f| f.1.len()),
        });
    }
    resp
}

#[allow(clippy::too_many_arguments)]
async fn answer(
    s: &Arc<Shared>,
    bot: &str,
    method: &str,
    params: &Value,
    chat: Option<i64>,
    message: Option<i64>,
    text: Option<String>,
    file: Option<(String, Vec<u8>)>,
) -> Response {
    if bot.strip_prefix("bot") != Some(s.token.as_str()) {
        return err(StatusCode::UNAUTHORIZED, "Unauthorized", None);
    }
    let fault = s.inner.lock().expect("emulator lock").faults.get_mut(method).and_then(VecDeque::pop_front);
    match fault {
        Some(TgFault::RetryAfter(n)) => {
            return err(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("Too Many Requests: retry after {n}"),
                Some(json!({"retry_after": n})),
            );
        }
        Some(TgFault::Server) => return err(StatusCode::BAD_GATEWAY, "Bad Gateway", None),
        Some(TgFault::NotFound) => {
            return err(StatusCode::BAD_REQUEST, "Bad Request: message to edit not found", None);
        }
        Some(TgFault::BadRequest(d)) => return err(StatusCode::BAD_REQUEST, &d, None),
        None => {}
    }
    match method {
        "getme" => {
            ok(json!({"id": 123456, "is_bot": true, "first_name": "mpetl sandbox", "username": "mpetl_sandbox_bot"}))
        }
        "getupdates" => {
            let offset = params["offset"].as_i64().unwrap_or(0);
            let timeout = params["timeout"].as_u64().unwrap_or(0).min(50);
            let deadline = Instant::now() + Duration::from_secs(timeout);
            loop {
                let notified = s.arrived.notified();
                let found: Vec<Value> = {
                    let mut i = s.inner.lock().expect("emulator lock");
                    // Asking with an offset confirms everything before it.
                    i.updates.retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
                    i.updates.clone()
                };
                if !found.is_empty() || Instant::now() >= deadline {
                    return ok(Value::Array(found));
                }
                let _ = tokio::time::timeout(deadline - Instant::now(), notified).await;
            }
        }
        "sendchataction" => {
            if chat.is_none() {
                return err(StatusCode::BAD_REQUEST, "Bad Request: chat_id is empty", None);
            }
            ok(json!(true))
        }
        "sendmessage" | "senddocument" | "sendphoto" => {
            let Some(chat) = chat else { return err(StatusCode::BAD_REQUEST, "Bad Request: chat_id is empty", None) };
            let text = text.unwrap_or_default();
            let limit = if method == "sendmessage" { 4096 } else { 1024 };
            if method == "sendmessage" && text.is_empty() {
                return err(StatusCode::BAD_REQUEST, "Bad Request: message text is empty", None);
            }
            if visible(&text) > limit {
                return err(StatusCode::BAD_REQUEST, "Bad Request: message is too long", None);
            }
            if params["parse_mode"] == "HTML"
                && let Some(e) = html_error(&text)
            {
                return err(StatusCode::BAD_REQUEST, &e, None);
            }
            if method == "senddocument" && (file.is_none() || params.get("document").is_none()) {
                return err(StatusCode::BAD_REQUEST, "Bad Request: there is no document in the request", None);
            }
            if method == "sendphoto" {
                if file.is_none() || params.get("photo").is_none() {
                    return err(StatusCode::BAD_REQUEST, "Bad Request: there is no photo in the request", None);
                }
                if let Some(e) = file.as_ref().and_then(|(_, b)| photo_error(b)) {
                    return err(StatusCode::BAD_REQUEST, &e, None);
                }
            }
            let mut i = s.inner.lock().expect("emulator lock");
            let id = {
                let n = i.next_id.entry(chat).or_insert(0);
                *n += 1;
                *n
            };
            i.chats.entry(chat).or_default().insert(id, TgMessage { id, text: text.clone(), edits: 0, file });
            ok(
                json!({"message_id": id, "date": chrono::Utc::now().timestamp(), "chat": {"id": chat, "type": "private"}, "text": text}),
            )
        }
        "editmessagetext" => {
            let (Some(chat), Some(id)) = (chat, message) else {
                return err(StatusCode::BAD_REQUEST, "Bad Request: message identifier is not specified", None);
            };
            let text = text.unwrap_or_default();
            if visible(&text) > 4096 {
                return err(StatusCode::BAD_REQUEST, "Bad Request: MESSAGE_TOO_LONG", None);
            }
            if params["parse_mode"] == "HTML"
                && let Some(e) = html_error(&text)
            {
                return err(StatusCode::BAD_REQUEST, &e, None);
            }
            let mut i = s.inner.lock().expect("emulator lock");
            let Some(m) = i.chats.get_mut(&chat).and_then(|c| c.get_mut(&id)) else {
                return err(StatusCode::BAD_REQUEST, "Bad Request: message to edit not found", None);
            };
            if m.text == text {
                return err(
                    StatusCode::BAD_REQUEST,
                    "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
                    None,
                );
            }
            m.text = text.clone();
            m.edits += 1;
            ok(json!({"message_id": id, "chat": {"id": chat, "type": "private"}, "text": text}))
        }
        _ => err(StatusCode::NOT_FOUND, "Not Found", None),
    }
}
