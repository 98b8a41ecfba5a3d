//! Bad input, as a user or a marketplace gives it: each case must end in a clear error (the
//! field, the value where it is not a secret, the fix) and a non-zero exit, never a panic
//! (exit 101) or a silent stall. Issue #14 grows this table.

use std::time::Duration;

use mpetl::config::Config;
use mpetl::events::Events;
use mpetl::pipeline::plan::Period;
use mpetl::pipeline::{BackfillRequest, Runner};

use crate::common::mpetl_in as mpetl;

/// Runs mpetl in `dir` with `env` added.
fn mpetl_env(args: &[&str], dir: &std::path::Path, env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mpetl"));
    cmd.args(args).current_dir(dir).env_remove("MPETL_CONFIG");
    cmd.envs(env.iter().copied());
    cmd.output().expect("run mpetl")
}

/// Every file under `dir` with its bytes.
fn files_in(dir: &std::path::Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    crate::common::files_under(dir).into_iter().map(|p| (p.clone(), std::fs::read(&p).unwrap_or_default())).collect()
}

/// One case: a config file, a command, and what its error must say (all of it).
struct Case {
    name: &'static str,
    config: &'static str,
    args: &'static [&'static str],
    says: &'static [&'static str],
    /// Text that must not appear (a secret).
    never: Option<&'static str>,
    /// Environment variables of the process.
    env: &'static [(&'static str, &'static str)],
    /// Files written beside the config first (name, content).
    files: &'static [(&'static str, &'static str)],
}

/// A `plan` of June 2026 on a WB account: each case changes what it is about.
const BASE: Case = Case { name: "", config: WB, args: PLAN, says: &[], never: None, env: &[], files: &[] };

const PLAN: &[&str] = &["plan", "--from", "2026-06-01", "--to", "2026-06-30", "--sources", "wb"];
const WB: &str = "[accounts.main.wb]\ntoken = \"t\"\n";

