//! Bad input, as a user or a marketplace gives it: each case must end in a clear error (the
//! field, the value where it is not a secret, the fix) and a non-zero exit, never a panic
//! (exit 101) or a silent stall. Issue #14 grows this table.

use std::time::Duration;

use mpetl::config::Config;
use mpetl::notify::Events;
use mpetl::plan::Period;
use mpetl::run::{BackfillRequest, Runner};

use crate::common::mpetl_in as mpetl;

/// One case: a config file, a command, and what its error must say (all of it).
struct Case {
    name: &'static str,
    config: &'static str,
    args: &'static [&'static str],
    says: &'static [&'static str],
    /// Text that must not appear (a secret).
    never: Option<&'static str>,
}

const PLAN: &[&str] = &["plan", "--from", "2026-06-01", "--to", "2026-06-30", "--sources", "wb"];
const WB: &str = "[accounts.main.wb]\ntoken = \"t\"\n";

const CASES: &[Case] = &[
    Case {
        name: "a token with a control character inside",
        config: "[accounts.main.wb]\ntoken = \"abc\\u0007secretpart\"\n",
        args: PLAN,
        says: &["accounts.main.wb.token", "control character U+0007", "character 4", "Fix"],
        never: Some("secretpart"),
    },
    Case {
        name: "a date beyond what the calendar holds",
        config: WB,
        args: &["plan", "--from", "2026-06-01", "--to", "+262142-12-31", "--sources", "wb"],
        says: &["--to", "2100-12-31", "Fix"],
        never: None,
    },
    Case {
        name: "a period from before the marketplaces' APIs",
        config: WB,
        args: &["plan", "--from", "1990-01-01", "--to", "2026-06-30", "--sources", "wb"],
        says: &["--from 1990-01-01", "2019-01-01", "Fix"],
        never: None,
    },
    Case {
        name: "a limit period too long for a duration",
        config: "[accounts.main.wb]\ntoken = \"t\"\n[limits.wb_finance]\nperiod_secs = 1e20\nburst = 1\n",
        args: PLAN,
        says: &["limits.wb_finance", "period_secs = 100000000000000000000", "at most 86400"],
        never: None,
    },
    Case {
        name: "an HTTP timeout of zero",
        config: "[accounts.main.wb]\ntoken = \"t\"\n[fetch]\nhttp_timeout_secs = 0\n",
        args: PLAN,
        says: &["fetch.http_timeout_secs", "\"0\"", "1 to 3600"],
        never: None,
    },
    Case {
        name: "a lease shorter than the heartbeat can renew",
        config: "[accounts.main.wb]\ntoken = \"t\"\n[state]\nlease_secs = \"1\"\n",
        args: PLAN,
        says: &["state.lease_secs", "\"1\"", "from 10 to 3600"],
        never: None,
    },
    Case {
        name: "a Redis reconnect window that outlasts the lease",
        config: "[accounts.main.wb]\ntoken = \"t\"\n[state]\nlease_secs = 30\nreconnect_secs = 30\n",
        args: PLAN,
        says: &["state.reconnect_secs", "\"30\"", "two thirds of state.lease_secs (30)"],
        never: None,
    },
    Case {
        name: "no wait allowed at all",
        config: "[accounts.main.wb]\ntoken = \"t\"\n[fetch]\nmax_retry_wait_secs = 0\n",
        args: PLAN,
        says: &["fetch.max_retry_wait_secs", "1 to 86400"],
        never: None,
    },
    Case {
        name: "bench pointed at a directory it did not make",
        config: WB,
        args: &["bench", "--data-dir", "."],
        says: &["--data-dir .", "did not write", "Fix"],
        never: None,
    },
];

#[test]
fn each_bad_input_gets_a_clear_error_and_no_panic() {
    for case in CASES {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("mpetl.toml"), case.config).unwrap();
        let o = mpetl(case.args, dir.path());
        let err = String::from_utf8_lossy(&o.stderr);
        // 1: refused by mpetl, 2: refused by the argument parser; 101 would be a panic.
        assert!(matches!(o.status.code(), Some(1 | 2)), "{}: exit {:?}: {err}", case.name, o.status.code());
        for s in case.says {
            assert!(err.contains(s), "{}: the error does not say {s:?}: {err}", case.name);
        }
        assert!(dir.path().join("mpetl.toml").exists(), "{}: a file of the user's was removed", case.name);
        if let Some(secret) = case.never {
            assert!(!err.contains(secret), "{}: the error shows the secret: {err}", case.name);
        }
    }
}

/// Regression (issue #14, defect 1): a token pasted with its line break, or read from a file
/// saved on Windows, is trimmed; it used to panic in the HTTP client.
#[test]
fn a_token_ending_in_a_windows_line_break_is_trimmed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("wb.token"), "tok-from-file\r\n").unwrap();
    for config in ["[accounts.main.wb]\ntoken = \"pasted\\r\\n\"\n", "[accounts.main.wb]\ntoken_file = \"wb.token\"\n"]
    {
        std::fs::write(dir.path().join("mpetl.toml"), config).unwrap();
        let o = mpetl(PLAN, dir.path());
        assert!(o.status.success(), "{config}: {}", String::from_utf8_lossy(&o.stderr));
    }
    let cfg = Config::from_toml_and_env("[accounts.main.wb]\ntoken = \" pasted\\r\\n\"\n", "test", Vec::new()).unwrap();
    let token = cfg.accounts[0].wb.as_ref().and_then(|w| w.token.as_ref()).unwrap();
    assert_eq!(secrecy::ExposeSecret::expose_secret(token), "pasted");
}

