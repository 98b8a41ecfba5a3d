//! The file as written, validated into a [`Config`]: every value range-checked, each refusal
//! naming the key, the value and the fix.

use super::*;

fn tax(raw: RawTax) -> Result<Tax, ConfigError> {
    let mode = match raw.mode.as_deref().unwrap_or("none") {
        "none" => TaxMode::None,
        "revenue" => TaxMode::Revenue,
        "profit" => TaxMode::Profit,
        other => {
            return Err(invalid("tax.mode", other, "use none, revenue (share of revenue) or profit (share of profit)"));
        }
    };
    let rate = match (&raw.rate, mode) {
        (None, TaxMode::None) => rust_decimal::Decimal::ZERO,
        (None, _) => return Err(invalid("tax.rate", "", "set the rate as a fraction, e.g. rate = \"0.06\" for 6 %")),
        (Some(r), _) => {
            let d = rust_decimal::Decimal::from_str_exact(r.trim())
                .map_err(|_| invalid("tax.rate", r, "write the rate as a decimal fraction, e.g. \"0.06\""))?;
            if d < rust_decimal::Decimal::ZERO || d >= rust_decimal::Decimal::ONE {
                return Err(invalid("tax.rate", r, "the rate is a fraction between 0 and 1, e.g. 0.06 for 6 %"));
            }
            d
        }
    };
    Ok(Tax { mode, rate })
}

fn base_url(key: &str, value: Option<String>, default: &str) -> Result<String, ConfigError> {
    let v = value.unwrap_or_else(|| default.to_string());
    let trimmed = v.trim().trim_end_matches('/').to_string();
    match reqwest::Url::parse(&trimmed) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host().is_some() => Ok(trimmed),
        _ => Err(invalid(key, v, format!("use an http(s) base URL such as {default}"))),
    }
}

fn secret(key: &str, inline: Option<SecretString>, file: Option<PathBuf>) -> Result<Option<SecretString>, ConfigError> {
    use secrecy::ExposeSecret;
    let (text, origin) = match (inline, file) {
        (Some(inline), _) => (inline.expose_secret().to_string(), "the value".to_string()),
        (None, None) => return Ok(None),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::SecretFile {
                key: key.into(),
                path: path.clone(),
                source,
            })?;
            (text, format!("the secret file {}", path.display()))
        }
    };
    // Pasted tokens and files saved on Windows end in "\r\n": trimmed. A control character
    // left inside cannot go into an HTTP header; the error says where it is, never the secret.
    let t = text.trim();
    if t.is_empty() {
        return Err(ConfigError::Missing(format!("{origin} for `{key}` is empty")));
    }
    if let Some((i, c)) = t.chars().enumerate().find(|(_, c)| c.is_control()) {
        return Err(ConfigError::Secret {
            key: key.into(),
            detail: format!(
                "{origin} has the control character U+{:04X} at character {} of {}",
                c as u32,
                i + 1,
                t.chars().count()
            ),
        });
    }
    Ok(Some(SecretString::from(t.to_string())))
}