const CASES: &[Case] = &[
    Case {
        name: "a token with a control character inside",
        config: "[accounts.main.wb]\ntoken = \"abc\\u0007secretpart\"\n",
        args: PLAN,
        says: &["accounts.main.wb.token", "control character U+0007", "character 4", "Fix"],
        never: Some("secretpart"),
        ..BASE
    },
    Case {
        name: "a date beyond what the calendar holds",
        config: WB,
        args: &["plan", "--from", "2026-06-01", "--to", "+262142-12-31", "--sources", "wb"],
        says: &["--to", "2100-12-31", "Fix"],
        ..BASE
    },
    Case {
        name: "a period from before the marketplaces' APIs",
        config: WB,
        args: &["plan", "--from", "1990-01-01", "--to", "2026-06-30", "--sources", "wb"],
        says: &["--from 1990-01-01", "2019-01-01", "Fix"],
        ..BASE
    },
    Case {
        name: "a limit period too long for a duration",
        config: "[accounts.main.wb]\ntoken = \"t\"\n[limits.wb_finance]\nperiod_secs = 1e20\nburst = 1\n",
        args: PLAN,
        says: &["limits.wb_finance", "period_secs = 100000000000000000000", "at most 86400"],
        ..BASE
    },
    Case {
        name: "an HTTP timeout of zero",
        config: "[accounts.main.wb]\ntoken = \"t\"\n[fetch]\nhttp_timeout_secs = 0\n",
        args: PLAN,
        says: &["fetch.http_timeout_secs", "\"0\"", "1 to 3600"],
        ..BASE
    },
    Case {
        name: "a lease shorter than the heartbeat can renew",
        config: "[accounts.main.wb]\ntoken = \"t\"\n[state]\nlease_secs = \"1\"\n",
        args: PLAN,
        says: &["state.lease_secs", "\"1\"", "from 10 to 3600"],
        ..BASE
    },
    Case {
        name: "a Redis reconnect window that outlasts the lease",
        config: "[accounts.main.wb]\ntoken = \"t\"\n[state]\nlease_secs = 30\nreconnect_secs = 30\n",
        args: PLAN,
        says: &["state.reconnect_secs", "\"30\"", "two thirds of state.lease_secs (30)"],
        ..BASE
    },
    Case {
        name: "fan-out with no Redis to fan out on",
        config: "[accounts.main.wb]\ntoken = \"t\"\n[state]\nfan_out = true\n",
        args: PLAN,
        says: &["state.fan_out", "\"true\"", "REDIS_URL", "Redis Stream"],
        ..BASE
    },
    Case {
        name: "a worker with no Redis to take accounts from",
        config: WB,
        args: &["worker"],
        says: &["worker takes its accounts from Redis", "Fix: set REDIS_URL"],
        ..BASE
    },
    Case {
        name: "no wait allowed at all",
        config: "[accounts.main.wb]\ntoken = \"t\"\n[fetch]\nmax_retry_wait_secs = 0\n",
        args: PLAN,
        says: &["fetch.max_retry_wait_secs", "1 to 86400"],
        ..BASE
    },
    Case {
        name: "no request allowed in flight",
        config: "[accounts.main.wb]\ntoken = \"t\"\n[fetch]\nmax_in_flight = 0\n",
        args: PLAN,
        says: &["fetch.max_in_flight", "\"0\"", "1–10000"],
        ..BASE
    },
    Case {
        name: "bench pointed at a directory it did not make",
        config: WB,
        args: &["bench", "--data-dir", "."],
        says: &["--data-dir .", "did not write", "Fix"],
        ..BASE
    },
    Case {
        name: "an unknown setting (a typo)",
        config: "[accounts.main.wb]\ntoken = \"t\"\n[fetch]\nozon_page_limt = 50\n",
        says: &["ozon_page_limt", "unknown field"],
        ..BASE
    },
    Case {
        name: "a number given as a word",
        config: "[accounts.main.wb]\ntoken = \"t\"\n[fetch]\nozon_page_limit = \"many\"\n",
        says: &["fetch.ozon_page_limit", "'many' is not a whole number"],
        ..BASE
    },
    Case {
        name: "an Ozon page of nothing",
        config: "[accounts.main.wb]\ntoken = \"t\"\n[fetch]\nozon_page_limit = 0\n",
        says: &["fetch.ozon_page_limit", "\"0\"", "1 to 100"],
        ..BASE
    },
    Case {
        name: "a time zone that does not exist",
        config: "timezone = \"Mars/Olympus\"\n[accounts.main.wb]\ntoken = \"t\"\n",
        says: &["timezone", "Mars/Olympus", "Europe/Moscow"],
        ..BASE
    },
    Case {
        name: "an endpoint that is not a URL",
        config: "[endpoints]\nwb_statistics = \"statistics-api.wildberries.ru\"\n[accounts.main.wb]\ntoken = \"t\"\n",
        says: &["endpoints.wb_statistics", "statistics-api.wildberries.ru", "https://"],
        ..BASE
    },
    Case {
        name: "an account with no marketplace",
        config: "[accounts.main]\nname = \"Shop\"\n",
        says: &["accounts.main", "[wb] or an [ozon] section"],
        ..BASE
    },
    Case {
        name: "an Ozon account without its Client-Id",
        config: "[accounts.main.ozon]\napi_key = \"k\"\n",
        args: &["backfill", "--from", "2026-06-01", "--to", "2026-06-01", "--sources", "ozon"],
        says: &["accounts.main.ozon.client_id", "Fix"],
        ..BASE
    },
    Case {
        name: "a tax mode that does not exist",
        config: "[accounts.main.wb]\ntoken = \"t\"\n[tax]\nmode = \"vat\"\nrate = \"0.2\"\n",
        says: &["tax.mode", "vat"],
        ..BASE
    },
    Case {
        name: "a tax rate written as a percentage",
        config: "[accounts.main.wb]\ntoken = \"t\"\n[tax]\nmode = \"revenue\"\nrate = \"6%\"\n",
        says: &["tax.rate", "6%", "0.06"],
        ..BASE
    },
    Case {
        name: "a state namespace with a colon",
        config: "[accounts.main.wb]\ntoken = \"t\"\n[state]\nnamespace = \"shop:1\"\n",
        says: &["state.namespace", "shop:1", "without ':'"],
        ..BASE
    },
    Case {
        name: "a limit for a bucket that does not exist",
        config: "[accounts.main.wb]\ntoken = \"t\"\n[limits.wb_everything]\nperiod_secs = 60\nburst = 1\n",
        says: &["limits.wb_everything", "known buckets", "wb_finance"],
        ..BASE
    },
    Case {
        name: "a burst of zero",
        config: "[accounts.main.wb]\ntoken = \"t\"\n[limits.wb_finance]\nperiod_secs = 60\nburst = 0\n",
        says: &["limits.wb_finance", "burst", "1"],
        ..BASE
    },
    Case {
        name: "a /report limit of zero days",
        config: "[accounts.main.wb]\ntoken = \"t\"\n[telegram]\ntoken = \"1:x\"\nmax_report_days = 0\n",
        says: &["telegram.max_report_days", "\"0\"", "1 to 3660"],
        ..BASE
    },
    Case {
        name: "a language mpetl does not speak",
        config: "[accounts.main.wb]\ntoken = \"t\"\n[telegram]\ntoken = \"1:x\"\nlanguage = \"de\"\n",
        says: &["telegram.language", "de", "ru"],
        ..BASE
    },
    Case {
        name: "a Bot API base without its scheme",
        config: "[accounts.main.wb]\ntoken = \"t\"\n[telegram]\ntoken = \"1:x\"\napi_base = \"api.telegram.org\"\n",
        says: &["telegram.api_base", "api.telegram.org", "https://api.telegram.org"],
        ..BASE
    },
    Case {
        name: "a broken TOML file",
        config: "[accounts.main.wb\ntoken = \"t\"\n",
        says: &["mpetl.toml", "line 1"],
        ..BASE
    },
    Case {
        name: "a token left unquoted (a TOML syntax error on a secret's line)",
        config: "[accounts.main.wb]\ntoken = abc-secret-xyz\n",
        says: &["mpetl.toml", "line 2"],
        never: Some("abc-secret-xyz"),
        ..BASE
    },
    Case {
        name: "a token written as a number",
        config: "[accounts.main.wb]\ntoken = 9876543210123\n",
        says: &["accounts.main.wb.token", "not shown", "in quotes"],
        never: Some("9876543210123"),
        ..BASE
    },
    Case {
        name: "a token file that is not there",
        config: "[accounts.main.wb]\ntoken_file = \"secrets/wb.token\"\n",
        says: &["secrets/wb.token", "accounts.main.wb"],
        ..BASE
    },
    Case {
        name: "no config file at all",
        args: &["--config", "nope.toml", "plan", "--from", "2026-06-01", "--to", "2026-06-30"],
        says: &["nope.toml"],
        ..BASE
    },
    Case {
        name: "an environment value that is not a number",
        env: &[("MPETL_FETCH__HTTP_TIMEOUT_SECS", "abc")],
        says: &["fetch.http_timeout_secs", "'abc' is not a whole number"],
        ..BASE
    },
    Case {
        name: "a period that ends before it starts",
        args: &["plan", "--from", "2026-06-30", "--to", "2026-06-01"],
        says: &["2026-06-30", "2026-06-01", "Fix"],
        ..BASE
    },
    Case {
        name: "a date in the Russian order",
        args: &["plan", "--from", "01.06.2026", "--to", "2026-06-30"],
        says: &["01.06.2026", "YYYY-MM-DD"],
        ..BASE
    },
    Case {
        name: "a marketplace mpetl does not pull",
        args: &["plan", "--from", "2026-06-01", "--to", "2026-06-30", "--sources", "amazon"],
        says: &["amazon", "wb", "ozon"],
        ..BASE
    },
    Case {
        name: "an account that is not in the config",
        args: &["plan", "--from", "2026-06-01", "--to", "2026-06-30", "--account", "nosuch"],
        says: &["nosuch", "main"],
        ..BASE
    },
    Case {
        name: "a decimal comma in a comma-separated costs file",
        config: "costs_file = \"costs.csv\"\n[accounts.main.wb]\ntoken = \"t\"\n",
        args: &["metrics", "--from", "2026-06-01", "--to", "2026-06-30"],
        files: &[("costs.csv", "marketplace,sku,unit_cost,valid_from\nwb,12,412,50,2026-01-01\n")],
        says: &["costs.csv", "line 2", "quote it"],
        ..BASE
    },
    Case {
        name: "a data directory under a file",
        config: "data_dir = \"blocker/data\"\n[accounts.main.wb]\ntoken = \"t\"\n",
        args: &["backfill", "--from", "2026-06-01", "--to", "2026-06-01", "--sources", "wb"],
        files: &[("blocker", "a file, not a directory")],
        says: &["blocker/data"],
        ..BASE
    },
];

