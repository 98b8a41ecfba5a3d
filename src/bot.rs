//! `mpetl bot`: Telegram commands by long polling. `/report <from> <to>` runs a backfill of that
//! period with live progress in the chat and its summary after; `/status` lists recent runs;
//! `/help`. Only allow-listed chats are served (and, when `telegram.allowed_users` is set, only
//! those users may `/report` or `/status`); a period longer than `telegram.max_report_days` is
//! refused; commands addressed to another bot (`/report@other_bot`) and plain talk in groups are
//! ignored. One report runs at a time (a second is refused with the running one named), so one
//! account is never fetched twice at once.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, TelegramConfig};
use crate::notify::telegram::{Bot, Lang, TelegramError, escape};
use crate::pipeline::plan::{Period, parse_date};
use crate::pipeline::{BackfillRequest, Runner};
use crate::state::{StateError, StateStore};

#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error("[telegram] is not configured. Fix: add [telegram] with token (and allowed_chats) to the config")]
    NotConfigured,
    #[error(transparent)]
    Telegram(#[from] TelegramError),
    #[error(transparent)]
    State(#[from] StateError),
}

fn say(lang: Lang, ru: &str, en: &str) -> String {
    if lang == Lang::Ru { ru.to_string() } else { en.to_string() }
}

/// Serves until `shutdown`; a running report is stopped at its next page and waited for.
pub async fn serve(
    cfg: Config,
    store: Arc<dyn StateStore>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), BotError> {
    let tg = cfg.telegram.clone().ok_or(BotError::NotConfigured)?;
    let bot = Bot::new(&tg.api_base, tg.token.clone());
    let me = match bot.username().await {
        Ok(name) => Some(name),
        Err(e @ TelegramError::Unauthorized(_)) => return Err(e.into()),
        Err(e) => {
            tracing::warn!(error = %e, "Telegram getMe failed: commands addressed to a bot by name are ignored");
            None
        }
    };
    // Updates already handled are not served again after a restart.
    let mut offset: i64 = store.mark("bot:offset")?.and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut refused = HashSet::new();
    // Held while a /report runs.
    let running: Arc<tokio::sync::Mutex<()>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let cfg = Arc::new(cfg);
    tokio::pin!(shutdown);
    loop {
        let updates = tokio::select! {
            _ = &mut shutdown => break,
            u = bot.updates(offset, 25) => u,
        };
        let updates = match updates {
            Ok(u) => u,
            Err(e @ TelegramError::Unauthorized(_)) => return Err(e.into()),
            Err(e) => {
                tracing::warn!(error = %e, "getUpdates failed; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        for u in updates {
            offset = offset.max(u["update_id"].as_i64().unwrap_or(0) + 1);
            store.set_mark("bot:offset", &offset.to_string())?;
            let m = &u["message"];
            let (Some(chat), Some(text)) = (m["chat"]["id"].as_i64(), m["text"].as_str()) else {
                continue;
            };
            let user = m["from"]["id"].as_i64().unwrap_or_default();
            let private = m["chat"]["type"].as_str() == Some("private");
            if !tg.allowed_chats.contains(&chat) {
                tracing::warn!(chat, "a chat that is not in telegram.allowed_chats wrote to the bot");
                if refused.insert(chat) {
                    let msg = say(
                        tg.lang,
                        "Извините, этот бот обслуживает только чаты из списка владельца. Ваш chat id передан в журнал.",
                        "Sorry, this bot serves only its owner's chats. Your chat id was logged.",
                    );
                    let _ = bot.send(chat, &escape(&msg)).await;
                }
                continue;
            }
            let Some(command) = command(text, me.as_deref()) else {
                // Another bot's command, or talk: a group's members talk among themselves.
                if private && !text.starts_with('/') {
                    let _ = bot.send(chat, &help(tg.lang)).await;
                }
                continue;
            };
            if !tg.allowed_users.is_empty() && !tg.allowed_users.contains(&user) && command != "help" {
                tracing::warn!(chat, user, "a user who is not in telegram.allowed_users sent a command");
                let msg = say(
                    tg.lang,
                    &format!(
                        "Эта команда доступна только пользователям из списка владельца; ваш id {user} передан в журнал."
                    ),
                    &format!("This command is for the owner's listed users only; your user id {user} was logged."),
                );
                let _ = bot.send(chat, &escape(&msg)).await;
                continue;
            }
            let words: Vec<&str> = text.split_whitespace().skip(1).collect();
            let reply = handle(&cfg, &tg, store.clone(), chat, command, &words, &running, &stop).await;
            if let Err(e) = bot.send(chat, &reply).await {
                tracing::warn!(error = %e, "reply not sent");
            }
        }
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = running.lock().await;
    Ok(())
}

/// The command word of `text` (without the slash) when it is meant for this bot: `/report`,
/// `/report@this_bot`; not `/report@other_bot` (a group holds several bots), not plain talk.
fn command<'a>(text: &'a str, me: Option<&str>) -> Option<&'a str> {
    let word = text.split_whitespace().next()?.strip_prefix('/')?;
    match word.split_once('@') {
        None => Some(word),
        Some((w, to)) => me.is_some_and(|m| m.eq_ignore_ascii_case(to)).then_some(w),
    }
}

fn help(lang: Lang) -> String {
    say(
        lang,
        "Команды:\n/report ГГГГ-ММ-ДД ГГГГ-ММ-ДД — отчёт за период\n/status — последние запуски\n/help — эта справка",
        "Commands:\n/report YYYY-MM-DD YYYY-MM-DD — a report for the period\n/status — recent runs\n/help — this help",
    )
}

#[allow(clippy::too_many_arguments)]
async fn handle(
    cfg: &Arc<Config>,
    tg: &TelegramConfig,
    store: Arc<dyn StateStore>,
    chat: i64,
    command: &str,
    words: &[&str],
    running: &Arc<tokio::sync::Mutex<()>>,
    stop: &Arc<std::sync::atomic::AtomicBool>,
) -> String {
    let lang = tg.lang;
    match command {
        "report" => {
            let [a, b, ..] = words else {
                return say(lang, "Формат: /report 2026-01-01 2026-01-31", "Usage: /report 2026-01-01 2026-01-31");
            };
            let period = match (parse_date(a), parse_date(b)) {
                (Ok(f), Ok(t)) => match Period::new(f, t) {
                    Ok(p) => p,
                    Err(e) => return escape(&e.to_string()),
                },
                (Err(e), _) | (_, Err(e)) => return escape(&e),
            };
            let days = (period.to - period.from).num_days() + 1;
            if days > i64::from(tg.max_report_days) {
                let max = tg.max_report_days;
                return escape(&say(
                    lang,
                    &format!(
                        "Период в {days} дн. длиннее разрешённых {max} (telegram.max_report_days). Выберите период короче или запустите mpetl backfill."
                    ),
                    &format!(
                        "The period of {days} days is longer than the {max} allowed (telegram.max_report_days). Pick a shorter one, or run mpetl backfill."
                    ),
                ));
            }
            let Ok(slot) = running.clone().try_lock_owned() else {
                return say(
                    lang,
                    "Отчёт уже готовится; дождитесь его (/status).",
                    "A report is already running; wait for it (/status).",
                );
            };
            let (cfg, tg, store, stop) = (cfg.clone(), tg.clone(), store.clone(), stop.clone());
            tokio::spawn(async move {
                report(&cfg, &tg, store, chat, period, stop).await;
                drop(slot);
            });
            escape(&say(
                lang,
                &format!("Готовлю отчёт за {} — {}; прогресс ниже.", period.from, period.to),
                &format!("Building the report for {} — {}; progress below.", period.from, period.to),
            ))
        }
        "status" => {
            let runs = match store.runs(5) {
                Ok(r) => r,
                Err(e) => return escape(&e.to_string()),
            };
            if runs.is_empty() {
                return say(lang, "Запусков ещё не было.", "No runs yet.");
            }
            let now = chrono::Utc::now();
            let stale = chrono::Duration::seconds(cfg.state.lease_secs as i64 + 5);
            let mut out = String::from("<code>");
            for r in runs {
                let (done, total) = r.progress.chunks();
                let status = r.effective_status(now, stale).name();
                out.push_str(&escape(&format!("{} {} {}..{} {status} {done}/{total}\n", r.id, r.kind, r.from, r.to)));
            }
            out.push_str("</code>");
            out
        }
        _ => help(lang),
    }
}

/// A backfill of `period` with progress in `chat`, then its summary.
async fn report(
    cfg: &Config,
    tg: &TelegramConfig,
    store: Arc<dyn StateStore>,
    chat: i64,
    period: Period,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    let title = format!("mpetl · /report {} — {}", period.from, period.to);
    let (events, progress) = crate::schedule::telegram_progress(tg, chat, title, cfg.timezone);
    let runner = Runner::with_store(cfg.clone(), store.clone(), events).with_stop_flag(stop);
    let result = runner.backfill(&BackfillRequest { kind: "bot".into(), ..BackfillRequest::new(period) }).await;
    drop(runner);
    let _ = progress.await;
    let bot = Bot::new(&tg.api_base, tg.token.clone());
    match result {
        Ok(r) => {
            if let Err(e) = crate::schedule::post_summary(cfg, store.as_ref(), tg, chat, None, &r.run_id, period).await
            {
                tracing::warn!(error = %e, "summary not posted");
            }
        }
        Err(e) => {
            let _ = bot.send(chat, &format!("❌ {}", escape(&e.to_string()))).await;
        }
    }
}
