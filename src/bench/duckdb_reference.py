import sys, time, json, datetime, duckdb
lake, d_from, d_to, tables, bonus_types = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
day = lambda s, k: (datetime.date.fromisoformat(s) + datetime.timedelta(days=k)).isoformat()
def scan(ds): return f"read_parquet('{lake}/{ds}/*/*/part-0.parquet', hive_partitioning = true)"
def table(name, cols): return f"read_csv('{tables}/{name}.csv', header = true, nullstr = '\\N', columns = {cols})"
msk = lambda c: f"CAST(timezone('Europe/Moscow', {c}) AS DATE)"
postings = f"read_parquet(['{lake}/ozon_fbo/*/*/part-0.parquet', '{lake}/ozon_fbs/*/*/part-0.parquet'], hive_partitioning = true)"
ops = table('wb_operations', "{'name': 'VARCHAR', 'cat': 'VARCHAR', 'units': 'BOOLEAN', 'reversal': 'BOOLEAN'}")
ded = table('wb_deductions', "{'name': 'VARCHAR', 'class': 'VARCHAR'}")
oz = table('ozon_types', "{'type_name': 'VARCHAR', 'type_description': 'VARCHAR', 'cat': 'VARCHAR'}")
# WB's signs: a return document's amounts are magnitudes to subtract (sg); a reversal operation
# gives its service charges back (sv).
wb_rows = f"""SELECT f.*, o.cat AS op_cat, o.units AS op_units, d.class AS ded_class,
    o.cat IS NOT NULL AND f.doc_type_name IN ('Продажа', 'Возврат', '') AS known,
    CASE WHEN f.doc_type_name = 'Возврат' THEN -1 ELSE 1 END AS sg, CASE WHEN o.reversal THEN -1 ELSE 1 END AS sv
  FROM {scan('wb_finance')} f LEFT JOIN {ops} o ON f.seller_oper_name = o.name LEFT JOIN {ded} d ON f.bonus_type_name = d.name"""
