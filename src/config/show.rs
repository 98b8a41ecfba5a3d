//! The effective configuration as `mpetl config show` prints it: every key with its value and
//! where the value came from (the file, an environment variable, or the default). Secrets are
//! shown as `***` when set, never in any other form.

use super::{Config, TaxMode};

/// One key of the effective configuration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Setting {
    /// Dotted key, as in the file (`fetch.time_scale`, `accounts.main.wb.token`).
    pub key: String,
    /// The value as TOML would write it; `***` for a secret that is set.
    pub value: String,
    /// `file <path>`, `env <VARIABLE>`, or `default`.
    pub source: String,
}

const REDACTED: &str = "\"***\"";

impl Config {
    /// Every key in effect, in the file's order of sections.
    pub fn effective(&self) -> Vec<Setting> {
        let mut out = Vec::new();
        let mut put = |key: String, value: String| {
            // A secret read from a file was set by its `_file` key.
            let source = self
                .sources
                .get(&key)
                .or_else(|| self.sources.get(&format!("{key}_file")))
                .cloned()
                .unwrap_or_else(|| "default".into());
            out.push(Setting { key, value, source });
        };
        let text = |s: &str| toml::Value::String(s.to_string()).to_string();
        let path = |p: &std::path::Path| text(&p.display().to_string());
        let secret = |set: bool| if set { REDACTED.to_string() } else { "(not set)".to_string() };
        put("data_dir".into(), path(&self.data_dir));
        put("timezone".into(), text(self.timezone.name()));
        put("costs_file".into(), path(&self.costs_file));
        put(
            "operations_file".into(),
            self.operations_file.as_deref().map_or_else(|| "(built in: data/operations.toml)".into(), path),
        );
        let e = &self.endpoints;
        for (k, v) in [
            ("wb_statistics", &e.wb_statistics),
            ("wb_finance", &e.wb_finance),
            ("wb_advert", &e.wb_advert),
            ("wb_content", &e.wb_content),
            ("ozon", &e.ozon),
        ] {
            put(format!("endpoints.{k}"), text(v));
        }
        if let Ok(toml::Value::Table(t)) = toml::Value::try_from(&self.fetch) {
            for (k, v) in t {
                put(format!("fetch.{k}"), v.to_string());
            }
        }
        for (bucket, q) in &self.limits {
            put(format!("limits.{bucket}.period_secs"), q.period.as_secs_f64().to_string());
            put(format!("limits.{bucket}.burst"), q.burst.to_string());
        }
        put("state.redis_url".into(), secret(self.redis_url.is_some()));
        put("state.namespace".into(), text(&self.state_namespace));
        put("state.lease_secs".into(), self.state.lease_secs.to_string());
        put("state.reconnect_secs".into(), self.state.reconnect_secs.to_string());
        put("state.fan_out".into(), self.state.fan_out.to_string());
        let mode = match self.tax.mode {
            TaxMode::None => "none",
            TaxMode::Revenue => "revenue",
            TaxMode::Profit => "profit",
        };
        put("tax.mode".into(), text(mode));
        put("tax.rate".into(), self.tax.rate.to_string());
        if let Some(t) = &self.telegram {
            let ids = |v: &[i64]| format!("[{}]", v.iter().map(i64::to_string).collect::<Vec<_>>().join(", "));
            put("telegram.token".into(), REDACTED.into());
            put("telegram.api_base".into(), text(&t.api_base));
            let lang = match t.lang {
                crate::notify::telegram::Lang::Ru => "ru",
                crate::notify::telegram::Lang::En => "en",
            };
            put("telegram.language".into(), text(lang));
            put("telegram.allowed_chats".into(), ids(&t.allowed_chats));
            put("telegram.allowed_users".into(), ids(&t.allowed_users));
            put("telegram.max_report_days".into(), t.max_report_days.to_string());
        }
        for a in &self.accounts {
            let k = |rest: &str| format!("accounts.{}.{rest}", a.id);
            put(k("name"), text(&a.name));
            if let Some(wb) = &a.wb {
                put(k("wb.token"), secret(wb.token.is_some()));
            }
            if let Some(o) = &a.ozon {
                put(k("ozon.client_id"), o.client_id.as_deref().map_or_else(|| "(not set)".into(), text));
                put(k("ozon.api_key"), secret(o.api_key.is_some()));
            }
        }
        out
    }
}

/// The settings as lines `key = value  # source`, aligned.
pub fn render(settings: &[Setting]) -> String {
    let width = settings.iter().map(|s| s.key.len() + 3 + s.value.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for s in settings {
        let line = format!("{} = {}", s.key, s.value);
        let pad = width.saturating_sub(line.chars().count());
        out.push_str(&format!("{line}{}  # {}\n", " ".repeat(pad), s.source));
    }
    out
}
