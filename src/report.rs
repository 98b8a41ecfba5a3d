//! Human-readable tables of the metrics, for the terminal.

use crate::metrics::{Count, Grain, MetricRow, MissingCost, Money, Ratio};
use crate::money::format_kopecks_human;

fn period_label(d: Option<chrono::NaiveDate>, grain: Grain) -> String {
    let Some(d) = d else { return "—".into() };
    match grain {
        Grain::Day => d.format("%Y-%m-%d").to_string(),
        Grain::Week => format!("{} (W{})", d.format("%Y-%m-%d"), d.format("%V")),
        Grain::Month => d.format("%Y-%m").to_string(),
    }
}

fn money(v: Option<i128>) -> String {
    v.map_or_else(|| "—".to_string(), format_kopecks_human)
}

fn count(v: Option<i64>) -> String {
    v.map_or_else(|| "—".to_string(), |v| v.to_string())
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), |v| format!("{:.1}", v * 100.0))
}

/// Aligns cells: the first two columns left, the rest right.
fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut cells: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    cells.extend(rows);
    let widths: Vec<usize> =
        (0..header.len()).map(|i| cells.iter().map(|row| row[i].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for (k, row) in cells.iter().enumerate() {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pad = " ".repeat(widths[i] - c.chars().count());
                if i < 2 { format!("{c}{pad}") } else { format!("{pad}{c}") }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
        if k == 0 {
            out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
            out.push('\n');
        }
    }
    out
}

/// Orders and buyouts per period and marketplace (statistics and postings: preliminary).
pub fn operations_table(rows: &[MetricRow], grain: Grain) -> String {
    let header = ["period", "mp", "orders", "orders ₽", "cancelled", "buyouts", "returns", "buyout %"];
    let body = rows
        .iter()
        .map(|r| {
            vec![
                period_label(r.period_from, grain),
                r.marketplace.clone(),
                count(r.count(Count::Orders)),
                money(r.money(Money::OrdersValue)),
                count(r.count(Count::Cancellations)),
                count(r.count(Count::Buyouts)),
                count(r.count(Count::Returns)),
                pct(r.ratio(Ratio::BuyoutRate)),
            ]
        })
        .collect();
    let mut out = table(&header, body);
    out.push_str("returns —: Ozon postings carry no returns; buyout % = buyouts / (buyouts + returns + cancelled)\n");
    out
}

/// Money per period and marketplace (finance reports and accruals: the source of truth).
pub fn money_table(rows: &[MetricRow], grain: Grain) -> String {
    let header = [
        "period",
        "mp",
        "revenue",
        "mp fees",
        "payout",
        "ad spend",
        "COGS",
        "tax",
        "net profit",
        "margin %",
        "ROI %",
        "DRR %",
    ];
    let body = rows
        .iter()
        .map(|r| {
            let fees = ["commission", "logistics", "storage", "acceptance", "penalties", "other_deductions"]
                .iter()
                .map(|c| r.money(c).unwrap_or(0))
                .sum::<i128>();
            vec![
                period_label(r.period_from, grain),
                r.marketplace.clone(),
                money(r.money(Money::Revenue)),
                money(Some(fees)),
                money(r.money(Money::Payout)),
                money(r.money(Money::AdSpend)),
                money(r.money(Money::Cogs)),
                money(r.money(Money::Tax)),
                money(r.money(Money::NetProfit)),
                pct(r.ratio(Ratio::Margin)),
                pct(r.ratio(Ratio::Roi)),
                pct(r.ratio(Ratio::Drr)),
            ]
        })
        .collect();
    let mut out = table(&header, body);
    out.push_str("— = unknown (a sold SKU has no cost in the costs file, or an Ozon line has no quantity: see below); mp fees = commission, logistics, storage, acceptance, penalties, other deductions\n");
    out
}

pub fn missing_costs(list: &[MissingCost], costs_file: &std::path::Path) -> String {
    if list.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "missing cost: {} SKU(s) sold units with no cost in {}; their COGS and profit are unknown, not guessed:\n",
        list.len(),
        costs_file.display()
    );
    for m in list {
        out.push_str(&format!("  {} {} ({}): {} units\n", m.marketplace, m.sku, m.seller_sku, m.units));
    }
    out
}
