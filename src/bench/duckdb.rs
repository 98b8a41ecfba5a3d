//! The DuckDB reference: the same aggregation in SQL over the same Parquet, run by python3.

use std::path::Path;
use std::process::Command;

use super::BenchError;
use crate::metrics;

/// The same per-day × SKU aggregation of the lake, in DuckDB SQL (every event source, the
/// same filters; WB's sale operations from the operation catalogue). Prints `seconds rows
/// revenue_kop orders version`.
const DUCKDB: &str = r#"
import sys, time, duckdb
lake, d_from, d_to, sale_ops, bonus_types = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
def scan(ds): return f"read_parquet('{lake}/{ds}/*/*/part-0.parquet', hive_partitioning = true)"
msk = lambda c: f"CAST(timezone('Europe/Moscow', {c}) AS DATE)"
q = f"""
WITH ev AS (
  SELECT account, 'wb' AS mp, {msk('date')} AS day, CAST(nm_id AS VARCHAR) AS sku, 1 AS orders,
         price_with_disc AS orders_value, CAST(is_cancel AS BIGINT) AS cancellations FROM {scan('wb_orders')}
  UNION ALL BY NAME
  SELECT account, 'wb' AS mp, {msk('date')} AS day, CAST(nm_id AS VARCHAR) AS sku,
         CAST(NOT is_return AS BIGINT) AS buyouts, CAST(is_return AS BIGINT) AS returns,
         CASE WHEN is_return THEN 0 ELSE price_with_disc END AS buyouts_value,
         CASE WHEN is_return THEN price_with_disc ELSE 0 END AS returns_value FROM {scan('wb_sales')}
  UNION ALL BY NAME
  SELECT account, 'wb' AS mp, rr_date AS day, CAST(nm_id AS VARCHAR) AS sku,
         CASE WHEN sale_op AND doc_type_name = 'Продажа' THEN quantity ELSE 0 END AS units_sold,
         CASE WHEN sale_op AND doc_type_name = 'Возврат' THEN quantity ELSE 0 END AS units_returned,
         CASE WHEN NOT sale_op THEN 0 WHEN doc_type_name = 'Возврат' THEN -retail_price_with_disc ELSE retail_price_with_disc END AS revenue,
         CASE WHEN NOT sale_op THEN 0 WHEN doc_type_name = 'Возврат' THEN for_pay - retail_price_with_disc ELSE retail_price_with_disc - for_pay END AS commission,
         delivery_service AS logistics, paid_storage AS storage, paid_acceptance AS acceptance,
         penalty AS penalties, deduction AS other_deductions, additional_payment AS additional_payments
  FROM (SELECT *, lower(replace(trim(seller_oper_name), 'ё', 'е')) IN ({sale_ops}) AS sale_op FROM {scan('wb_finance')})
  UNION ALL BY NAME
  SELECT account, 'wb' AS mp, date AS day, CAST(nm_id AS VARCHAR) AS sku, sum AS ad_spend FROM {scan('wb_ad_stats')}
  UNION ALL BY NAME
  -- spend WB's bonuses or cashback paid for comes off the ad spend at the account level
  SELECT account, 'wb' AS mp, {msk('upd_time')} AS day, CAST(NULL AS VARCHAR) AS sku, -upd_sum AS ad_spend
  FROM {scan('wb_ad_spend')}
  WHERE replace(regexp_replace(lower(trim(payment_type)), '\\s+', ' ', 'g'), 'ё', 'е') IN ({bonus_types})
  UNION ALL BY NAME
  SELECT account, 'ozon' AS mp, {msk('in_process_at')} AS day, CAST(sku AS VARCHAR) AS sku, quantity AS orders,
         price * quantity AS orders_value,
         CASE WHEN status = 'cancelled' THEN quantity ELSE 0 END AS cancellations,
         CASE WHEN status = 'delivered' THEN quantity ELSE 0 END AS buyouts,
         CASE WHEN status = 'delivered' THEN price * quantity ELSE 0 END AS buyouts_value
  FROM read_parquet(['{lake}/ozon_fbo/*/*/part-0.parquet', '{lake}/ozon_fbs/*/*/part-0.parquet'], hive_partitioning = true)
  UNION ALL BY NAME
  SELECT account, 'ozon' AS mp, date AS day, CAST(sku AS VARCHAR) AS sku,
         CASE WHEN kind = 'sale_price' AND direction > 0 THEN quantity ELSE 0 END AS units_sold,
         CASE WHEN kind = 'sale_price' AND direction < 0 THEN quantity ELSE 0 END AS units_returned,
         CASE WHEN kind IN ('sale_price', 'bonus', 'coinvestment') THEN amount ELSE 0 END AS revenue,
         CASE WHEN kind = 'sale_commission' THEN -amount ELSE 0 END AS commission,
         CASE WHEN kind IN ('service', 'item_fee', 'non_item_fee', 'container_fee') THEN -amount ELSE 0 END AS logistics
  FROM {scan('ozon_accruals')}
)
SELECT day, account, mp, sku, sum(orders) AS orders, sum(orders_value) AS orders_value, sum(cancellations) AS cancellations,
       sum(buyouts) AS buyouts, sum(returns) AS returns, sum(buyouts_value) AS buyouts_value, sum(returns_value) AS returns_value,
       sum(units_sold) AS units_sold, sum(units_returned) AS units_returned, sum(revenue) AS revenue, sum(commission) AS commission,
       sum(logistics) AS logistics, sum(storage) AS storage, sum(acceptance) AS acceptance, sum(penalties) AS penalties,
       sum(other_deductions) AS other_deductions, sum(additional_payments) AS additional_payments, sum(ad_spend) AS ad_spend
FROM ev WHERE day BETWEEN DATE '{d_from}' AND DATE '{d_to}' GROUP BY ALL
"""
con = duckdb.connect()
# A query over 2 s draws a progress bar on stdout, where the numbers are read from.
con.execute("SET enable_progress_bar = false")
t = time.perf_counter()
rows = con.sql(q).fetchall()
s = time.perf_counter() - t
rev = sum(r[13] or 0 for r in rows)
orders = sum(r[4] or 0 for r in rows)
print(s, len(rows), int(rev * 100), orders, duckdb.__version__)
"#;