#[test]
fn each_bad_input_gets_a_clear_error_and_no_panic() {
    assert!(CASES.len() >= 30, "the catalogue shrank");
    // Every case runs; the failures are listed together.
    let mut wrong = Vec::new();
    for case in CASES {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("mpetl.toml"), case.config).unwrap();
        for (name, text) in case.files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let before = files_in(dir.path());
        let o = mpetl_env(case.args, dir.path(), case.env);
        let err = String::from_utf8_lossy(&o.stderr);
        // 2: a usage or config mistake (mpetl's or the argument parser's), 1: another refusal;
        // 101 would be a panic.
        if !matches!(o.status.code(), Some(1 | 2)) {
            wrong.push(format!("{}: exit {:?}: {err}", case.name, o.status.code()));
        }
        for s in case.says.iter().filter(|s| !err.contains(*s)) {
            wrong.push(format!("{}: the error does not say {s:?}: {err}", case.name));
        }
        if files_in(dir.path()) != before {
            wrong.push(format!("{}: refused, yet it wrote or removed files", case.name));
        }
        if let Some(secret) = case.never.filter(|s| err.contains(*s)) {
            wrong.push(format!("{}: the error shows the secret {secret}: {err}", case.name));
        }
    }
    assert!(wrong.is_empty(), "{} problem(s):\n{}", wrong.len(), wrong.join("\n"));
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
            "[endpoints]\nwb_statistics = {url:?}\nwb_finance = {url:?}\nwb_advert = {url:?}\nwb_content = {url:?}\n[accounts.main.wb]\ntoken = \"t\"\n"
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
        "[endpoints]\nwb_statistics = {url:?}\nwb_finance = {url:?}\nwb_advert = {url:?}\nwb_content = {url:?}\n[accounts.main.wb]\ntoken = \"t\"\n"
    );
    let err = failed_day(&config, mpetl::dataset::Marketplace::Wb).await;
    assert!(err.contains("another shape") && err.contains("field [0]") && err.contains("Fix"), "{err}");
    assert!(err.contains("/api/"), "the endpoint is named: {err}");
    let asked = asked.lock().unwrap().clone();
    assert!(!asked.is_empty() && asked.values().all(|n| *n == 1), "each endpoint asked once: {asked:?}");
}

