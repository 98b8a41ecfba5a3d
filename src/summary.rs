//! The period summary a seller reads in Telegram: key numbers per marketplace and in total,
//! missing-cost warnings, and a chart of daily revenue and net profit.

use chrono::NaiveDate;
use polars::prelude::*;

use crate::config::Config;
use crate::metrics::{self, Count, Grain, MetricRow, MetricsError, MissingCost, Money, Ratio};
use crate::money::format_kopecks_human;
use crate::notify::telegram::{Lang, MAX_TEXT, escape, fit};
use crate::period::Period;

#[derive(Debug, Clone)]
pub struct Summary {
    pub title: String,
    pub period: Period,
    /// Whole-period totals: `wb`, `ozon` (those with data) and `all`.
    pub totals: Vec<MetricRow>,
    /// Per day (all marketplaces): revenue and net profit, `None` where unknown.
    pub daily: Vec<(NaiveDate, Option<i128>, Option<i128>)>,
    pub missing: Vec<MissingCost>,
    /// Operations the catalogue does not know: in the payout, named so someone adds them.
    pub unknown: Vec<metrics::unknown::UnknownOperation>,
    /// Ozon sale lines whose units (and so COGS) nobody can know.
    pub unknown_units: Vec<metrics::unknown::UnknownUnits>,
    /// Tokens that stop working within two weeks: tonight's job is fine, a later one will fail.
    pub expiring: Vec<crate::doctor::Expiring>,
}

impl Summary {
    pub fn compute(
        cfg: &Config,
        title: &str,
        period: Period,
        accounts: Option<&[String]>,
    ) -> Result<Summary, MetricsError> {
        let (sku, days) = crate::pipeline::compute_metrics(cfg, &period, Grain::Day, accounts)?;
        // The whole period as one "day": additive columns sum, ratios derive from the sums.
        let flat = sku
            .clone()
            .lazy()
            .with_columns([lit(period.from).alias("period_from"), lit(period.to).alias("period_to")])
            .collect()?;
        let totals: Vec<MetricRow> =
            metrics::rows(&metrics::totals(&flat, &cfg.tax)?)?.into_iter().filter(|r| r.account == "all").collect();
        let by_day = metrics::rows(&days)?;
        let mut daily = Vec::new();
        let mut d = period.from;
        while d <= period.to {
            let r = by_day.iter().find(|r| r.period_from == Some(d) && r.account == "all" && r.marketplace == "all");
            daily.push((
                d,
                r.map_or(Some(0), |r| r.money(Money::Revenue)),
                r.map_or(Some(0), |r| r.money(Money::NetProfit)),
            ));
            d += chrono::Duration::days(1);
        }
        let lake = crate::lake::Lake::new(cfg.lake_dir());
        let catalogue = metrics::Catalogue::load(cfg.operations_file.as_deref())?;
        Ok(Summary {
            title: title.to_string(),
            period,
            totals,
            daily,
            missing: metrics::missing_costs(&sku)?,
            unknown: metrics::unknown::unknown_operations(&lake, &catalogue, period.from, period.to)?,
            unknown_units: metrics::unknown::unknown_units(&lake, period.from, period.to)?,
            expiring: crate::doctor::expiring_tokens(cfg, chrono::Utc::now()),
        })
    }

    /// The message: HTML, within Telegram's 4096 characters.
    pub fn html(&self, lang: Lang) -> String {
        fit(&self.render(lang, Markup::Html), MAX_TEXT)
    }

    /// The same message as plain text, for a terminal or a log.
    pub fn text(&self, lang: Lang) -> String {
        self.render(lang, Markup::Text)
    }