#[derive(Debug, Clone)]
pub struct DuckTiming {
    pub seconds: f64,
    pub rows: usize,
    pub revenue_kop: i128,
    pub orders: i64,
    /// DuckDB's version: a new major one was twice as fast on the same query (1.x → 2.0).
    pub version: String,
}

/// Runs the DuckDB reference; `Ok(None)` when python3 with duckdb is not installed.
pub fn time_duckdb(lake: &Path, period: &crate::pipeline::plan::Period) -> Result<Option<DuckTiming>, BenchError> {
    let sale_ops = metrics::Catalogue::builtin()
        .wb_names(metrics::catalogue::WbCategory::Sale)
        .iter()
        .map(|n| format!("'{}'", n.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(", ");
    let bonus_types = metrics::BONUS_PAYMENT_TYPES.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ");
    let out = Command::new("python3")
        .args([
            "-c",
            DUCKDB,
            &lake.display().to_string(),
            &period.from.to_string(),
            &period.to.to_string(),
            &sale_ops,
            &bonus_types,
        ])
        .output();
    let Ok(out) = out else { return Ok(None) };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        if stderr.contains("No module named 'duckdb'") {
            return Ok(None);
        }
        return Err(BenchError::Other(format!("the DuckDB reference failed: {stderr}")));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let f: Vec<&str> = text.split_whitespace().collect();
    let parse = || -> Option<DuckTiming> {
        Some(DuckTiming {
            seconds: f.first()?.parse().ok()?,
            rows: f.get(1)?.parse().ok()?,
            revenue_kop: f.get(2)?.parse().ok()?,
            orders: f.get(3)?.parse().ok()?,
            version: f.get(4).map_or_else(|| "?".to_string(), |v| v.to_string()),
        })
    };
    parse().map(Some).ok_or_else(|| BenchError::Other(format!("unexpected DuckDB output: {text}")))
}
