//! Run records, `mpetl status`, `mpetl cache`, resume by id, leases between processes, and a
//! clean stop on SIGTERM — through the real binary where a seller or operator would use it.

use std::process::Stdio;
use std::time::Duration;

use crate::common::redis_server::RedisServer;
use crate::common::*;
use mpetl::dataset::Dataset;
use mpetl::pipeline::plan::Period;
use mpetl::state::{Acquired, ChunkState, RunStatus, StateStore};
use mpetl_sandbox::SandboxConfig;
use serde_json::Value;

fn json_of(cmd: &mut std::process::Command) -> Value {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn stdout_of(cmd: &mut std::process::Command) -> (bool, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_lists_runs_and_shows_each_chunk() {
    let h = harness(small(80_000), |_| {}).await;
    let config = h.write_config("mpetl.toml", FAST, "");
    let period = last_days(40);
    let report = h.backfill(&request(period)).await.unwrap();

    let runs = json_of(mpetl(&config, &["status", "--json"]).stdout(Stdio::piped()));
    let run = &runs[0];
    assert_eq!(run["id"], report.run_id.as_str());
    assert_eq!(run["effective_status"], "done");
    assert_eq!(
        run["chunks_total"],
        report.chunks_planned + 3,
        "the plan, the marts and the reconciliation count one step each"
    );
    assert_eq!(run["chunks_done"], run["chunks_total"]);
    assert_eq!(run["from"], period.from.to_string());

    let detail = json_of(mpetl(&config, &["status", &report.run_id, "--json"]).stdout(Stdio::piped()));
    let chunks = detail["chunks"].as_array().unwrap();
    assert_eq!(chunks.len() as u64, report.chunks_planned);
    assert!(chunks.iter().all(|c| c["record"]["state"] == "done"), "{chunks:?}");
    let rows: u64 = chunks.iter().map(|c| c["record"]["rows"].as_u64().unwrap()).sum();
    assert_eq!(rows, report.rows_fetched, "the chunk records add up to the run's rows");

    let (ok, text, _) = stdout_of(&mut mpetl(&config, &["status"]));
    assert!(ok && text.contains(&report.run_id) && text.contains("done"), "{text}");
    let (ok, _, err) = stdout_of(&mut mpetl(&config, &["status", "20990101-000000-ffffff"]));
    assert!(!ok && err.contains("no run 20990101-000000-ffffff") && err.contains("mpetl status"), "{err}");
}

/// A backfill of the last 70 days started as a process, against a sandbox enforcing the real
/// limits divided by `scale` (and a config paced to them); its stderr is piped.
async fn backfill_under_limits(scale: u32) -> (Harness, std::path::PathBuf, Period, std::process::Child) {
    let sb = SandboxConfig { enforce_limits: Some(scale), ..small(80_000) };
    let h = harness(sb, |f| f.time_scale = scale).await;
    let config = h.write_config("mpetl.toml", scale, "");
    let period = last_days(70);
    let (from, to) = (period.from.to_string(), period.to.to_string());
    let child = mpetl(&config, &["backfill", "--from", &from, "--to", &to])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    (h, config, period, child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_follows_a_running_backfill_and_sigterm_stops_it_resumably() {
    // Real limits ÷ 15: the run takes seconds (WB finance's window: two requests 4 s apart),
    // long enough to watch and to stop.
    let (h, config, period, child) = backfill_under_limits(15).await;

    // The embedded store is read next to the writing process.
    let mut seen_running = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let out = mpetl(&config, &["status", "--json"]).output().unwrap();
        let Ok(v) = serde_json::from_slice::<Value>(&out.stdout) else { continue };
        if let Some(r) = v.as_array().and_then(|a| a.first())
            && r["effective_status"] == "running"
            && r["chunks_done"].as_u64() > Some(1)
        {
            seen_running = Some(r.clone());
            break;
        }
    }
    let running = seen_running.expect("status shows the run while it runs");
    assert!(running["chunks_done"].as_u64() < running["chunks_total"].as_u64(), "{running}");
    let id = running["id"].as_str().unwrap().to_string();

    // SIGTERM: the run stops at the next page, says how to resume, and exits non-zero.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = tokio::task::block_in_place(|| child.wait_with_output()).unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{running}\n{err}");
    assert!(err.contains(&format!("--resume {id}")), "{err}");
    let after = json_of(mpetl(&config, &["status", &id, "--json"]).stdout(Stdio::piped()));
    assert_eq!(after["run"]["effective_status"], "interrupted");

    let (ok, text, err) = stdout_of(&mut mpetl(&config, &["backfill", "--resume", &id]));
    assert!(ok, "{err}");
    assert!(text.contains(&format!("Run {id}")), "the resumed run keeps its id: {text}");
    let done = json_of(mpetl(&config, &["status", &id, "--json"]).stdout(Stdio::piped()));
    assert_eq!(done["run"]["effective_status"], "done");
    assert_eq!(done["run"]["attempts"], 2);
    assert_matches_truth(&h.daily(&period), &h.truth(&period).await);

    let (ok, _, err) = stdout_of(&mut mpetl(&config, &["backfill", "--resume", &id]));
    assert!(!ok && err.contains("nothing to resume"), "{err}");
}

// Regression (sigterm_waited_for_the_next_slot): a request waiting for its rate-limit slot saw
// the stop only once the slot came, and WB finance's slot is a minute away (more with several
// months queued): under systemd's TimeoutStopSec the run was killed instead of checkpointed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_the_real_limits_does_not_wait_for_the_next_slot() {
    let (h, config, _, mut child) = backfill_under_limits(1).await;

    // WB finance's window asks a page a minute: after the first, the next waits for its slot.
    let finance = "/api/finance/v1/sales-reports/detailed";
    let mut started = false;
    for _ in 0..300 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if h.sandbox.request_log().iter().any(|r| r.path.starts_with(finance)) {
            started = true;
            break;
        }
    }
    assert!(started, "WB finance was asked within 30 s");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let asked = h.sandbox.request_log().iter().filter(|r| r.path.starts_with(finance)).count();
    assert_eq!(asked, 1, "one finance request a minute: the next page is waiting for its slot");

    let sent = std::time::Instant::now();
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    // The next finance slot is ~58 s away; a stop that waits for it is the bug.
    let mut status = None;
    for _ in 0..300 {
        if let Some(s) = child.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Some(status) = status else {
        child.kill().unwrap();
        panic!("still running 30 s after SIGTERM: it waits for the rate-limit slot");
    };
    let waited = sent.elapsed();
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(!status.success() && err.contains("--resume"), "stopped resumably: {err}");
    assert_eq!(
        h.sandbox.request_log().iter().filter(|r| r.path.starts_with(finance)).count(),
        1,
        "no finance request went out after the stop"
    );
    let runs = json_of(mpetl(&config, &["status", "--json"]).stdout(Stdio::piped()));
    assert_eq!(runs[0]["effective_status"], "interrupted", "{runs}");
    eprintln!("stopped {waited:?} after SIGTERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_stats_count_hits_and_invalidate_refetches_only_what_it_dropped() {
    let h = harness(small(80_000), |_| {}).await;
    let config = h.write_config("mpetl.toml", FAST, "");
    let period = last_days(70);
    let first = h.backfill(&request(period)).await.unwrap();
    let second = h.backfill(&request(period)).await.unwrap();
    assert_eq!(second.chunks_cached, second.chunks_planned);

    let stats = json_of(mpetl(&config, &["cache", "stats", "--json"]).stdout(Stdio::piped()));
    let stats = stats.as_array().unwrap();
    let sum = |k: &str| stats.iter().map(|d| d[k].as_u64().unwrap()).sum::<u64>();
    // The first run fetched WB finance's months as one window; the cache keeps each month, and
    // the second run plans each month, cached.
    assert_eq!(sum("entries"), second.chunks_planned);
    assert_eq!(sum("misses"), sum("entries"), "the first run missed every chunk");
    assert_eq!(sum("hits"), second.chunks_planned, "the second hit every chunk");
    assert_eq!(sum("rows"), first.rows_fetched);
    let fin = stats.iter().find(|d| d["dataset"] == "wb_finance").unwrap();
    assert_eq!(fin["hit_ratio"].as_f64(), Some(0.5));
    let lake_bytes: u64 = mpetl::dataset::Dataset::ALL
        .iter()
        .flat_map(|d| h.runner().lake().partition_files(*d))
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    assert_eq!(sum("lake_bytes"), lake_bytes, "every lake byte belongs to one dataset row");

    // Drop the finance chunk of the period's last month; only it is fetched again.
    let month = period.to.format("%Y-%m").to_string();
    let first_day = format!("{month}-01");
    let (ok, text, err) =
        stdout_of(&mut mpetl(&config, &["cache", "invalidate", "--dataset", "wb_finance", "--from", &first_day]));
    assert!(ok, "{err}");
    assert!(text.contains(&format!("dropped wb_finance/demo/{month}")) && text.contains("1 cached chunk(s)"), "{text}");
    let at = h.sandbox.request_log().len();
    let third = h.backfill(&request(period)).await.unwrap();
    assert_eq!(third.chunks_planned - third.chunks_cached, 1);
    let paths: std::collections::BTreeSet<String> =
        h.sandbox.request_log()[at..].iter().map(|r| r.path.clone()).collect();
    assert!(paths.iter().all(|p| p.starts_with("/api/finance/v1/sales-reports/")), "{paths:?}");
    assert_matches_truth(&h.daily(&period), &h.truth(&period).await);

    let (ok, _, err) = stdout_of(&mut mpetl(&config, &["cache", "invalidate", "--dataset", "wb_nothing"]));
    assert!(!ok && err.contains("unknown dataset 'wb_nothing'") && err.contains("wb_finance"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_held_by_a_live_run_refuses_a_second_one_and_a_dead_holder_is_taken_over() {
    let Some(server) = RedisServer::start() else { return };
    let mut h = harness(small(80_000), |_| {}).await;
    h.cfg.redis_url = Some(server.url.clone().into());
    let store = mpetl::state::RedisStore::open(&server.url, &h.cfg.state_namespace).unwrap();
    // A run on another host holds the account.
    let Acquired::Granted(other) = store
        .acquire_lease("account:demo", "otherhost:4242:20260101-000000-aaaaaa", Duration::from_secs(60), None)
        .unwrap()
    else {
        panic!("free")
    };
    let e = h.backfill(&request(last_days(10))).await.unwrap_err().to_string();
    assert!(e.contains("account demo is being fetched by another run (otherhost:4242:"), "{e}");
    assert_eq!(h.sandbox.total_requests(), 0, "nothing was fetched");
    store.release_lease(&other).unwrap();

    // A holder that died on this host (pid gone) is taken over at once, with a larger token.
    let mut dead = std::process::Command::new("true").spawn().unwrap();
    let pid = dead.id();
    dead.wait().unwrap();
    // Regression (issue #14, defect 9): the same hostname and pid in another container (another
    // pid namespace) is another process, perhaps alive: its lease is not taken over.
    let (host, rest) = mpetl::state::machine().split_once('~').map(|(h, r)| (h.to_string(), r.to_string())).unwrap();
    let elsewhere = format!("{host}~{}:{pid}:20260101-000000-cccccc", rest.replace('~', "~9"));
    let Acquired::Granted(other) =
        store.acquire_lease("account:demo", &elsewhere, Duration::from_secs(60), None).unwrap()
    else {
        panic!("free")
    };
    let e = h.backfill(&request(last_days(10))).await.unwrap_err().to_string();
    assert!(e.contains("being fetched by another run"), "{e}");
    store.release_lease(&other).unwrap();
    let holder = format!("{}:{pid}:20260101-000000-bbbbbb", mpetl::state::machine());
    let Acquired::Granted(stale) = store.acquire_lease("account:demo", &holder, Duration::from_secs(60), None).unwrap()
    else {
        panic!("free")
    };
    let report = h.backfill(&request(last_days(10))).await.expect("the dead holder's lease is taken over");
    let rec = store.run(&report.run_id).unwrap().unwrap();
    assert_eq!(rec.status, RunStatus::Done);
    assert!(!store.renew_lease(&stale, Duration::from_secs(60)).unwrap(), "the dead holder's token is fenced off");
    assert!(store.chunks(None).unwrap().iter().all(|c| c.state == ChunkState::Done));
}

/// Issue #14, defect 8: a deleted closed month stayed cached "done" and went silently missing
/// from the metrics; a damaged file was an error at every read. `lake verify` finds both, the
/// metrics refuse the months until they are refilled, and the next backfill fetches exactly
/// those chunks again, to the truth.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lake_verify_finds_a_deleted_and_a_damaged_partition_and_the_next_run_refills_them() {
    let h = harness(small(80_000), |_| {}).await;
    let config = h.write_config("mpetl.toml", FAST, "");
    let period = last_days(70);
    let (from, to) = (period.from.to_string(), period.to.to_string());
    let run = |args: &[&str]| {
        let o = mpetl(&config, args).output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        (o.status.code(), text)
    };
    let backfill = ["backfill", "--from", from.as_str(), "--to", to.as_str()];
    assert_eq!(run(&backfill).0, Some(0));
    let (code, text) = run(&["lake", "verify"]);
    assert_eq!(code, Some(0), "a fresh lake verifies: {text}");

    // The earliest (closed) month of two datasets: one deleted, one overwritten with garbage.
    let lake = mpetl::lake::Lake::new(h.cfg.lake_dir());
    let finance = lake.partition_files(Dataset::WbFinance)[0].clone();
    let fbo = lake.partition_files(Dataset::OzonFbo)[0].clone();
    let month = |p: &std::path::Path| p.parent().unwrap().file_name().unwrap().to_string_lossy()[6..].to_string();
    let (finance_month, fbo_month) = (month(&finance), month(&fbo));
    std::fs::remove_file(&finance).unwrap();
    std::fs::write(&fbo, b"PAR1 cut by a failing disk").unwrap();

    let (code, text) = run(&["lake", "verify"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains(&format!("hole: wb_finance account demo month {finance_month}: missing")), "{text}");
    assert!(text.contains(&format!("hole: ozon_fbo account demo month {fbo_month}: unreadable")), "{text}");
    assert!(text.contains("Fix: run `mpetl backfill`"), "{text}");
    let (code, text) = run(&["metrics", "--from", &from, "--to", &to]);
    assert_eq!(code, Some(1), "metrics refuse a period with a known hole: {text}");
    assert!(text.contains("known holes") && text.contains(&finance_month), "{text}");

    let before = h.sandbox.request_log().len();
    assert_eq!(run(&backfill).0, Some(0));
    let refetched: std::collections::BTreeSet<String> =
        h.sandbox.request_log()[before..].iter().map(|r| r.path.clone()).collect();
    assert!(refetched.contains("/api/finance/v1/sales-reports/detailed"), "{refetched:?}");
    assert!(refetched.contains("/v3/posting/fbo/list"), "{refetched:?}");
    let (code, text) = run(&["lake", "verify"]);
    assert_eq!(code, Some(0), "refilled: {text}");
    assert!(lake.holes().is_empty());
    assert_matches_truth(&h.daily(&period), &h.truth(&period).await);
}