    fn render(&self, lang: Lang, markup: Markup) -> String {
        let escape = |s: &str| markup.escape(s);
        let bold = |s: &str| markup.bold(s);
        let t = |ru: &'static str, en: &'static str| if lang == Lang::Ru { ru } else { en };
        let money = |v: Option<i128>| v.map_or_else(|| "—".into(), |k| format!("{} ₽", format_kopecks_human(k)));
        let pct = |v: Option<f64>| v.map_or_else(|| "—".into(), |x| format!("{:.1} %", x * 100.0));
        let count = |v: Option<i64>| v.map_or_else(|| "—".into(), |n| n.to_string());
        let period = if self.period.from == self.period.to {
            self.period.from.to_string()
        } else {
            format!("{} — {}", self.period.from, self.period.to)
        };
        let mut out =
            format!("{}\n{}: {period}\n", bold(&format!("📊 {}", escape(&self.title))), t("Период", "Period"));
        for mp in ["wb", "ozon", "all"] {
            let Some(r) = self.totals.iter().find(|r| r.marketplace == mp) else { continue };
            let name = match mp {
                "wb" => "Wildberries",
                "ozon" => "Ozon",
                _ => t("Итого", "Total"),
            };
            let fees: i128 = ["commission", "logistics", "storage", "acceptance", "penalties", "other_deductions"]
                .iter()
                .map(|c| r.money(c).unwrap_or(0))
                .sum();
            out.push_str(&format!("\n{}\n", bold(name)));
            out.push_str(&format!(
                "{}: {} · {}: {} · {}: {}\n",
                t("Заказы", "Orders"),
                count(r.count(Count::Orders)),
                t("выкупы", "buyouts"),
                count(r.count(Count::Buyouts)),
                t("возвраты", "returns"),
                count(r.count(Count::Returns))
            ));
            out.push_str(&format!("{}: {}\n", t("Выручка", "Revenue"), money(r.money(Money::Revenue))));
            out.push_str(&format!("{}: {}\n", t("Комиссии и услуги МП", "Marketplace fees"), money(Some(fees))));
            out.push_str(&format!("{}: {}\n", t("К перечислению", "Payout"), money(r.money(Money::Payout))));
            out.push_str(&format!("{}: {}\n", t("Реклама", "Ad spend"), money(r.money(Money::AdSpend))));
            out.push_str(&format!("{}: {}\n", t("Себестоимость", "COGS"), money(r.money(Money::Cogs))));
            out.push_str(&format!("{}: {}\n", t("Налог", "Tax"), money(r.money(Money::Tax))));
            out.push_str(&format!(
                "{}\n",
                bold(&format!("{}: {}", t("Чистая прибыль", "Net profit"), money(r.money(Money::NetProfit))))
            ));
            out.push_str(&format!(
                "{}: {} · ROI: {} · {}: {}\n",
                t("Маржа", "Margin"),
                pct(r.ratio(Ratio::Margin)),
                pct(r.ratio(Ratio::Roi)),
                t("ДРР", "DRR"),
                pct(r.ratio(Ratio::Drr))
            ));
        }
        if !self.missing.is_empty() {
            let units: i64 = self.missing.iter().map(|m| m.units).sum();
            let names: Vec<String> = self.missing.iter().take(10).map(|m| escape(&m.seller_sku)).collect();
            out.push_str(&format!(
                "\n⚠️ {} {} SKU ({units} {}): {}{}. {}\n",
                t("Нет себестоимости для", "No cost for"),
                self.missing.len(),
                t("шт.", "units"),
                names.join(", "),
                if self.missing.len() > 10 { ", …" } else { "" },
                t(
                    "Прибыль с ними не посчитана: добавьте их в costs.csv.",
                    "Profit including them is not computed: add them to costs.csv."
                )
            ));
        }
        for u in self.unknown.iter().take(5) {
            let what = match (u.marketplace, lang) {
                ("wb", Lang::Ru) => "Неизвестная операция WB",
                (_, Lang::Ru) => "Неизвестный тип начисления Ozon",
                ("wb", Lang::En) => "Unknown WB operation",
                (_, Lang::En) => "Unknown Ozon accrual type",
            };
            out.push_str(&format!(
                "\n❓ {what} «{}»: {} {}, {}. {}\n",
                escape(&u.name),
                u.rows,
                t("стр.", "rows"),
                money(Some(u.amount)),
                t("Учтено только в выплате.", "Counted in payout only."),
            ));
        }
        if !self.unknown_units.is_empty() {
            let lines: u64 = self.unknown_units.iter().map(|u| u.lines).sum();
            out.push_str(&format!(
                "\n⚠️ Ozon: {lines} {}\n",
                t(
                    "строк продаж без количества и без отправления в озере: себестоимость не посчитана.",
                    "sale lines without a quantity or a posting in the lake: COGS not computed."
                )
            ));
        }
        for e in &self.expiring {
            let day = e.at.format("%Y-%m-%d");
            let (mp, account) = (if e.marketplace == "wb" { "WB" } else { "Ozon" }, escape(&e.account));
            out.push_str(&match lang {
                Lang::Ru => format!(
                    "\n🔑 Токен {mp} (аккаунт {account}) действует до {day}: выпустите новый, иначе ночные загрузки остановятся.\n"
                ),
                Lang::En => format!(
                    "\n🔑 The {mp} token (account {account}) is valid until {day}: issue a new one, or the nightly pulls will stop.\n"
                ),
            });
        }
        out
    }

