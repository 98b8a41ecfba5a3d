//! End to end over HTTP: sandbox → clients → lake → metrics, compared with the sandbox's truth.

use std::collections::HashSet;

use crate::common::*;
use mpetl::dataset::{Dataset, Marketplace};
use mpetl::lake::read_file;
use mpetl::pipeline::RunError;
use mpetl::state::{ChunkState, StateStore};
use mpetl_sandbox::{ProfileName, SandboxConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn year_backfill_matches_ground_truth_to_the_kopeck() {
    // Medium seller, a year; WB pages of 2000 rows so that the stream pages and repeats rows.
    // Finance pages of 1000 rows and accrual pages of 200, so those page too and end as the APIs do.
    let h = harness(
        SandboxConfig {
            profile: ProfileName::Medium,
            wb_page_cap: 2000,
            wb_finance_page_cap: 1000,
            accrual_page: 200,
            ..Default::default()
        },
        |_| {},
    )
    .await;
    let period = last_days(365);
    let report = h.backfill(&request(period)).await.expect("backfill");
    assert!(report.requests > 100, "a year of a medium seller takes many pages: {report:?}");
    // Every WB report and every Ozon statement half-month of the fetched months agrees with our
    // rows to the kopeck, on reports full of the operations real ones carry.
    let rec = report.reconciliation.as_ref().expect("marketplace totals reconciled");
    assert!(rec.reports >= 50 && rec.periods >= 20 && rec.mismatches.is_empty(), "{:?}", rec.mismatches);
    // The one operation no catalogue knows is counted and named, and the run still succeeded.
    assert!(
        report.unknown.iter().any(|u| u.marketplace == "wb" && u.name == "Корректировка стоимости складских услуг"),
        "{:?}",
        report.unknown
    );
    assert!(report.unknown.iter().any(|u| u.marketplace == "ozon" && u.name == "Корректировка взаиморасчётов"));
    assert!(!report.unknown_units.is_empty(), "cross-border lines without a quantity are listed");
    let truth = h.truth(&period).await;
    assert!(truth.iter().any(|t| t.marketplace == "wb") && truth.iter().any(|t| t.marketplace == "ozon"));
    // The truth holds every kind of money real reports carry, on both marketplaces, so matching
    // it proves each family lands where it should (not only sales and logistics).
    // (The sandbox's Ozon moves no loans.)
    let never = |mp: &str, name: &str| matches!((mp, name), ("ozon", "transfers"));
    for mp in ["wb", "ozon"] {
        for (name, _) in truth[0].figures().into_iter().filter(|(n, _)| !never(mp, n)) {
            let seen = truth
                .iter()
                .filter(|t| t.marketplace == mp)
                .any(|t| t.figures().iter().any(|(n, v)| *n == name && v.is_some_and(|v| v != 0)));
            assert!(seen, "{mp}: the sandbox year has no {name}");
        }
    }
    assert!(
        truth.iter().any(|t| t.marketplace == "ozon" && t.units_sold.is_none()),
        "a line nobody knows the units of"
    );
    assert_matches_truth(&h.daily(&period), &truth);

    // Month totals add up to the same truth, figure by figure (rollups lose nothing).
    let runner = h.runner();
    let (_, totals) = runner.metrics(&period, mpetl::metrics::Grain::Month, None).unwrap();
    let totals = mpetl::metrics::rows(&totals).unwrap();
    let months: Vec<_> = totals.iter().filter(|t| t.account == "all" && t.marketplace == "all").collect();
    for (k, (name, _)) in truth[0].figures().iter().enumerate() {
        if ["units_sold", "units_returned", "cogs"].contains(name) {
            continue; // unknown for Ozon (units of cross-border lines), so unknown in "all"
        }
        let got: i128 = months.iter().map(|m| figures(m)[k].1.expect("known total")).sum();
        let want: i128 = truth.iter().map(|t| t.figures()[k].1.unwrap_or(0)).sum();
        assert_eq!(got, want, "{name} over the year");
    }
    // Finance paging went through full pages and ended with 204, as WB does.
    let st = h.sandbox.statuses();
    let fin = |code: u16| st.get(&format!("/api/finance/v1/sales-reports/detailed {code}")).copied().unwrap_or(0);
    assert!(fin(200) > 2 * fin(204) && fin(204) > 0, "{st:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_overlapping_backfill_changes_no_row_and_requests_no_done_chunk() {
    let h = harness(small(300), |_| {}).await;
    h.backfill(&request(last_days(120))).await.expect("first backfill");
    let before_files = lake_snapshot(&h.cfg);
    let before_requests = h.sandbox.total_requests();
    assert!(before_requests > 0);

    // Overlapping and inside the first: every chunk is done (closed months, fresh open ones).
    let second = h.backfill(&request(last_days(60))).await.expect("second backfill");
    assert_eq!(h.sandbox.total_requests(), before_requests, "no request for done chunks: {:?}", h.sandbox.requests());
    assert_eq!(second.requests, 0);
    assert_eq!(second.chunks_cached, second.chunks_planned);
    assert_eq!(lake_snapshot(&h.cfg), before_files, "the lake must not change");

    // Forcing a re-read of everything still changes no row and rewrites no file (the sandbox
    // lists Ozon's fees in another order on every answer: the components are keyed by what
    // they are, not by where they stand).
    let mut forced = request(last_days(120));
    forced.refresh = true;
    let third = h.backfill(&forced).await.expect("refresh backfill");
    assert!(third.requests > 0);
    assert_eq!(third.lake.partitions_written, 0, "identical data rewrites nothing: {third:?}");
    assert_eq!(lake_snapshot(&h.cfg), before_files);
    assert_matches_truth(&h.daily(&last_days(120)), &h.truth(&last_days(120)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_repeated_across_pages_and_windows_are_counted_once() {
    // Pages of 40 rows: WB's inclusive `>=` cursor repeats the rows that share the boundary stamp.
    // Accruals are stored every 50 rows (whole days), many groups per month, not once a month.
    let h = harness(small(40), |f| f.store_every_rows = 50).await;
    let period = last_days(200);
    let report = h.backfill(&request(period)).await.expect("backfill");

    let mut stored = 0u64;
    for ds in Dataset::ALL {
        let mut keys = HashSet::new();
        for f in h.runner().lake().partition_files(ds) {
            let df = read_file(&f).unwrap();
            stored += df.height() as u64;
            let key_cols: Vec<_> = ds
                .primary_key()
                .iter()
                .map(|k| df.column(k).unwrap().cast(&polars::prelude::DataType::String).unwrap())
                .collect();
            for i in 0..df.height() {
                let k: Vec<String> = key_cols.iter().map(|c| c.get(i).unwrap().to_string()).collect();
                assert!(keys.insert(k.clone()), "{ds}: key {k:?} stored twice");
            }
        }
    }
    assert!(
        report.rows_fetched > stored,
        "the test must see repeats: fetched {} rows, stored {stored}",
        report.rows_fetched
    );

    // Postings at 00:00:00Z on the 1st fall in two inclusive month windows; they are in the
    // sandbox data, and the truth (which counts them once) still matches.
    let boundary = h.sandbox.data().ozon_postings.iter().filter(|p| p.in_process_at.timestamp() % 86_400 == 0).count();
    assert!(boundary > 0, "the sandbox must generate postings on window boundaries");
    assert_matches_truth(&h.daily(&period), &h.truth(&period).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fbs_window_over_30_days_is_split_not_failed() {
    // The client believes 60-day FBS windows are fine; the API refuses anything over 30.
    let h = harness(small(80_000), |f| f.fbs_max_window_days = 60).await;
    let period = last_days(100);
    h.backfill(&request(period)).await.expect("a too-long window is halved, not fatal");
    let statuses = h.sandbox.statuses();
    assert!(
        statuses.get("/v4/posting/fbs/list 400").copied().unwrap_or(0) > 0,
        "the API must have said PERIOD_IS_TOO_LONG: {statuses:?}"
    );
    let truth: Vec<_> = h.truth(&period).await.into_iter().filter(|t| t.marketplace == "ozon").collect();
    let got: Vec<_> = h.daily(&period).into_iter().filter(|m| m.marketplace == "ozon").collect();
    assert_matches_truth(&got, &truth);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_wb_token_stops_the_run_naming_the_account() {
    let mut h = harness(small(80_000), |_| {}).await;
    let secret = "wb-token-that-is-not-valid";
    h.cfg.accounts[0].wb.as_mut().unwrap().token = Some(secret.to_string().into());
    let mut req = request(last_days(30));
    req.sources = vec![Marketplace::Wb];
    let err = h.backfill(&req).await.expect_err("401 must fail the run");
    // One request per chunk, no retries of a permanent error.
    let RunError::Chunks { errors: failed, .. } = &err else { panic!("{err}") };
    assert_eq!(h.sandbox.total_requests(), failed.len() as u64, "{:?}", h.sandbox.requests());
    let err = err.to_string();
    assert!(err.contains("account 'demo'"), "{err}");
    assert!(err.contains("wrong, expired"), "{err}");
    assert!(err.contains("MPETL_ACCOUNTS__DEMO__WB__TOKEN"), "{err}");
    assert!(!err.contains(secret), "the token must not leak into errors: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_ozon_key_is_reported_as_a_key_problem() {
    let mut h = harness(small(80_000), |_| {}).await;
    h.cfg.accounts[0].ozon.as_mut().unwrap().api_key = Some("bad-key".to_string().into());
    let mut req = request(last_days(10));
    req.sources = vec![Marketplace::Ozon];
    let err = h.backfill(&req).await.expect_err("404 code 5 must fail").to_string();
    assert!(err.contains("Api-Key is wrong"), "{err}");
    assert!(err.contains("account 'demo'"), "{err}");
    assert!(!err.contains("bad-key"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_body_is_an_error_never_an_empty_chunk_and_the_rerun_completes() {
    let h = harness(small(80_000), |_| {}).await;
    let period = last_days(45);
    let mut req = request(period);
    req.sources = vec![Marketplace::Wb];
    // Every body cut, retries included: each chunk fails on its own, named, none "done".
    h.sandbox.truncate_next(10_000);
    let err = h.backfill(&req).await.expect_err("cut bodies must fail the run");
    let text = err.to_string();
    let RunError::Chunks { errors: failed, .. } = &err else { panic!("{text}") };
    assert!(!failed.is_empty());
    for f in failed {
        let line = f.to_string();
        assert!(line.contains("cut off or is not the expected JSON") && line.contains("gave up after"), "{line}");
    }
    {
        let store = mpetl::state::EmbeddedStore::open(&h.cfg.state_dir()).unwrap();
        for f in failed {
            let id = f.to_string().split("chunk ").nth(1).and_then(|t| t.split(':').next()).expect("named").to_string();
            assert_eq!(
                store.chunk(&id).unwrap().expect("recorded").state,
                ChunkState::Failed,
                "{id} is failed, not done"
            );
        }
    }
    assert!(lake_snapshot(&h.cfg).is_empty(), "nothing from a cut body reaches the lake");
    // The same command again completes, and the numbers are whole.
    h.sandbox.truncate_next(0);
    h.backfill(&req).await.expect("rerun");
    let truth: Vec<_> = h.truth(&period).await.into_iter().filter(|t| t.marketplace == "wb").collect();
    assert_matches_truth(&h.daily(&period), &truth);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_cut_body_is_retried_not_fatal() {
    let h = harness(small(80_000), |_| {}).await;
    let period = last_days(45);
    h.sandbox.truncate_next(1);
    let report = h.backfill(&request(period)).await.expect("one cut body is retried");
    assert_eq!(report.retries, 1, "{report:?}");
    assert_matches_truth(&h.daily(&period), &h.truth(&period).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fullstats_no_statistics_400_is_an_empty_result() {
    let h = harness(small(80_000), |_| {}).await;
    let hosts = mpetl::sources::wb::WbHosts {
        statistics: h.sandbox.base_url.clone(),
        finance: h.sandbox.base_url.clone(),
        advert: h.sandbox.base_url.clone(),
        content: h.sandbox.base_url.clone(),
    };
    let net = mpetl::http::Net::new(std::time::Duration::from_secs(10), FAST, mpetl::http::Buckets::new(FAST, None));
    let client = mpetl::sources::wb::WbClient::new(&net, hosts, mpetl_sandbox::WB_TOKEN.to_string().into(), "demo");
    let ids: Vec<i64> = h.sandbox.data().finance.campaigns.iter().map(|c| c.advert_id).collect();
    // Same-day statistics are never served: WB answers 400 "there are no statistics …".
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Moscow).date_naive();
    let stats = client.fullstats(&ids, today, today).await.expect("no statistics is not an error");
    assert!(stats.is_empty());
    assert_eq!(h.sandbox.statuses().get("/adv/v3/fullstats 400"), Some(&1), "{:?}", h.sandbox.statuses());
    // A range WB refuses for real (over 31 days) stays an error with WB's message.
    let e = client.fullstats(&ids, today - chrono::Duration::days(40), today).await.unwrap_err().to_string();
    assert!(e.contains("max date range 31 days") && e.contains("report this message"), "{e}");
    assert_eq!(h.sandbox.statuses().get("/adv/v3/fullstats 400"), Some(&2), "a 400 is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_whose_header_disagrees_with_its_rows_is_reported() {
    use chrono::Datelike;
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Moscow).date_naive();
    let day = today - chrono::Duration::days(20);
    let week = day - chrono::Duration::days(i64::from(day.weekday().num_days_from_monday()));
    let id = 300_000_000 + i64::from(week.num_days_from_ce());
    let h = harness(SandboxConfig { misreport_header: Some(id), ..small(80_000) }, |_| {}).await;
    let mut req = request(last_days(60));
    req.sources = vec![Marketplace::Wb];
    let report = h.backfill(&req).await.expect("a mismatch is reported, not fatal");
    let rec = report.reconciliation.expect("reconciled");
    let fields: Vec<(String, &str, i128)> =
        rec.mismatches.iter().map(|m| (m.statement.clone(), m.field, m.header - m.rows)).collect();
    // The header's forPaySum is 1.00 too high, and so is the bank payment.
    let report = format!("report {id}");
    assert_eq!(fields, vec![(report.clone(), "for_pay", 100), (report, "bank_payment", 100)], "{rec:?}");
    // The marts say which periods it touches: that week is not reconciled, the others are.
    let (sku, _) = h.runner().metrics(&last_days(60), mpetl::metrics::Grain::Week, None).unwrap();
    let weeks = mpetl::metrics::rows(&sku).unwrap();
    let flag = |w: chrono::NaiveDate| {
        weeks.iter().filter(|r| r.marketplace == "wb" && r.period_from == Some(w)).map(|r| r.reconciled).next()
    };
    assert_eq!(flag(week), Some(Some(false)));
    assert_eq!(flag(week - chrono::Duration::days(7)), Some(Some(true)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ozon_statement_that_disagrees_with_its_accruals_is_reported() {
    use chrono::Datelike;
    // The last half-month that has ended (UTC): Ozon forms statements for 1–15 and 16–end.
    let today = chrono::Utc::now().date_naive();
    let begin = if today.day() > 16 {
        today.with_day(1).unwrap()
    } else {
        (today.with_day(1).unwrap() - chrono::Duration::days(1)).with_day(16).unwrap()
    };
    let h = harness(SandboxConfig { misreport_cash_flow: Some(begin), ..small(80_000) }, |_| {}).await;
    let mut req = request(last_days(60));
    req.sources = vec![Marketplace::Ozon];
    let report = h.backfill(&req).await.expect("a mismatch is reported, not fatal");
    let rec = report.reconciliation.expect("reconciled");
    assert!(rec.periods >= 3, "{rec:?}");
    let fields: Vec<(&str, String, &str, i128)> =
        rec.mismatches.iter().map(|m| (m.marketplace, m.statement.clone(), m.field, m.header - m.rows)).collect();
    let end = if begin.day() == 1 {
        begin.with_day(15).unwrap()
    } else {
        mpetl::metrics::Grain::Month.end(begin.with_day(1).unwrap())
    };
    assert_eq!(fields, vec![("ozon", format!("{begin} – {end}"), "accruals", 100)], "{rec:?}");
    // The day marts of that half-month are not reconciled; the days before it are.
    let rows = h.daily(&last_days(60));
    let flag = |d: chrono::NaiveDate| {
        rows.iter().filter(|r| r.marketplace == "ozon" && r.period_from == Some(d)).map(|r| r.reconciled).next()
    };
    assert_eq!(flag(begin), Some(Some(false)));
    assert_eq!(flag(begin - chrono::Duration::days(1)), Some(Some(true)));
}

/// Issue #15: WB allows one finance request a minute, and a year a month at a time cost a page
/// and a closing 204 per month (26 requests, 26 minutes). Months not cached are one window paged
/// by rrdId: full pages and one 204 for the whole period. Each month still gets a done record
/// with its own rows (what the cache and `lake verify` read), and a second run asks nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uncached_months_of_wb_finance_are_one_window_of_full_pages() {
    let cap = 2_000;
    let h = harness(SandboxConfig { wb_finance_page_cap: cap, ..small(80_000) }, |_| {}).await;
    let period = last_days(200);
    h.backfill(&request(period)).await.expect("backfill");
    assert_matches_truth(&h.daily(&period), &h.truth(&period).await);

    let lake = mpetl::lake::Lake::new(h.cfg.lake_dir());
    let mut rows_by_month = std::collections::BTreeMap::new();
    for f in lake.partition_files(Dataset::WbFinance) {
        let month = f.to_string_lossy().split("month=").nth(1).unwrap()[..7].to_string();
        rows_by_month.insert(month, read_file(&f).unwrap().height() as u64);
    }
    let rows: u64 = rows_by_month.values().sum();
    assert!(rows > 3 * cap as u64, "several pages: {rows} rows");
    let st = h.sandbox.statuses();
    let fin = |code: u16| st.get(&format!("/api/finance/v1/sales-reports/detailed {code}")).copied().unwrap_or(0);
    assert_eq!((fin(200), fin(204)), (rows.div_ceil(cap as u64), 1), "full pages, one end: {st:?}");

    let store = mpetl::state::open(&h.cfg).unwrap();
    // The window's own record says what the fetch did; the months are the cache.
    let records = store.chunks(Some("wb_finance")).unwrap();
    let spans: Vec<_> = records.iter().filter(|r| r.id.contains("..")).collect();
    assert_eq!(spans.len(), 1, "{records:?}");
    let reports: u64 =
        lake.partition_files(Dataset::WbFinanceReports).iter().map(|f| read_file(f).unwrap().height() as u64).sum();
    assert_eq!((spans[0].state, spans[0].rows), (ChunkState::Done, rows + reports));
    // Each month's record counts its rows (and its reports' totals rows, as a month chunk did).
    for f in lake.partition_files(Dataset::WbFinanceReports) {
        let month = f.to_string_lossy().split("month=").nth(1).unwrap()[..7].to_string();
        *rows_by_month.entry(month).or_default() += read_file(&f).unwrap().height() as u64;
    }
    // A weekly report that began in the month before the period is partitioned there, and
    // counted in the period's first month.
    let first = period.from.format("%Y-%m").to_string();
    let earlier: u64 = rows_by_month.iter().filter(|(m, _)| **m < first).map(|(_, n)| n).sum();
    rows_by_month.retain(|m, _| *m >= first);
    *rows_by_month.get_mut(&first).unwrap() += earlier;
    for (month, n) in &rows_by_month {
        let rec = store.chunk(&format!("wb_finance/demo/{month}")).unwrap().expect("a record per month");
        assert_eq!((rec.state, rec.rows), (ChunkState::Done, *n), "{month}");
    }
    drop(store);

    let before = h.sandbox.total_requests();
    let again = h.backfill(&request(period)).await.expect("second backfill");
    assert_eq!((again.requests, h.sandbox.total_requests()), (0, before), "every month is cached");
}