/// Serves `app` on a free loopback port; its base URL.
async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Backfills one day of `marketplace` with `config` (TOML after `data_dir`), which must fail;
/// its error. A run that hangs (a wait sat out, a loop) fails the test instead.
async fn failed_day(config: &str, marketplace: mpetl::dataset::Marketplace) -> String {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!("data_dir = {:?}\n{config}", dir.path().display().to_string());
    let runner = Runner::open(Config::from_toml_and_env(&toml, "test", Vec::new()).unwrap(), Events::none()).unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    let req = BackfillRequest { sources: vec![marketplace], ..BackfillRequest::new(Period::new(day, day).unwrap()) };
    let run = tokio::spawn(async move { runner.backfill(&req).await });
    tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the run ends instead of waiting or paging forever")
        .expect("no panic")
        .expect_err("the server refuses")
        .to_string()
}

/// A server that answers every request with 429 and `header: value`.
async fn always_429(header: &'static str, value: &'static str) -> String {
    use axum::http::StatusCode;
    serve(axum::Router::new().fallback(move || async move {
        (StatusCode::TOO_MANY_REQUESTS, [(header, value)], "{\"title\":\"too many requests\"}")
    }))
    .await
}

/// Regression (issue #14, defect 2): a `Retry-After` of `inf` or `1e20` panicked in
/// `Duration::from_secs_f64`, and a finite day-long one stalled the run for that day. Now a
/// wait beyond `fetch.max_retry_wait_secs` fails the chunk at once, resumable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_or_infinite_retry_after_fails_the_chunk_instead_of_panicking_or_stalling() {
    for (header, value) in [("x-ratelimit-retry", "inf"), ("x-ratelimit-retry", "1e20"), ("retry-after", "86400")] {
        let url = always_429(header, value).await;
        let config = format!(
            "[endpoints]\nwb_statistics = {url:?}\nwb_finance = {url:?}\nwb_advert = {url:?}\n[accounts.main.wb]\ntoken = \"t\"\n"
        );
        // A stall would outlive the test's patience: the wait asked for is a day or more.
        let err = failed_day(&config, mpetl::dataset::Marketplace::Wb).await;
        assert!(
            err.contains("more than fetch.max_retry_wait_secs (900 s)") && err.contains("--resume"),
            "{header}: {value}: {err}"
        );
        let asked = if value == "86400" { "asked to wait 86400 s" } else { "asked to wait forever" };
        assert!(err.contains(asked), "{header}: {value}: {err}");
    }
}

/// Regression (issue #14, defect 5): Ozon's posting lists had no guard against a cursor sent
/// again; a server that repeats one made an endless loop with growing memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ozon_cursor_sent_twice_fails_the_chunk_instead_of_paging_forever() {
    let page = serde_json::json!({
        "postings": [{
            "posting_number": "1-1-1", "status": "delivered", "in_process_at": "2026-06-01T10:00:00Z",
            "products": [{"sku": 1, "quantity": 1, "price": {"amount": "100", "currency": "RUB"}}]
        }],
        "has_next": true,
        "cursor": "c1"
    });
    let list = move || {
        let page = page.clone();
        async move { axum::Json(page) }
    };
    // The other methods (accruals, the statement) refuse at once, so only the lists run.
    let app = axum::Router::new()
        .route("/v3/posting/fbo/list", axum::routing::post(list.clone()))
        .route("/v4/posting/fbs/list", axum::routing::post(list))
        .fallback(|| async { (axum::http::StatusCode::FORBIDDEN, "{\"code\":7,\"message\":\"no access\"}") });
    let url = serve(app).await;
    let config = format!("[endpoints]\nozon = {url:?}\n[accounts.main.ozon]\nclient_id = \"1\"\napi_key = \"k\"\n");
    let err = failed_day(&config, mpetl::dataset::Marketplace::Ozon).await;
    assert!(err.contains("sent cursor \"c1\" a second time") && err.contains("Fix"), "{err}");
}

/// Regression (issue #14, defect 6): a 200 body of another shape (a field missing or of another
/// type) was retried six times as if cut off: six minutes per chunk at WB's 1/min. It is asked
/// once, and the error names the field and the endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_of_another_shape_is_not_asked_again_and_names_the_field() {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};
    let asked: Arc<Mutex<BTreeMap<String, u32>>> = Arc::default();
    let counter = asked.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let counter = counter.clone();
        async move {
            *counter.lock().unwrap().entry(uri.path().to_string()).or_default() += 1;
            axum::Json(serde_json::json!([{"nmId": "twelve", "date": "2026-06-01T10:00:00"}]))
        }
    });
    let url = serve(app).await;
    let config = format!(
        "[endpoints]\nwb_statistics = {url:?}\nwb_finance = {url:?}\nwb_advert = {url:?}\n[accounts.main.wb]\ntoken = \"t\"\n"
    );
    let err = failed_day(&config, mpetl::dataset::Marketplace::Wb).await;
    assert!(err.contains("another shape") && err.contains("field [0]") && err.contains("Fix"), "{err}");
    assert!(err.contains("/api/"), "the endpoint is named: {err}");
    let asked = asked.lock().unwrap().clone();
    assert!(!asked.is_empty() && asked.values().all(|n| *n == 1), "each endpoint asked once: {asked:?}");
}