k = lambda cond, e: f"CASE WHEN known AND ({cond}) THEN {e} ELSE 0 END"
fee = "kind IN ('service', 'item_fee', 'non_item_fee', 'container_fee')"
ch = lambda c: f"CASE WHEN {fee} AND cat = '{c}' THEN -amount ELSE 0 END"
inc = lambda c: f"CASE WHEN {fee} AND cat = '{c}' THEN amount ELSE 0 END"
# Each source summed per day × SKU before the union, as the metrics do: a union of every raw row
# with every measure (most of them null) was twice as slow.
sources = [
    f"""
  SELECT account, 'wb' AS mp, {msk('date')} AS day, CAST(nm_id AS VARCHAR) AS sku, 1 AS orders,
         price_with_disc AS orders_value, CAST(is_cancel AS BIGINT) AS cancellations FROM {scan('wb_orders')}
""",
    f"""
  SELECT account, 'wb' AS mp, {msk('date')} AS day, CAST(nm_id AS VARCHAR) AS sku,
         CAST(NOT is_return AS BIGINT) AS buyouts, CAST(is_return AS BIGINT) AS returns,
         CASE WHEN is_return THEN 0 ELSE price_with_disc END AS buyouts_value,
         CASE WHEN is_return THEN price_with_disc ELSE 0 END AS returns_value FROM {scan('wb_sales')}
""",
    f"""
  SELECT account, 'wb' AS mp, rr_date AS day, CAST(nm_id AS VARCHAR) AS sku,
         {k("op_units AND sg = 1", "quantity")} AS units_sold,
         {k("op_units AND sg = -1", "quantity")} AS units_returned,
         {k("op_cat = 'sale'", "sg * retail_price_with_disc")} AS revenue,
         {k("op_cat = 'sale'", "sg * (retail_price_with_disc - for_pay)")} AS commission,
         {k("op_cat = 'compensation'", "sg * for_pay")} AS compensation,
         {k("true", "sv * delivery_service")} + {k("op_cat = 'logistics'", "-sg * for_pay")} AS logistics,
         {k("true", "sv * paid_storage")} + {k("op_cat = 'storage'", "-sg * for_pay")} AS storage,
         {k("true", "sv * paid_acceptance")} + {k("op_cat = 'acceptance'", "-sg * for_pay")} AS acceptance,
         {k("true", "sv * penalty")} + {k("op_cat = 'penalty'", "-sg * for_pay")} AS penalties,
         {k("ded_class = 'ads'", "sv * deduction")} AS ad_deductions,
         {k("ded_class = 'transfer'", "sv * deduction")} AS transfers,
         {k("NOT (ded_class = 'ads' OR ded_class = 'transfer')", "sv * deduction")}
           + {k("true", "sg * (cashback_amount + cashback_commission_change)")}
           + {k("op_cat IN ('deduction', 'loyalty')", "-sg * for_pay")} AS other_deductions,
         {k("true", "sv * additional_payment")} + {k("op_cat = 'additional_payment'", "sg * for_pay")} AS additional_payments,
         CASE WHEN NOT known THEN sg * for_pay - sv * (delivery_service + paid_storage + paid_acceptance + penalty + deduction - additional_payment)
                                   - sg * (cashback_amount + cashback_commission_change) ELSE 0 END
           + {k("op_cat = 'info'", "sg * for_pay")} AS unclassified
  FROM ({wb_rows})
""",
    f"""
  SELECT account, 'wb' AS mp, date AS day, CAST(nm_id AS VARCHAR) AS sku, sum AS ad_spend FROM {scan('wb_ad_stats')}
""",
    f"""
  -- spend WB's bonuses or cashback paid for comes off the ad spend at the account level
  SELECT account, 'wb' AS mp, {msk('upd_time')} AS day, CAST(NULL AS VARCHAR) AS sku, -upd_sum AS ad_spend
  FROM {scan('wb_ad_spend')}
  WHERE replace(regexp_replace(lower(trim(payment_type)), '\\s+', ' ', 'g'), 'ё', 'е') IN ({bonus_types})
""",
    f"""
  SELECT account, 'ozon' AS mp, {msk('in_process_at')} AS day, CAST(sku AS VARCHAR) AS sku, quantity AS orders,
         price * quantity AS orders_value,
         CASE WHEN status = 'cancelled' THEN quantity ELSE 0 END AS cancellations,
         CASE WHEN status = 'delivered' THEN quantity ELSE 0 END AS buyouts,
         CASE WHEN status = 'delivered' THEN price * quantity ELSE 0 END AS buyouts_value
  FROM {postings}
""",
    f"""
  SELECT account, 'ozon' AS mp, {msk('return_date')} AS day, CAST(sku AS VARCHAR) AS sku, quantity AS returns,
         price * quantity AS returns_value
  FROM {scan('ozon_returns')} WHERE return_type IN ('ClientReturn', 'PartialReturn')
""",
    f"""
  SELECT account, 'ozon' AS mp, date AS day, CAST(sku AS VARCHAR) AS sku,
         CASE WHEN kind IN ('sale_price', 'bonus', 'coinvestment') THEN amount ELSE 0 END AS revenue,
         CASE WHEN kind = 'sale_commission' OR ({fee} AND cat = 'commission') THEN -amount ELSE 0 END AS commission,
         {ch('logistics')} AS logistics, {ch('storage')} AS storage, {ch('acceptance')} AS acceptance,
         {ch('penalty')} AS penalties, {ch('other')} AS other_deductions, {ch('ads')} AS ad_deductions,
         {ch('ads')} AS ad_spend, {ch('transfer')} AS transfers, {inc('compensation')} AS compensation,
         {inc('additional_payment')} AS additional_payments,
         CASE WHEN kind = 'remainder' OR ({fee} AND cat IS NULL) THEN amount ELSE 0 END AS unclassified
  FROM {scan('ozon_accruals')} a LEFT JOIN {oz} t USING (type_name, type_description)
""",
    f"""
  -- units of Ozon's sale lines: its quantity, else the posting line's in the posting lists
  SELECT l.account, 'ozon' AS mp, l.date AS day, CAST(l.sku AS VARCHAR) AS sku,
         CASE WHEN direction > 0 THEN coalesce(l.quantity, p.q) ELSE 0 END AS units_sold,
         CASE WHEN direction < 0 THEN coalesce(l.quantity, p.q) ELSE 0 END AS units_returned,
         -- a line whose units nobody knows makes its day's units unknown (null), as in the marts
         CAST(direction > 0 AND coalesce(l.quantity, p.q) IS NULL AS INTEGER) AS sold_unknown,
         CAST(direction < 0 AND coalesce(l.quantity, p.q) IS NULL AS INTEGER) AS returned_unknown
  FROM (SELECT * FROM {scan('ozon_accruals')} WHERE kind = 'sale_price') l
  LEFT JOIN (SELECT posting_number, sku, first(quantity) AS q FROM {postings} GROUP BY ALL) p
    ON l.quantity IS NULL AND l.unit_number = p.posting_number AND l.sku = p.sku
""",
]
summed = lambda src: f"SELECT account, mp, day, sku, sum(COLUMNS(* EXCLUDE (account, mp, day, sku))) FROM ({src}) GROUP BY ALL"
q = f"""
WITH ev AS (
  {" UNION ALL BY NAME ".join(summed(src) for src in sources)}
)
SELECT day, account, mp, sku, sum(orders) AS orders, sum(revenue) AS revenue, sum(commission) AS commission,
       sum(compensation) AS compensation, sum(logistics) AS logistics, sum(storage) AS storage,
       sum(acceptance) AS acceptance, sum(penalties) AS penalties, sum(other_deductions) AS other_deductions,
       sum(ad_deductions) AS ad_deductions, sum(transfers) AS transfers, sum(additional_payments) AS additional_payments,
       sum(unclassified) AS unclassified, sum(ad_spend) AS ad_spend, sum(orders_value) AS orders_value,
       sum(buyouts_value) AS buyouts_value, sum(returns_value) AS returns_value,
       sum(cancellations) AS cancellations, sum(buyouts) AS buyouts,
       CASE WHEN sum(sold_unknown) > 0 THEN NULL ELSE sum(units_sold) END AS units_sold,
       CASE WHEN sum(returned_unknown) > 0 THEN NULL ELSE sum(units_returned) END AS units_returned,
       sum(returns) AS returns
FROM ev WHERE day BETWEEN DATE '{d_from}' AND DATE '{d_to}' GROUP BY ALL
"""
# The statements check over the period and 35 days either side, as the metrics run it: each WB
# report's header against its rows (a row dated up to 31 days from its report), each Ozon
# cash-flow period against its days' accruals.
lo, hi = day(d_from, -35), day(d_to, 35)
wb_fields = ["retail_amount", "for_pay", "delivery_service", "paid_storage", "penalty", "deduction", "paid_acceptance",
             "additional_payment", "cashback_amount", "cashback_discount", "cashback_commission_change", "payment_schedule"]
