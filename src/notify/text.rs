//! What a chat shows: Telegram's HTML (escaped, cut to its limit as Telegram counts), the
//! language, and the live progress message's text.

use super::telegram::MAX_TEXT;
use crate::events::Stage;
use crate::progress::Progress;

/// Escapes text for Telegram's HTML parse mode (`&` first).
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Cuts HTML made of whole lines to Telegram's limit (visible characters, tags aside), at a line
/// boundary, with a note of what was cut.
pub fn fit(html: &str, limit: usize) -> String {
    if visible_len(html) <= limit {
        return html.to_string();
    }
    let mut out = String::new();
    let tail = "\n…";
    for line in html.lines() {
        if visible_len(&out) + visible_len(line) + 1 + tail.chars().count() > limit {
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.push('…');
    out
}

/// Characters Telegram counts: tags removed, entities as one.
pub fn visible_len(html: &str) -> usize {
    let mut n = 0;
    let mut chars = html.chars();
    while let Some(c) = chars.next() {
        match c {
            '<' => {
                for c in chars.by_ref() {
                    if c == '>' {
                        break;
                    }
                }
            }
            '&' => {
                for c in chars.by_ref() {
                    if c == ';' {
                        break;
                    }
                }
                n += 1;
            }
            _ => n += c.encode_utf16(&mut [0; 2]).len(),
        }
    }
    n
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Ru,
    En,
}

impl std::str::FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Lang, String> {
        match s.trim() {
            "ru" => Ok(Lang::Ru),
            "en" => Ok(Lang::En),
            other => Err(format!("unknown language '{other}': use ru or en")),
        }
    }
}

fn stage_name(s: Stage, lang: Lang) -> &'static str {
    match (s, lang) {
        (Stage::Plan, Lang::Ru) => "план",
        (Stage::Wb, _) => "Wildberries",
        (Stage::Ozon, _) => "Ozon",
        (Stage::Metrics, Lang::Ru) => "метрики",
        (Stage::Plan, Lang::En) => "plan",
        (Stage::Metrics, Lang::En) => "metrics",
    }
}

/// `████████░░ 80%`
pub fn bar(done: u64, total: u64) -> String {
    let pct = (done * 100).checked_div(total).map_or(0, |p| p.min(100));
    let full = (pct / 10) as usize;
    format!("{}{} {pct}%", "█".repeat(full), "░".repeat(10 - full))
}

fn duration_text(secs: i64, lang: Lang) -> String {
    let (m, s) = (secs / 60, secs % 60);
    match (lang, m) {
        (Lang::Ru, 0) => format!("{s} с"),
        (Lang::Ru, _) => format!("{m} мин {s} с"),
        (Lang::En, 0) => format!("{s} s"),
        (Lang::En, _) => format!("{m} min {s} s"),
    }
}

/// The progress message: a bar per stage, chunks, ETA, cache hits, retries, errors, update time.
pub fn progress_text(title: &str, p: &Progress, finished: Option<bool>, lang: Lang, tz: chrono_tz::Tz) -> String {
    let mut out = format!("<b>{}</b>\n", escape(title));
    let current = Stage::ALL.iter().find(|s| !p.stage(**s).finished);
    match (finished, lang) {
        (Some(true), Lang::Ru) => out.push_str("✅ Готово\n"),
        (Some(true), Lang::En) => out.push_str("✅ Done\n"),
        (Some(false), Lang::Ru) => out.push_str("❌ Остановлено с ошибками\n"),
        (Some(false), Lang::En) => out.push_str("❌ Stopped with errors\n"),
        (None, _) => {
            if let Some(s) = current {
                let word = if lang == Lang::Ru { "Этап" } else { "Stage" };
                out.push_str(&format!("{word} {}/4: {}\n", s.number(), stage_name(*s, lang)));
            }
        }
    }
    out.push_str("<code>");
    for s in Stage::ALL {
        let st = p.stage(s);
        out.push_str(&format!(
            "{:<11} {} {}/{}\n",
            stage_name(s, lang),
            bar(st.done + st.failed, st.total),
            st.done,
            st.total
        ));
    }
    out.push_str("</code>");
    let now = chrono::Utc::now();
    let (cache, retries, errors, eta, updated) = match lang {
        Lang::Ru => ("Из кэша", "Повторы", "Ошибки", "Осталось ≈", "Обновлено"),
        Lang::En => ("Cached", "Retries", "Errors", "Left ≈", "Updated"),
    };
    out.push_str(&format!("{cache}: {} · {retries}: {} · {errors}: {}\n", p.cache_hits(), p.retries, p.errors));
    if finished.is_none()
        && let Some(d) = p.eta(now)
    {
        out.push_str(&format!("{eta} {}\n", duration_text(d.num_seconds(), lang)));
    }
    for e in p.error_texts.iter().take(3) {
        out.push_str(&format!("⚠️ {}\n", escape(e)));
    }
    out.push_str(&format!("{updated} {}", now.with_timezone(&tz).format("%H:%M:%S")));
    fit(&out, MAX_TEXT)
}