pub(super) fn validate(raw: RawConfig) -> Result<Config, ConfigError> {
    let tz_text = raw.timezone.unwrap_or_else(|| "Europe/Moscow".into());
    let timezone: Tz = tz_text.parse().map_err(|_| {
        invalid("timezone", &tz_text, "use an IANA zone name such as Europe/Moscow or Asia/Yekaterinburg")
    })?;
    let data_dir = raw.data_dir.unwrap_or_else(|| PathBuf::from("data"));
    if data_dir.as_os_str().is_empty() {
        return Err(invalid("data_dir", "", "name a directory, e.g. data_dir = \"data\""));
    }
    let endpoints = Endpoints {
        wb_statistics: base_url(
            "endpoints.wb_statistics",
            raw.endpoints.wb_statistics,
            "https://statistics-api.wildberries.ru",
        )?,
        wb_finance: base_url("endpoints.wb_finance", raw.endpoints.wb_finance, "https://finance-api.wildberries.ru")?,
        wb_advert: base_url("endpoints.wb_advert", raw.endpoints.wb_advert, "https://advert-api.wildberries.ru")?,
        wb_content: base_url("endpoints.wb_content", raw.endpoints.wb_content, "https://content-api.wildberries.ru")?,
        ozon: base_url("endpoints.ozon", raw.endpoints.ozon, "https://api-seller.ozon.ru")?,
    };
    let f = &raw.fetch;
    if !(1..=100).contains(&f.ozon_page_limit) {
        return Err(invalid(
            "fetch.ozon_page_limit",
            f.ozon_page_limit,
            "Ozon accepts 1 to 100 postings per page; use 100",
        ));
    }
    if !(1..=500).contains(&f.ozon_returns_page_limit) {
        return Err(invalid(
            "fetch.ozon_returns_page_limit",
            f.ozon_returns_page_limit,
            "Ozon accepts 1 to 500 returns per page; use 500",
        ));
    }
    if !(1..=1000).contains(&f.ozon_products_page_limit) {
        return Err(invalid(
            "fetch.ozon_products_page_limit",
            f.ozon_products_page_limit,
            "Ozon accepts 1 to 1000 products per page; use 1000",
        ));
    }
    if !(1..=100).contains(&f.wb_cards_page_limit) {
        return Err(invalid(
            "fetch.wb_cards_page_limit",
            f.wb_cards_page_limit,
            "WB accepts 1 to 100 cards per page; use 100",
        ));
    }
    if !(1..=365).contains(&f.fbs_max_window_days) {
        return Err(invalid(
            "fetch.fbs_max_window_days",
            f.fbs_max_window_days,
            "use 1 to 365 days (30 is what Ozon accepts)",
        ));
    }
    if f.time_scale == 0 {
        return Err(invalid("fetch.time_scale", 0, "use 1 for the real APIs"));
    }
    if f.wb_page_cap == 0 {
        return Err(invalid("fetch.wb_page_cap", 0, "use WB's cap, 80000"));
    }
    // 0 makes every request time out at once; more than an hour hides a dead connection.
    if !(1..=3600).contains(&f.http_timeout_secs) {
        return Err(invalid("fetch.http_timeout_secs", f.http_timeout_secs, "use 1 to 3600 seconds, e.g. 60"));
    }
    if !(1..=86_400).contains(&f.max_retry_wait_secs) {
        return Err(invalid(
            "fetch.max_retry_wait_secs",
            f.max_retry_wait_secs,
            "use 1 to 86400 seconds (900: a chunk told to wait longer fails, and the next run resumes it)",
        ));
    }
    if f.max_in_flight == 0 || f.max_in_flight > 10_000 {
        return Err(invalid(
            "fetch.max_in_flight",
            f.max_in_flight,
            "use 32 (1–10000): requests in flight at once, all accounts together",
        ));
    }
    if f.store_every_rows == 0 {
        return Err(invalid("fetch.store_every_rows", 0, "use 100000: rows a long chunk holds before it stores them"));
    }
    if raw.accounts.is_empty() {
        return Err(ConfigError::Missing(
            "config has no seller account: add a section such as [accounts.main] with [accounts.main.wb] and/or [accounts.main.ozon]".into(),
        ));
    }
    let mut accounts = Vec::new();
    for (id, a) in raw.accounts {
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-') {
            return Err(invalid(
                format!("accounts.{id}"),
                &id,
                "account ids use lowercase letters, digits, '_' and '-' (they name lake partitions and env variables)",
            ));
        }
        let wb = match a.wb {
            None => None,
            Some(w) => {
                Some(WbCredentials { token: secret(&format!("accounts.{id}.wb.token"), w.token, w.token_file)? })
            }
        };
        let ozon = match a.ozon {
            None => None,
            Some(o) => {
                if let Some(c) = &o.client_id
                    && (c.is_empty() || !c.chars().all(|ch| ch.is_ascii_digit()))
                {
                    return Err(invalid(
                        format!("accounts.{id}.ozon.client_id"),
                        c,
                        "Ozon's Client-Id is a number: copy it from Seller → Settings → API keys",
                    ));
                }
                Some(OzonCredentials {
                    client_id: o.client_id,
                    api_key: secret(&format!("accounts.{id}.ozon.api_key"), o.api_key, o.api_key_file)?,
                })
            }
        };
        if wb.is_none() && ozon.is_none() {
            return Err(invalid(
                format!("accounts.{id}"),
                "{}",
                "give the account a [wb] or an [ozon] section (or both)",
            ));
        }
        accounts.push(Account { name: a.name.unwrap_or_else(|| id.clone()), id, wb, ozon });
    }
    let tax = tax(raw.tax)?;
    let costs_file = raw.costs_file.unwrap_or_else(|| data_dir.join("costs.csv"));
    let state_namespace = raw.state.namespace.unwrap_or_else(|| "default".into());
    if state_namespace.is_empty() || state_namespace.contains(':') {
        return Err(invalid(
            "state.namespace",
            &state_namespace,
            "use a short name without ':' (it prefixes Redis keys)",
        ));
    }
    let mut state = StateOptions::default();
    // The heartbeat ticks every second and renews at a third of the lease: a lease under
    // 10 s expires between ticks, and the run's own writes are refused as fenced.
    for (field, v, slot, range) in [
        ("state.lease_secs", raw.state.lease_secs, &mut state.lease_secs, 10..=3600),
        ("state.reconnect_secs", raw.state.reconnect_secs, &mut state.reconnect_secs, 1..=3600),
    ] {
        if let Some(v) = v {
            *slot = v.trim().parse::<u64>().ok().filter(|n| range.contains(n)).ok_or_else(|| {
                invalid(
                    field,
                    &v,
                    format!("give a whole number of seconds from {} to {}, e.g. 30", range.start(), range.end()),
                )
            })?;
        }
    }
    // Renewals come every third of the lease; one that waits out a whole reconnect window
    // must still land before the remaining two thirds run out.
    if state.reconnect_secs * 3 >= state.lease_secs * 2 {
        return Err(invalid(
            "state.reconnect_secs",
            state.reconnect_secs.to_string(),
            format!(
                "make it less than two thirds of state.lease_secs ({}): a lease renewal held up that long by a Redis reconnect lets the lease expire, and another run may take the account; or raise state.lease_secs",
                state.lease_secs
            ),
        ));
    }
    state.fan_out = raw.state.fan_out.unwrap_or(false);
    if state.fan_out && raw.state.redis_url.is_none() {
        return Err(invalid(
            "state.fan_out",
            "true",
            "set state.redis_url (or REDIS_URL): the work items of a fanned-out job live on a Redis Stream; or remove fan_out to fetch every account in the job's own process",
        ));
    }
    let mut limits = BTreeMap::new();
    for (bucket, l) in raw.limits {
        if !BUCKETS.contains(&bucket.as_str()) {
            return Err(invalid(format!("limits.{bucket}"), &bucket, format!("known buckets: {}", BUCKETS.join(", "))));
        }
        // A day is far beyond any marketplace's limit; beyond it the durations overflow.
        if !(l.period_secs > 0.0 && l.period_secs <= 86_400.0) || l.burst == 0 || l.burst > 1000 {
            return Err(invalid(
                format!("limits.{bucket}"),
                format!("period_secs = {}, burst = {}", l.period_secs, l.burst),
                "write one request per period_secs (more than 0, at most 86400) with burst from 1 to 1000, e.g. { period_secs = 60, burst = 1 }",
            ));
        }
        limits.insert(bucket, crate::http::Quota { period: Duration::from_secs_f64(l.period_secs), burst: l.burst });
    }
    let telegram = match raw.telegram {
        None => None,
        Some(t) => {
            let token = secret("telegram.token", t.token, t.token_file)?.ok_or_else(|| {
                invalid(
                    "telegram.token",
                    "(missing)",
                    "set telegram.token (or token_file, or MPETL_TELEGRAM__TOKEN) to the token @BotFather gave",
                )
            })?;
            let lang = match t.language.as_deref() {
                None => Default::default(),
                Some(l) => l.parse().map_err(|e: String| invalid("telegram.language", l, e))?,
            };
            let api_base = t.api_base.unwrap_or_else(|| "https://api.telegram.org".into());
            if !(api_base.starts_with("http://") || api_base.starts_with("https://")) {
                return Err(invalid("telegram.api_base", &api_base, "write a URL such as https://api.telegram.org"));
            }
            let max_report_days = match t.max_report_days {
                None => 366,
                Some(v) => v.trim().parse::<u32>().ok().filter(|d| (1..=3660).contains(d)).ok_or_else(|| {
                    invalid("telegram.max_report_days", &v, "give a whole number of days from 1 to 3660, e.g. 366")
                })?,
            };
            Some(TelegramConfig {
                token,
                api_base,
                lang,
                allowed_chats: t.allowed_chats,
                allowed_users: t.allowed_users,
                max_report_days,
                delivery_patience: Duration::from_secs(120),
            })
        }
    };
    Ok(Config {
        telegram,
        data_dir,
        timezone,
        endpoints,
        fetch: raw.fetch,
        accounts,
        costs_file,
        operations_file: raw.operations_file,
        tax,
        redis_url: raw.state.redis_url,
        state_namespace,
        limits,
        state,
        sources: BTreeMap::new(),
    })
}