    /// Daily revenue (blue) and net profit (green).
    pub fn chart_png(&self) -> Vec<u8> {
        let revenue: Vec<Option<i128>> = self.daily.iter().map(|d| d.1).collect();
        let profit: Vec<Option<i128>> = self.daily.iter().map(|d| d.2).collect();
        let dates: Vec<NaiveDate> = self.daily.iter().map(|d| d.0).collect();
        crate::chart::daily_chart(&dates, &revenue, &profit, 800, 400).png()
    }

    pub fn chart_caption(&self, lang: Lang) -> String {
        match lang {
            Lang::Ru => {
                format!("Выручка (синяя) и чистая прибыль (зелёная) по дням, {} — {}", self.period.from, self.period.to)
            }
            Lang::En => {
                format!("Revenue (blue) and net profit (green) per day, {} — {}", self.period.from, self.period.to)
            }
        }
    }
}

/// How the summary marks bold text and escapes names: Telegram HTML, or none.
#[derive(Clone, Copy)]
enum Markup {
    Html,
    Text,
}

impl Markup {
    fn bold(self, s: &str) -> String {
        match self {
            Markup::Html => format!("<b>{s}</b>"),
            Markup::Text => s.to_string(),
        }
    }

    fn escape(self, s: &str) -> String {
        match self {
            Markup::Html => escape(s),
            Markup::Text => s.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_operations_and_units_are_named_in_the_summary() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let s = Summary {
            title: "Ночной отчёт".into(),
            period: Period { from: d, to: d },
            totals: Vec::new(),
            daily: Vec::new(),
            missing: Vec::new(),
            unknown: vec![metrics::unknown::UnknownOperation {
                marketplace: "wb",
                account: "main".into(),
                name: "Операция <новая>".into(),
                rows: 3,
                amount: -124_000,
            }],
            unknown_units: vec![metrics::unknown::UnknownUnits { account: "main".into(), sku: 5, lines: 2 }],
            expiring: Vec::new(),
        };
        let ru = s.html(Lang::Ru);
        assert!(ru.contains("Неизвестная операция WB «Операция &lt;новая&gt;»: 3 стр."), "{ru}");
        assert!(ru.contains("Учтено только в выплате") && ru.contains("Ozon: 2 строк"), "{ru}");
        assert!(s.html(Lang::En).contains("Unknown WB operation"));
        assert!(!ru.contains("🔑"), "no token expires: {ru}");
    }

    /// Issue #16: the nightly summary warns 14 days before a WB token expires (read from the JWT).
    #[test]
    fn a_wb_token_within_two_weeks_of_its_expiry_is_named_in_the_summary() {
        use base64::Engine;
        let jwt = |exp: i64| {
            let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            format!("{}.{}.sig", e.encode(b"{}"), e.encode(format!("{{\"exp\":{exp}}}")))
        };
        let now = chrono::Utc::now();
        let day = 86_400;
        let toml: String = [
            ("soon", jwt(now.timestamp() + 10 * day)),
            ("later", jwt(now.timestamp() + 40 * day)),
            ("opaque", "not-a-jwt".to_string()),
        ]
        .iter()
        .map(|(id, token)| format!("[accounts.{id}.wb]\ntoken = {token:?}\n"))
        .collect();
        let cfg = crate::config::Config::from_toml_and_env(&toml, "t", vec![]).unwrap();
        let expiring = crate::doctor::expiring_tokens(&cfg, now);
        assert_eq!(expiring.iter().map(|e| e.account.as_str()).collect::<Vec<_>>(), ["soon"]);
        let d = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let s = Summary {
            title: "t".into(),
            period: Period { from: d, to: d },
            totals: Vec::new(),
            daily: Vec::new(),
            missing: Vec::new(),
            unknown: Vec::new(),
            unknown_units: Vec::new(),
            expiring,
        };
        let when = (now + chrono::Duration::days(10)).format("%Y-%m-%d").to_string();
        assert!(
            s.html(Lang::Ru).contains(&format!("🔑 Токен WB (аккаунт soon) действует до {when}")),
            "{}",
            s.html(Lang::Ru)
        );
        assert!(s.text(Lang::En).contains("The WB token (account soon) is valid until"));
    }
}