by_doc = {"retail_amount", "for_pay", "cashback_amount", "cashback_discount", "cashback_commission_change"}
sign = lambda f: "sg" if f in by_doc else ("1" if f == "payment_schedule" else "sv")
payout = "sg * for_pay - sv * (delivery_service + paid_storage + paid_acceptance + penalty + deduction - additional_payment) - sg * (cashback_amount + cashback_commission_change)"
wb_check = f"""
WITH kinds AS (
  SELECT account, report_id, doc_type_name, seller_oper_name, {', '.join(f'sum({f}) AS {f}' for f in wb_fields)}
  FROM {scan('wb_finance')} WHERE rr_date BETWEEN DATE '{day(lo, -31)}' AND DATE '{day(hi, 31)}' GROUP BY ALL
), sums AS (
  SELECT account, report_id, {', '.join(f'sum({sign(f)} * {f}) AS {f}' for f in wb_fields)}, sum({payout}) AS bank_payment
  FROM (SELECT s.*, CASE WHEN doc_type_name = 'Возврат' THEN -1 ELSE 1 END AS sg,
               CASE WHEN o.reversal THEN -1 ELSE 1 END AS sv
        FROM kinds s LEFT JOIN {ops} o ON s.seller_oper_name = o.name) GROUP BY ALL
)
SELECT count(*), count(*) FILTER (WHERE {' OR '.join(f'h.{f}_sum <> coalesce(s.{f}, 0)' for f in wb_fields + ['bank_payment'])})
FROM {scan('wb_finance_reports')} h LEFT JOIN sums s USING (account, report_id)
WHERE h.date_from >= DATE '{lo}' AND h.date_to <= DATE '{hi}'
"""
ozon_check = f"""
WITH daily AS (
  SELECT account, date, sum(amount) AS amount FROM {scan('ozon_accruals')}
  WHERE date BETWEEN DATE '{lo}' AND DATE '{hi}' GROUP BY ALL
), st AS (
  SELECT account, period_begin, period_end, delivery_total + return_total + services_total + others_total AS total
  FROM {scan('ozon_cash_flows')}
  WHERE period_begin >= DATE '{lo}' AND period_end <= DATE '{hi}' AND delivery_total IS NOT NULL
)
SELECT count(*), count(*) FILTER (WHERE total <> rows) FROM (
  SELECT st.account, st.period_begin, any_value(st.total) AS total, coalesce(sum(d.amount), 0) AS rows
  FROM st LEFT JOIN daily d ON d.account = st.account AND d.date BETWEEN st.period_begin AND st.period_end
  GROUP BY st.account, st.period_begin)
"""
con = duckdb.connect()
# A query over 2 s draws a progress bar on stdout, where the numbers are read from.
con.execute("SET enable_progress_bar = false")
t = time.perf_counter()
rows = con.sql(q).fetchall()
checks = [con.sql(wb_check).fetchall()[0], con.sql(ozon_check).fetchall()[0]]
s = time.perf_counter() - t
names = ["orders", "revenue", "commission", "compensation", "logistics", "storage", "acceptance", "penalties",
         "other_deductions", "ad_deductions", "transfers", "additional_payments", "unclassified", "ad_spend",
         "orders_value", "buyouts_value", "returns_value", "cancellations", "buyouts", "units_sold", "units_returned", "returns"]
money = set(names[1:17])
sums = {n: int(round(sum(r[4 + i] or 0 for r in rows) * (100 if n in money else 1))) for i, n in enumerate(names)}
print(json.dumps({"seconds": s, "rows": len(rows), "sums": sums, "version": duckdb.__version__,
                  "statements": [list(c) for c in checks]}))
