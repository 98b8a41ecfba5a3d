//! What the emulator checks of a call as Telegram would: HTML, visible length, the multipart
//! form and a photo's size.

use axum::extract::Multipart;
use axum::http::HeaderMap;
use serde_json::Value;

/// Telegram's HTML check, reduced to what a notifier can get wrong: unknown tags, and `&`, `<`,
/// `>` that are not markup.
pub(super) fn html_error(text: &str) -> Option<String> {
    const TAGS: [&str; 11] = ["b", "strong", "i", "em", "u", "s", "code", "pre", "a", "blockquote", "tg-spoiler"];
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'<' => {
                let end = text[i..].find('>').map(|e| i + e)?;
                let inner = text[i + 1..end].trim_start_matches('/');
                let name = inner.split([' ', '=']).next().unwrap_or_default();
                if !TAGS.contains(&name) {
                    return Some(format!(
                        "Bad Request: can't parse entities: Unsupported start tag \"{name}\" at byte offset {i}"
                    ));
                }
                i = end;
            }
            b'>' => return Some(format!("Bad Request: can't parse entities: unexpected '>' at byte offset {i}")),
            b'&' => {
                let rest = &text[i..];
                let entity = rest.find(';').map(|e| &rest[..=e]).unwrap_or("&");
                let known = ["&lt;", "&gt;", "&amp;", "&quot;"].contains(&entity) || entity.starts_with("&#");
                if !known {
                    return Some(format!("Bad Request: can't parse entities: unsupported entity at byte offset {i}"));
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The length Telegram checks against its limits: the text after its HTML is parsed (tags
/// dropped, each entity one character), counted in UTF-16 code units. The emulator's own reading
/// of the Bot API docs, not mpetl's, so that a miscount in mpetl shows as a rejected message.
pub(super) fn visible(text: &str) -> usize {
    let mut n = 0;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '<'
            && let Some(end) = rest.find('>')
        {
            rest = &rest[end + 1..];
            continue;
        }
        if c == '&'
            && let Some(end) = rest.find(';')
        {
            let name = &rest[1..end];
            if matches!(name, "lt" | "gt" | "amp" | "quot") || name.starts_with('#') {
                n += 1;
                rest = &rest[end + 1..];
                continue;
            }
        }
        n += c.len_utf16();
        rest = &rest[c.len_utf8()..];
    }
    n
}

/// What Telegram says of a photo it would not take: over 10 MB, width + height over 10 000, or a
/// side more than 20 times the other (Bot API, sendPhoto). Only PNG is read here.
pub(super) fn photo_error(bytes: &[u8]) -> Option<String> {
    if bytes.len() > 10 * 1024 * 1024 {
        return Some("Bad Request: PHOTO_SAVE_FILE_INVALID".into());
    }
    if bytes.len() < 24 || !bytes.starts_with(b"\x89PNG\r\n\x1a\n") || &bytes[12..16] != b"IHDR" {
        return Some("Bad Request: IMAGE_PROCESS_FAILED".into());
    }
    let dim = |at: usize| u64::from(u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]));
    let (w, h) = (dim(16), dim(20));
    if w == 0 || h == 0 || w + h > 10_000 || w > 20 * h || h > 20 * w {
        return Some("Bad Request: PHOTO_INVALID_DIMENSIONS".into());
    }
    None
}

pub(super) async fn parse_multipart(
    headers: &HeaderMap,
    body: axum::body::Bytes,
) -> Result<(Value, Option<(String, Vec<u8>)>), String> {
    let req = axum::http::Request::builder()
        .header(axum::http::header::CONTENT_TYPE, headers[axum::http::header::CONTENT_TYPE].clone())
        .body(axum::body::Body::from(body))
        .map_err(|e| e.to_string())?;
    let mut mp =
        <Multipart as axum::extract::FromRequest<()>>::from_request(req, &()).await.map_err(|e| e.to_string())?;
    let mut params = serde_json::Map::new();
    let mut file = None;
    while let Some(field) = mp.next_field().await.map_err(|e| e.to_string())? {
        let name = field.name().unwrap_or_default().to_string();
        match field.file_name().map(String::from) {
            Some(fname) => {
                // The part's name says what the file is (`photo`, `document`): kept for the check.
                params.insert(name, Value::String(fname.clone()));
                file = Some((fname, field.bytes().await.map_err(|e| e.to_string())?.to_vec()));
            }
            None => {
                let v = field.text().await.map_err(|e| e.to_string())?;
                params.insert(name, Value::String(v));
            }
        }
    }
    Ok((Value::Object(params), file))
}
