//! Marketplace clients: fetch pages, decode them strictly, normalise rows for the lake.

pub mod ozon;
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
    #[error("{ctx}: HTTP {status}: {message}")]
    Api { ctx: Ctx, status: u16, message: String },
    #[error("{ctx}: no answer ({detail})")]
    Transport { ctx: Ctx, detail: String },
    #[error("{ctx}: the response body is cut off or is not the expected JSON ({detail}); nothing from it was stored")]
    Decode { ctx: Ctx, detail: String },
    #[error("{ctx}: {detail}")]
    Stuck { ctx: Ctx, detail: String },
}

impl SourceError {
    pub fn decode(ctx: &Ctx, e: impl std::fmt::Display) -> SourceError {
        SourceError::Decode { ctx: ctx.clone(), detail: e.to_string() }
    }
    pub fn transport(ctx: &Ctx, e: impl std::fmt::Display) -> SourceError {
        SourceError::Transport { ctx: ctx.clone(), detail: e.to_string() }
    }
}