/// A disk that fills up mid-run, as the process sees it: writes past a size fail (RLIMIT_FSIZE,
/// EFBIG, with SIGXFSZ ignored as a full disk sends none). Each run fails naming the file and
/// leaves no temp file or unreadable partition; the next run with room completes to the truth.
/// The state is in Redis, so the lake is what overflows; the limit grows until a run completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_that_fills_up_mid_run_leaves_nothing_half_written() {
    use std::os::unix::process::CommandExt;
    let Some(redis) = crate::common::redis_server::RedisServer::start() else { return };
    let h = crate::common::harness(crate::common::small(80_000), |_| {}).await;
    let config = h.write_config("mpetl.toml", crate::common::FAST, &format!("[state]\nredis_url = {:?}\n", redis.url));
    let period = crate::common::last_days(40);
    let (from, to) = (period.from.to_string(), period.to.to_string());
    let args = ["backfill", "--from", from.as_str(), "--to", to.as_str()];
    let mut lake_overflowed = false;
    for kib in [16u64, 32, 64, 128, 256, 512, 1024] {
        let mut cmd = crate::common::mpetl(&config, &args);
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let limit = libc::rlimit { rlim_cur: kib * 1024, rlim_max: kib * 1024 };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let o = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        eprintln!("{kib} KiB: exit {:?}: {}", o.status.code(), err.lines().last().unwrap_or_default());
        if o.status.success() {
            break;
        }
        // 3 when a chunk's lake write failed (the other chunks stored), 1 when a mart or the
        // state did: never a panic, never 0.
        assert!(matches!(o.status.code(), Some(1 | 3)), "{kib} KiB: exit {:?}: {err}", o.status.code());
        assert!(err.contains("File too large") && err.contains(&h.cfg.data_dir.display().to_string()), "{err}");
        lake_overflowed |= err.contains("lake partition");
        let left = crate::common::half_written(&h.cfg.data_dir);
        assert!(left.is_empty(), "{kib} KiB: {left:?}");
    }
    assert!(lake_overflowed, "no limit made a lake write overflow: the test proved nothing about the lake");
    let o = crate::common::mpetl(&config, &args).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    crate::common::assert_matches_truth(&h.daily(&period), &h.truth(&period).await);
}

/// A Redis that accepts connections and never answers (a hung server, a firewall that drops
/// packets after the handshake): every call has a read timeout, so the command fails naming
/// the URL (without its password) instead of hanging.
#[test]
fn a_redis_that_never_answers_fails_naming_the_url_instead_of_hanging() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            held.push(s);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let config = format!("{WB}[state]\nredis_url = \"redis://:hunter2@127.0.0.1:{port}\"\n");
    std::fs::write(dir.path().join("mpetl.toml"), config).unwrap();
    let started = std::time::Instant::now();
    let o = mpetl(PLAN, dir.path());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")) && !err.contains("hunter2"), "{err}");
    // Not a speed claim: a hang would wait forever; the read timeout is 5 s.
    assert!(started.elapsed() < Duration::from_secs(60), "it hung for {:?}", started.elapsed());
}
