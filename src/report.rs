//! Human-readable tables of the metrics, for the terminal.

use crate::metrics::{Grain, TotalRow};
use crate::money::format_kopecks_human;

fn period_label(d: chrono::NaiveDate, grain: Grain) -> String {
    match grain {
        Grain::Day => d.format("%Y-%m-%d").to_string(),
        Grain::Week => format!("{} (W{})", d.format("%Y-%m-%d"), d.format("%V")),
        Grain::Month => d.format("%Y-%m").to_string(),
    }
}

/// Totals per period and marketplace, aligned.
pub fn totals_table(rows: &[TotalRow], grain: Grain) -> String {
    let header = [
        "period",
        "mp",
        "SKUs",
        "orders",
        "orders ₽",
        "cancelled",
        "buyouts",
        "returns",
        "sales ₽",
        "buyout %",
    ];
    let mut cells: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for r in rows {
        cells.push(vec![
            period_label(r.period_start, grain),
            r.marketplace.clone(),
            r.skus.to_string(),
            r.orders.to_string(),
            format_kopecks_human(r.orders_value),
            r.cancellations.to_string(),
            r.buyouts.to_string(),
            r.returns.map_or_else(|| "—".to_string(), |v| v.to_string()),
            format_kopecks_human(r.sales_value),
            r.buyout_rate
                .map_or_else(|| "—".to_string(), |v| format!("{:.1}", v * 100.0)),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            cells
                .iter()
                .map(|row| row[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (k, row) in cells.iter().enumerate() {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pad = " ".repeat(widths[i] - c.chars().count());
                if i < 2 {
                    format!("{c}{pad}")
                } else {
                    format!("{pad}{c}")
                }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
        if k == 0 {
            out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
            out.push('\n');
        }
    }
    out.push_str("returns: — = not in the source (Ozon postings carry no returns); buyout % = buyouts / (buyouts + returns + cancelled)\n");
    out
}
