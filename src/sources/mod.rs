//! Marketplace clients: fetch pages, decode them strictly, normalise rows for the lake.

pub mod decode;
pub mod ozon;
pub mod pages;
pub mod wb;

use crate::dataset::Dataset;

/// Who was asked what, for error messages.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub account: String,
    pub dataset: Dataset,
}

impl std::fmt::Display for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} account '{}', {}", self.dataset.marketplace().title(), self.account, self.dataset.endpoint())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{ctx}: the marketplace rejected the credentials (HTTP {status}: {message}). Fix: {fix}")]
    Auth { ctx: Ctx, status: u16, message: String, fix: String },
    #[error("{ctx}: HTTP {status}: {message}. {}", what_to_do(*status))]
    Api { ctx: Ctx, status: u16, message: String },
    #[error("{ctx}: no answer ({detail})")]
    Transport { ctx: Ctx, detail: String },
    #[error("{ctx}: the response body is cut off or is not the expected JSON ({detail}); nothing from it was stored")]
    Decode { ctx: Ctx, detail: String },
    #[error(
        "{ctx}: the answer is JSON of another shape than mpetl reads: field {field}: {detail}; nothing from it was stored and it was not asked again. Fix: the marketplace may have changed its API: update mpetl, or report this message to the mpetl maintainers"
    )]
    Schema { ctx: Ctx, field: String, detail: String },
    #[error("{ctx}: {detail}")]
    Stuck { ctx: Ctx, detail: String },
    #[error("{0}")]
    GaveUp(Box<crate::http::GaveUp<SourceError>>),
    #[error(
        "{ctx}: the request cannot be sent ({detail}). Fix: check the account's token or key in the config for stray characters"
    )]
    Request { ctx: Ctx, detail: String },
    #[error(
        "{ctx}: the marketplace asked to wait {wait} before asking again, more than fetch.max_retry_wait_secs ({max_secs} s); nothing more was asked. Fix: run the same command later (it resumes), or raise fetch.max_retry_wait_secs"
    )]
    WaitTooLong { ctx: Ctx, wait: String, max_secs: u64 },
    #[error("{ctx}: stopped while waiting to ask")]
    Stopped { ctx: Ctx },
}

/// Sends `req` with retries: `decode` reads any answer it understands (a 2xx always; a special
/// status such as fullstats' "no statistics" 400 when it wants), anything else is classified:
/// 429/408/5xx, no answer and a body cut off are repeated; a body of another shape and the rest
/// (`refused`) are not.
pub(crate) async fn call<T>(
    net: &crate::http::Net,
    limiter: &crate::http::Limiter,
    ctx: &Ctx,
    req: reqwest::RequestBuilder,
    decode: impl Fn(&crate::http::Body) -> Option<Result<T, decode::DecodeError>>,
    refused: impl Fn(&crate::http::Body) -> SourceError,
) -> Result<T, SourceError> {
    use crate::http::{Failure, header_secs, send, transient};
    // A builder that holds an error (a header value that cannot be sent) cannot be cloned:
    // say what it is once, before any attempt, instead of failing each one.
    if req.try_clone().is_none() {
        let detail = req.build().err().map_or_else(|| "its body is a stream".to_string(), |e| e.to_string());
        return Err(SourceError::Request { ctx: ctx.clone(), detail });
    }
    let attempt = || {
        let req = req.try_clone();
        let (decode, refused) = (&decode, &refused);
        async move {
            let Some(req) = req else {
                return Err(Failure::Permanent(SourceError::Request {
                    ctx: ctx.clone(),
                    detail: "not cloneable".into(),
                }));
            };
            let body = match send(req).await {
                Ok(b) => b,
                Err(e) => return Err(Failure::Retry { hint: None, error: SourceError::transport(ctx, e) }),
            };
            crate::failpoint::hit("fetched");
            // Decoding a page of 100 000 rows takes a while: do it off the async workers, so the
            // requests of other buckets leave when their limiter says, not when a worker frees up.
            let decoded = match tokio::runtime::Handle::current().runtime_flavor() {
                tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(|| decode(&body)),
                _ => decode(&body),
            };
            match decoded {
                Some(Ok(v)) => return Ok(v),
                // Asking again gets the same shape: at WB's 1/min, six tries lost six minutes.
                Some(Err(decode::DecodeError::Schema { field, detail })) => {
                    return Err(Failure::Permanent(SourceError::Schema { ctx: ctx.clone(), field, detail }));
                }
                Some(Err(decode::DecodeError::Cut(e))) => {
                    return Err(Failure::Retry { hint: None, error: SourceError::decode(ctx, e) });
                }
                None => {}
            }
            if transient(body.status) {
                // WB says how long to wait in X-Ratelimit-Retry, Ozon in Retry-After; Ozon's
                // "Circle is open" blocks the method for minutes.
                let circuit = String::from_utf8_lossy(&body.bytes).contains("Circle is open");
                let hint = if circuit {
                    Some(net.retry.circuit_open())
                } else {
                    header_secs(&body.headers, "x-ratelimit-retry")
                        .or_else(|| header_secs(&body.headers, "retry-after"))
                };
                return Err(Failure::Retry { hint, error: refused(&body) });
            }
            Err(Failure::Permanent(refused(&body)))
        }
    };
    let on_retry = |e: &SourceError, wait: std::time::Duration| {
        net.retries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::warn!(error = %e, wait_ms = wait.as_millis() as u64, "retrying");
    };
    match net.retry.run(limiter, attempt, on_retry).await {
        Ok(v) => Ok(v),
        // A first-time refusal is just itself; anything that was retried says how often.
        Err(Failure::Permanent(g)) if g.attempts == 1 => Err(g.source),
        Err(Failure::Permanent(g)) | Err(Failure::Retry { error: g, .. }) => Err(SourceError::GaveUp(Box::new(g))),
        Err(Failure::Stopped) => Err(SourceError::Stopped { ctx: ctx.clone() }),
        Err(Failure::WaitTooLong { wait, .. }) => Err(SourceError::WaitTooLong {
            ctx: ctx.clone(),
            // `inf`, or more than a Duration holds, arrives as Duration::MAX.
            wait: if wait == std::time::Duration::MAX { "forever".into() } else { format!("{} s", wait.as_secs()) },
            max_secs: net.retry.max_wait.as_secs(),
        }),
    }
}

/// What a seller or operator can do about a refusal that is not about credentials.
fn what_to_do(status: u16) -> &'static str {
    match status {
        400 => {
            "The marketplace refused the request as invalid: its API may have changed; report this message to the mpetl maintainers"
        }
        404 => {
            "The endpoint was not found: check the endpoints.* base URLs in the config (the marketplace may have retired this method)"
        }
        409 => "The marketplace reports a conflict: run the same command again later",
        429 => {
            "The marketplace kept limiting the requests: another process may be using the same seller's limit; run again later or share limits through Redis (REDIS_URL)"
        }
        500..=599 => "The marketplace kept failing: run the same command again later; done chunks are kept",
        _ => "Run the same command again later; done chunks are kept",
    }
}

impl SourceError {
    pub fn decode(ctx: &Ctx, e: impl std::fmt::Display) -> SourceError {
        SourceError::Decode { ctx: ctx.clone(), detail: e.to_string() }
    }
    pub fn transport(ctx: &Ctx, e: impl std::fmt::Display) -> SourceError {
        SourceError::Transport { ctx: ctx.clone(), detail: e.to_string() }
    }
}
