//! Jobs: file validation, the nightly incremental run's requests, Telegram progress and one
//! summary per run, Telegram down, two `schedule` replicas on one Redis. The bot is in `bot.rs`.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use crate::common::redis_server::RedisServer;
use crate::common::*;
use mpetl::config::TelegramConfig;
use mpetl::metrics::Grain;
use mpetl::money::format_kopecks_human;
use mpetl::pipeline::BackfillRequest;
use mpetl_sandbox::telegram::{BOT_TOKEN, BotApi, TgFault};
use polars::prelude::{DataFrame, IntoLazy, col, lit};

pub(crate) const CHAT: i64 = 777;

pub(crate) fn telegram(api_base: &str) -> TelegramConfig {
    TelegramConfig {
        token: BOT_TOKEN.to_string().into(),
        api_base: api_base.into(),
        lang: Default::default(),
        allowed_chats: vec![CHAT],
        allowed_users: Vec::new(),
        max_report_days: 366,
        delivery_patience: Duration::from_secs(3),
    }
}

fn job_file(h: &Harness, name: &str, body: &str) -> mpetl::jobs::Job {
    let dir = h.dir.path().join(format!("jobs-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, format!("name = {name:?}\n{body}")).unwrap();
    mpetl::jobs::load_file(&path, &h.cfg).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_job_files_give_clear_errors() {
    let h = harness(small(80_000), |_| {}).await;
    let config = h.write_config("mpetl.toml", FAST, "");
    let cases = [
        ("cron = \"0 3 * * *\"\nkind = \"incremental\"\n", ["cron", "0 3 * * *", "seconds first"]),
        ("cron = \"0 0 3 * * *\"\nkind = \"nightly\"\n", ["kind", "nightly", "incremental or backfill"]),
        (
            "cron = \"0 0 3 * * *\"\nkind = \"incremental\"\n[lookback]\nwb_nothing = 3\n",
            ["lookback", "wb_nothing", "wb_finance"],
        ),
        ("cron = \"0 0 3 * * *\"\nkind = \"backfill\"\nto = \"2026-01-31\"\n", ["from", "(missing)", "YYYY-MM-DD"]),
        ("cron = \"0 0 3 * * *\"\nkind = \"incremental\"\naccounts = [\"other\"]\n", ["accounts", "other", "demo"]),
        // Regression (issue #14, defect 12): an empty list ran nothing and recorded "done".
        ("cron = \"0 0 3 * * *\"\nkind = \"incremental\"\naccounts = []\n", ["accounts", "[]", "leave the key out"]),
        (
            "cron = \"0 0 3 * * *\"\nkind = \"incremental\"\n[summary]\nperiod = \"fortnight\"\n",
            ["summary.period", "fortnight", "last_7_days"],
        ),
        (
            "cron = \"0 0 3 * * *\"\nkind = \"incremental\"\n[post]\ntelegram_chat = 5\n",
            ["post.telegram_chat", "5", "[telegram]"],
        ),
        ("cron = \"0 0 3 * * *\"\nkind = \"incremental\"\ncolour = \"red\"\n", ["unknown field", "colour", "cron"]),
    ];
    for (i, (body, want)) in cases.iter().enumerate() {
        let dir = h.dir.path().join(format!("bad-{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("j.toml"), format!("name = \"j\"\n{body}")).unwrap();
        let out = mpetl(&config, &["job", "list", "--jobs", &dir.display().to_string()]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "case {i} must fail");
        assert!(err.contains("j.toml"), "case {i} names the file: {err}");
        for w in want {
            assert!(err.contains(w), "case {i}: {w:?} missing from: {err}");
        }
    }
    // Two files, one name.
    let dir = h.dir.path().join("dup");
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["a.toml", "b.toml"] {
        std::fs::write(dir.join(f), "name = \"same\"\ncron = \"0 0 3 * * *\"\nkind = \"incremental\"\n").unwrap();
    }
    let out = mpetl(&config, &["job", "list", "--jobs", &dir.display().to_string()]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("\"same\"") && err.contains("a.toml") && err.contains("b.toml"),
        "{err}"
    );
    // The shipped jobs are valid.
    let ok = mpetl(&config, &["job", "list", "--jobs", concat!(env!("CARGO_MANIFEST_DIR"), "/jobs")]).output().unwrap();
    assert!(ok.status.success() && String::from_utf8_lossy(&ok.stdout).contains("nightly"));
}

/// The months of `[today − days, yesterday]` (Moscow days, as YYYY-MM): every one of them. The
/// first and last day's alone missed the middle month of a 40-day lookback from 23 October to
/// 1 December, and this test failed on 2 December.
fn months_of(days: i64) -> BTreeSet<String> {
    let p = last_days(days);
    p.from.iter_days().take_while(|d| *d <= p.to).map(|d| d.format("%Y-%m").to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nightly_job_run_twice_asks_only_what_cursors_and_lookback_need() {
    // Open months and streams count as stale at once, so the lookback decides what is read.
    let h = harness(small(80_000), |f| {
        f.open_chunk_ttl_hours = 0;
        f.wb_stats_refresh_minutes = 0;
    })
    .await;
    let period = last_days(80);
    h.backfill(&BackfillRequest { grains: Grain::ALL.to_vec(), ..request(period) }).await.unwrap();
    // The marts of every month the nightly runs do not touch, as the backfill left them.
    let marts = ["sku_day", "sku_week", "sku_month", "totals_day", "totals_week", "totals_month"];
    let first = months_of(41).into_iter().min().unwrap() + "-01";
    let first = chrono::NaiveDate::parse_from_str(&first, "%Y-%m-%d").unwrap();
    let earlier = |mart: &str| {
        // A week that ends in the first touched month's first days is recomputed whole.
        let cutoff = if mart.ends_with("week") { first - chrono::Duration::days(7) } else { first };
        let df = mpetl::metrics::marts::read_all(&h.cfg.marts_dir(), mart).unwrap().expect(mart);
        df.lazy().filter(col("period_to").lt(lit(cutoff))).collect().unwrap()
    };
    let before: Vec<DataFrame> = marts.iter().map(|m| earlier(m)).collect();
    assert!(before.iter().all(|df| df.height() > 0), "the backfill wrote earlier periods");
    // Month files: the months before the first touched one are not even rewritten (a week mart
    // recomputes a week that starts in the month before, so its file for that month may be).
    let untouched_files = || -> Vec<(std::path::PathBuf, std::time::SystemTime)> {
        let (day, week) =
            (first.format("%Y-%m").to_string(), (first - chrono::Duration::days(1)).format("%Y-%m").to_string());
        files_under(&h.cfg.marts_dir())
            .into_iter()
            .filter(|p| {
                let keep =
                    if p.parent().is_some_and(|d| d.to_string_lossy().ends_with("_week")) { &week } else { &day };
                p.file_stem().and_then(|s| s.to_str()).is_some_and(|m| m.len() == 7 && m < keep.as_str())
            })
            .map(|p| {
                let t = std::fs::metadata(&p).unwrap().modified().unwrap();
                (p, t)
            })
            .collect()
    };
    let files_before = untouched_files();
    assert!(files_before.len() >= 6, "month files of earlier months: {files_before:?}");
    let job = job_file(
        &h,
        "nightly",
        "cron = \"0 30 3 * * *\"\nkind = \"incremental\"\n[lookback]\ndefault = 2\nwb_finance = 40\nozon_accruals = 5\n",
    );
    for round in 0..2 {
        let store = mpetl::state::open(&h.cfg).unwrap();
        let cursors: Vec<Option<String>> = ["demo/wb_orders", "demo/wb_sales"]
            .iter()
            .map(|k| store.stream(k).unwrap().and_then(|s| s.cursor))
            .collect();
        let at = h.sandbox.request_log().len();
        let out = mpetl::schedule::run_job(&h.cfg, store, &job, false, None).await;
        let report = out.result.unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert!(report.requests > 0);
        let mut snapshots = 0;
        for r in &h.sandbox.request_log()[at..] {
            let text = format!("{} {}", r.query, r.body);
            let month = (0..text.len().saturating_sub(9))
                .find_map(|i| {
                    let w = text.get(i..i + 10)?;
                    let b = w.as_bytes();
                    (b[4] == b'-' && b[7] == b'-' && w.replace('-', "").chars().all(|c| c.is_ascii_digit()))
                        .then(|| w[..7].to_string())
                })
                .unwrap_or_default();
            let allowed = match r.path.as_str() {
                "/api/v1/supplier/orders" | "/api/v1/supplier/sales" => {
                    // Streams go on from their cursors.
                    let i = usize::from(r.path.ends_with("sales"));
                    let from =
                        r.query.split('&').find_map(|kv| kv.strip_prefix("dateFrom=")).unwrap().replace("%3A", ":");
                    let cursor = cursors[i].as_deref().unwrap();
                    assert!(
                        mpetl::clock::parse_wb_naive(&from) >= mpetl::clock::parse_wb_naive(cursor),
                        "round {round}: {} from {from}, before the cursor {cursor}",
                        r.path
                    );
                    continue;
                }
                "/adv/v1/promotion/count" | "/v1/finance/accrual/types" | "/v1/description-category/tree" => continue,
                // The whole current stock (an early dateFrom) and the catalogues: "now", whatever
                // the lookback, one snapshot a run (the open-chunk TTL is 0 here).
                "/api/v1/supplier/stocks" => {
                    snapshots += 1;
                    continue;
                }
                "/content/v2/get/cards/list"
                | "/v3/product/list"
                | "/v3/product/info/list"
                | "/v4/product/info/attributes" => continue,
                p if p.starts_with("/api/finance/") => months_of(40),
                "/v1/finance/accrual/by-day" | "/v1/finance/cash-flow-statement/list" => months_of(5),
                _ => months_of(2),
            };
            assert!(
                allowed.contains(&month),
                "round {round}: {} asked for {month}, outside its lookback {allowed:?}",
                r.path
            );
        }
        assert_eq!(snapshots, 1, "round {round}: one stock snapshot");
    }
    // Re-reading the lookback twice counted nothing twice.
    assert_matches_truth(&h.daily(&period), &h.truth(&period).await);
    // The nightly runs recomputed their own months only: every earlier period is still in the
    // marts, row for row as the backfill wrote it (they used to be replaced by the run's days).
    for (mart, was) in marts.iter().zip(&before) {
        assert!(earlier(mart).equals_missing(was), "{mart}: earlier periods changed");
    }
    assert_eq!(untouched_files(), files_before, "the files of untouched months were rewritten");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_posts_live_progress_then_one_summary_with_the_true_numbers_and_a_chart() {
    let api = BotApi::start().unwrap();
    let mut h = harness(small(80_000), |_| {}).await;
    h.cfg.telegram = Some(telegram(&api.base_url));
    let job = job_file(
        &h,
        "weekly",
        &format!(
            "cron = \"0 0 4 * * Mon\"\nkind = \"incremental\"\n[lookback]\ndefault = 7\n[summary]\nperiod = \"last_7_days\"\n[post]\ntelegram_chat = {CHAT}\n"
        ),
    );
    let store = mpetl::state::open(&h.cfg).unwrap();
    let out = mpetl::schedule::run_job(&h.cfg, store.clone(), &job, false, None).await;
    let report = out.result.expect("the run");
    assert!(out.notes.is_empty(), "{:?}", out.notes);
    let msgs = api.messages(CHAT);
    assert_eq!(msgs.len(), 3, "progress, summary, chart: {msgs:?}");
    assert!(msgs[0].text.contains("✅ Готово"), "{}", msgs[0].text);
    let summary = &msgs[1].text;
    assert_eq!(Some(msgs[1].id), out.summary_message);
    // The numbers are the sandbox's truth for the last 7 days, to the kopeck.
    let truth = h.truth(&last_days(7)).await;
    let revenue: i64 = truth.iter().map(|t| t.revenue).sum();
    let ad: i64 = truth.iter().map(|t| t.ad_spend).sum();
    for want in [format_kopecks_human(i128::from(revenue)), format_kopecks_human(i128::from(ad))] {
        assert!(summary.contains(&format!("{want} ₽")), "{want} missing from the summary:\n{summary}");
    }
    assert!(summary.contains("Итого") && summary.contains("Wildberries") && summary.contains("Ozon"));
    // The same summary in English, by config.
    let en = mpetl::summary::Summary::compute(&h.cfg, "Shop", last_days(7), None)
        .unwrap()
        .html(mpetl::notify::telegram::Lang::En);
    assert!(
        en.contains("Net profit") && en.contains("Total") && en.contains(&format_kopecks_human(i128::from(revenue))),
        "{en}"
    );
    // The chart, a photo shown inline (the emulator refuses a photo Telegram would refuse): small,
    // and its image data inflates to 800×400 RGB rows.
    let (name, png) = msgs[2].file.clone().expect("the chart is a photo");
    assert!(name.ends_with(".png") && png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() <= 60 * 1024, "{}", png.len());
    assert!(api.calls().iter().any(|c| c.method == "sendPhoto" && c.status == 200));
    let idat = png.windows(4).position(|w| w == b"IDAT").expect("an IDAT chunk");
    let len = u32::from_be_bytes(png[idat - 4..idat].try_into().unwrap()) as usize;
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(&png[idat + 4..idat + 4 + len]), &mut raw).unwrap();
    assert_eq!(raw.len(), (800 * 3 + 1) * 400);
    // Once per run: posting the same run's summary again does nothing.
    let again = mpetl::schedule::post_summary(
        &h.cfg,
        store.as_ref(),
        h.cfg.telegram.as_ref().unwrap(),
        CHAT,
        None,
        &report.run_id,
        last_days(7),
    )
    .await
    .unwrap();
    assert_eq!(again, None);
    assert_eq!(api.messages(CHAT).len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_down_or_failing_never_fails_the_run_and_never_doubles_the_summary() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut h = harness(small(80_000), |_| {}).await;
    h.cfg.telegram = Some(telegram(&format!("http://127.0.0.1:{port}")));
    let body = format!(
        "cron = \"0 0 4 * * *\"\nkind = \"incremental\"\n[summary]\nperiod = \"yesterday\"\n[post]\ntelegram_chat = {CHAT}\n"
    );
    let job = job_file(&h, "down", &body);
    let out = mpetl::schedule::run_job(&h.cfg, mpetl::state::open(&h.cfg).unwrap(), &job, false, None).await;
    assert!(out.result.is_ok(), "the ETL does not depend on Telegram");
    assert!(out.notes.iter().any(|n| n.contains("summary not posted") && n.contains("unreachable")), "{:?}", out.notes);

    // A 502 on the summary may have delivered it: it is not sent a second time.
    let api = BotApi::start().unwrap();
    h.cfg.telegram = Some(telegram(&api.base_url));
    let job = job_file(&h, "flaky", &body);
    let store = mpetl::state::open(&h.cfg).unwrap();
    // The progress message goes first; fail the summary, the second sendMessage.
    let out = {
        let api = &api;
        let run = mpetl::schedule::run_job(&h.cfg, store, &job, false, None);
        let fault = async {
            // Wait for the progress message, then fail the next send (the summary).
            loop {
                if api.calls().iter().any(|c| c.method == "sendMessage") {
                    api.inject("sendmessage", TgFault::Server, 1);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        let (out, ()) = tokio::join!(run, fault);
        out
    };
    assert!(out.result.is_ok());
    let sends: Vec<_> = api.calls().into_iter().filter(|c| c.method == "sendMessage").collect();
    assert_eq!(sends.iter().filter(|c| c.status == 502).count(), 1, "{sends:?}");
    assert_eq!(sends.len(), 2, "progress + one summary attempt, never repeated after a 502: {sends:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_schedule_processes_on_one_redis_fire_each_tick_once() {
    // Both replicas are told of Redis only by REDIS_URL, as the README and compose files do
    // (regression, issue #16: the variable was documented but never read, so each replica ran on
    // its own embedded store and every tick fired twice).
    let Some(server) = RedisServer::start() else { return };
    let h = harness(small(80_000), |_| {}).await;
    let config = h.write_config("mpetl.toml", FAST, "[state]\nnamespace = \"sched\"\n");
    let jobs = h.dir.path().join("jobs");
    std::fs::create_dir_all(&jobs).unwrap();
    std::fs::write(
        jobs.join("tick.toml"),
        "name = \"tick\"\ncron = \"*/3 * * * * *\"\nkind = \"incremental\"\nsources = [\"ozon\"]\nmissed = \"skip\"\n[lookback]\ndefault = 1\n",
    )
    .unwrap();
    let spawn = || {
        mpetl(&config, &["schedule", "--jobs", &jobs.display().to_string()])
            .env("REDIS_URL", &server.url)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    tokio::time::sleep(Duration::from_secs(10)).await;
    for c in [&a, &b] {
        unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
    }
    let outs: Vec<String> = [a, b]
        .into_iter()
        .map(|c| {
            let o = c.wait_with_output().unwrap();
            assert!(o.status.success(), "schedule stops cleanly on SIGTERM");
            String::from_utf8_lossy(&o.stdout).into_owned()
        })
        .collect();
    // "job tick: tick <time>: run <id> done" — one line per run, across both processes.
    let mut ran: Vec<String> = Vec::new();
    for out in &outs {
        for line in out.lines().filter(|l| l.contains(": run ") && l.contains(" done")) {
            ran.push(line.split(": run ").next().unwrap().to_string());
        }
    }
    let distinct: BTreeSet<&String> = ran.iter().collect();
    assert!(ran.len() >= 2, "at least two ticks ran: {outs:?}");
    assert_eq!(distinct.len(), ran.len(), "no tick ran twice: {ran:?}\n{outs:?}");
    assert!(outs.iter().any(|o| o.contains(" runs on ")), "the other replica saw each tick taken: {outs:?}");
    let store = mpetl::state::RedisStore::open(&server.url, "sched").unwrap();
    use mpetl::state::StateStore;
    assert_eq!(store.runs(50).unwrap().len(), ran.len(), "one run record per tick");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_tick_runs_once_on_start_and_sigterm_checkpoints_it() {
    // Real limits ÷ 30: the catch-up run lasts seconds, long enough to be stopped.
    let sb = mpetl_sandbox::SandboxConfig { enforce_limits: Some(30), ..small(80_000) };
    let h = harness(sb, |f| f.time_scale = 30).await;
    let config = h.write_config("mpetl.toml", 30, "");
    let jobs = h.dir.path().join("jobs");
    std::fs::create_dir_all(&jobs).unwrap();
    // Daily at 03:00: the last tick was hours ago and never ran.
    std::fs::write(
        jobs.join("daily.toml"),
        "name = \"daily\"\ncron = \"0 0 3 * * *\"\nkind = \"incremental\"\nmissed = \"run_once\"\n[lookback]\ndefault = 40\n",
    )
    .unwrap();
    let schedule = || {
        mpetl(&config, &["schedule", "--jobs", &jobs.display().to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let first = schedule();
    // Stop it once the catch-up run is under way.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let out = mpetl(&config, &["status", "--json"]).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if v[0]["chunks_done"].as_u64() > Some(2) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the missed tick did not run");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    unsafe { libc::kill(first.id() as i32, libc::SIGTERM) };
    let out = first.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("was missed; running it now") && text.contains("was stopped before it finished"), "{text}");

    // Started again, the tick is still missed (no success since): it runs again and finishes
    // what the stopped run left.
    let requests_before = h.sandbox.total_requests();
    let second = schedule();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let out = mpetl(&config, &["job", "list", "--jobs", &jobs.display().to_string()]).output().unwrap();
        if String::from_utf8_lossy(&out.stdout).contains("last: done") {
            break;
        }
        if std::time::Instant::now() > deadline {
            unsafe { libc::kill(second.id() as i32, libc::SIGTERM) };
            let o = second.wait_with_output().unwrap();
            panic!("the catch-up did not finish: {}", String::from_utf8_lossy(&o.stdout));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    unsafe { libc::kill(second.id() as i32, libc::SIGTERM) };
    assert!(second.wait_with_output().unwrap().status.success());
    assert!(h.sandbox.total_requests() > requests_before);
    let p = last_days(40);
    assert_matches_truth(&h.daily(&p), &h.truth(&p).await);
}
