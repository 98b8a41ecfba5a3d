//! One conformance suite for both state stores, plus the Redis store under a real backfill:
//! restarts and outages in the middle of a run.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::common::redis_server::RedisServer;
use crate::common::*;
use chrono::{NaiveDate, Utc};
use mpetl::progress::Progress;
use mpetl::state::{
    Acquired, ChunkRecord, ChunkState, EmbeddedStore, RedisStore, RunRecord, RunStatus, StateError, StateStore,
    StreamState,
};

fn chunk(id: &str, dataset: &str) -> ChunkRecord {
    ChunkRecord { dataset: dataset.into(), account: "acc".into(), ..ChunkRecord::new(id) }
}

fn run(id: &str, minutes_ago: i64) -> RunRecord {
    let t = Utc::now() - chrono::Duration::minutes(minutes_ago);
    RunRecord {
        id: id.into(),
        kind: "backfill".into(),
        from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        to: NaiveDate::from_ymd_opt(2026, 1, 31).unwrap(),
        accounts: vec!["acc".into()],
        sources: vec!["wb".into()],
        refresh: false,
        status: RunStatus::Running,
        holder: "h:1:r".into(),
        created_at: t,
        updated_at: t,
        finished_at: None,
        attempts: 1,
        chunks: vec!["wb_finance/acc/2026-01".into()],
        progress: Progress::new(t),
        error: None,
    }
}

/// What every store must do.
fn conformance(store: &dyn StateStore) {
    // Streams: missing is None, writes read back, later writes win, keys keep slashes.
    assert_eq!(store.stream("acc/wb_orders").unwrap(), None);
    let s = StreamState {
        covered_from: Some("2026-01-01T00:00:00".into()),
        pending_from: None,
        cursor: Some("2026-03-04T05:06:07.25".into()),
        synced_at: Some(Utc::now()),
    };
    store.put_stream("acc/wb_orders", &s, None).unwrap();
    assert_eq!(store.stream("acc/wb_orders").unwrap().as_ref(), Some(&s));
    let s2 = StreamState { cursor: Some("2026-03-05T00:00:00".into()), ..s.clone() };
    store.put_stream("acc/wb_orders", &s2, None).unwrap();
    assert_eq!(store.stream("acc/wb_orders").unwrap(), Some(s2));

    // Chunks: the same text as a stream key must not collide; non-ASCII survives; listing by
    // dataset finds exactly the dataset's records; deleting removes a record from listings.
    assert_eq!(store.chunk("wb_finance/acc/2026-03").unwrap(), None);
    let mut rec = chunk("acc/wb_orders", "wb_orders");
    rec.state = ChunkState::Running;
    store.put_chunk(&rec, None).unwrap();
    rec.state = ChunkState::Done;
    rec.rows = 42;
    rec.error = Some("магазин: ошибка".into());
    store.put_chunk(&rec, None).unwrap();
    assert_eq!(store.chunk("acc/wb_orders").unwrap(), Some(rec.clone()));
    assert!(store.stream("acc/wb_orders").unwrap().is_some(), "the stream is untouched by the chunk");
    for m in ["2026-01", "2026-02"] {
        store.put_chunk(&chunk(&format!("wb_finance/acc/{m}"), "wb_finance"), None).unwrap();
    }
    let mut ids: Vec<String> = store.chunks(Some("wb_finance")).unwrap().into_iter().map(|r| r.id).collect();
    ids.sort();
    assert_eq!(ids, ["wb_finance/acc/2026-01", "wb_finance/acc/2026-02"]);
    assert_eq!(store.chunks(None).unwrap().len(), 3);
    store.delete_chunk("wb_finance/acc/2026-01").unwrap();
    assert_eq!(store.chunk("wb_finance/acc/2026-01").unwrap(), None);
    assert_eq!(store.chunks(Some("wb_finance")).unwrap().len(), 1);
    store.delete_stream("acc/wb_orders").unwrap();
    assert_eq!(store.stream("acc/wb_orders").unwrap(), None);

    // Leases: one holder at a time; re-acquiring by the holder keeps the token; a dead holder
    // can be taken over with a larger token; the old holder's fenced writes are refused.
    let ttl = Duration::from_secs(30);
    let Acquired::Granted(a) = store.acquire_lease("account:acc", "host:1:ra", ttl, None).unwrap() else {
        panic!("a free lease is granted")
    };
    match store.acquire_lease("account:acc", "host:2:rb", ttl, None).unwrap() {
        Acquired::Held { holder, token, expires_in } => {
            assert_eq!((holder.as_str(), token), ("host:1:ra", a.token));
            assert!(expires_in > Duration::from_secs(25) && expires_in <= ttl, "{expires_in:?}");
        }
        other => panic!("a held lease is refused: {other:?}"),
    }
    let Acquired::Granted(again) = store.acquire_lease("account:acc", "host:1:ra", ttl, None).unwrap() else {
        panic!("the holder may re-acquire")
    };
    assert_eq!(again.token, a.token);
    store.put_chunk(&chunk("ozon_fbo/acc/2026-01", "ozon_fbo"), Some(&a)).expect("the holder writes");
    assert!(store.renew_lease(&a, ttl).unwrap());
    assert!(store.holds_lease(&a).unwrap(), "the holder holds it");
    let Acquired::Granted(b) = store.acquire_lease("account:acc", "host:2:rb", ttl, Some("host:1:ra")).unwrap() else {
        panic!("a dead holder's lease is taken over")
    };
    assert!(b.token > a.token, "tokens only grow: {} then {}", a.token, b.token);
    let fenced = store.put_chunk(&chunk("ozon_fbo/acc/2026-01", "ozon_fbo"), Some(&a)).unwrap_err();
    assert!(matches!(fenced, StateError::Fenced { .. }), "{fenced}");
    let fenced = store.put_stream("acc/wb_sales", &StreamState::default(), Some(&a)).unwrap_err();
    assert!(matches!(fenced, StateError::Fenced { .. }), "{fenced}");
    assert_eq!(store.stream("acc/wb_sales").unwrap(), None, "a fenced write leaves nothing");
    assert!(!store.renew_lease(&a, ttl).unwrap(), "the old holder learns it lost the lease");
    assert!(!store.holds_lease(&a).unwrap() && store.holds_lease(&b).unwrap(), "the new holder holds it");
    store.release_lease(&a).unwrap(); // not ours any more: a no-op
    assert!(matches!(store.acquire_lease("account:acc", "x:3:rc", ttl, None).unwrap(), Acquired::Held { .. }));
    store.release_lease(&b).unwrap();
    let Acquired::Granted(c) = store.acquire_lease("account:acc", "x:3:rc", ttl, None).unwrap() else {
        panic!("a released lease is free")
    };
    assert!(c.token > b.token);
    // Expiry frees a lease without its holder.
    let Acquired::Granted(short) =
        store.acquire_lease("job:nightly", "h:1:x", Duration::from_millis(200), None).unwrap()
    else {
        panic!("granted")
    };
    std::thread::sleep(Duration::from_millis(400));
    assert!(!store.holds_lease(&short).unwrap(), "an expired lease is not held");
    let Acquired::Granted(after) = store.acquire_lease("job:nightly", "h:2:y", ttl, None).unwrap() else {
        panic!("an expired lease is free")
    };
    assert!(after.token > short.token);
    assert!(!store.renew_lease(&short, ttl).unwrap());

    // Runs: read back exactly, listed newest first, limited.
    assert_eq!(store.run("nope").unwrap(), None);
    for (id, ago) in [("20260101-000000-aaaaaa", 30), ("20260101-001000-bbbbbb", 20), ("20260101-002000-cccccc", 10)] {
        store.put_run(&run(id, ago)).unwrap();
    }
    let mut r = run("20260101-001000-bbbbbb", 20);
    r.status = RunStatus::Done;
    r.progress.retries = 3;
    store.put_run(&r).unwrap();
    assert_eq!(store.run("20260101-001000-bbbbbb").unwrap(), Some(r));
    let listed: Vec<String> = store.runs(2).unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(listed, ["20260101-002000-cccccc", "20260101-001000-bbbbbb"]);

    // Cache counters add up per dataset.
    store.count_cache("wb_finance", 2, 1).unwrap();
    store.count_cache("wb_finance", 3, 0).unwrap();
    store.count_cache("ozon_fbo", 0, 4).unwrap();
    let c = store.cache_counters().unwrap();
    assert_eq!((c["wb_finance"].hits, c["wb_finance"].misses), (5, 1));
    assert_eq!((c["ozon_fbo"].hits, c["ozon_fbo"].misses), (0, 4));

    // Marks: missing is None, later writes win.
    assert_eq!(store.mark("job:nightly:last").unwrap(), None);
    store.set_mark("job:nightly:last", "{\"status\":\"done\"}").unwrap();
    store.set_mark("job:nightly:last", "{\"status\":\"failed\"}").unwrap();
    assert_eq!(store.mark("job:nightly:last").unwrap().as_deref(), Some("{\"status\":\"failed\"}"));
}

#[test]
fn embedded_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    conformance(&EmbeddedStore::open(dir.path()).unwrap());
}

#[test]
fn embedded_store_is_readable_while_another_handle_writes() {
    let dir = tempfile::tempdir().unwrap();
    let writer = EmbeddedStore::open(dir.path()).unwrap();
    assert!(matches!(EmbeddedStore::open(dir.path()), Err(StateError::Locked { .. })), "one writer at a time");
    writer.put_run(&run("20260101-000000-aaaaaa", 1)).unwrap();
    let reader = EmbeddedStore::open_read_only(dir.path()).unwrap().expect("the file exists");
    assert_eq!(reader.runs(10).unwrap().len(), 1);
    // The reader follows later commits of the writer.
    writer.put_run(&run("20260101-000100-bbbbbb", 1)).unwrap();
    assert_eq!(reader.runs(10).unwrap().len(), 2);
    assert!(reader.put_run(&run("x", 1)).is_err(), "a reader cannot write");
}

#[test]
fn redis_store_conforms() {
    let Some(server) = RedisServer::start() else { return };
    conformance(&RedisStore::open(&server.url, "conformance").unwrap());
    // Every key carries a TTL, so nothing grows without bound.
    let mut c = redis::Client::open(server.url.as_str()).unwrap().get_connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg("mpetl:conformance:*").query(&mut c).unwrap();
    assert!(keys.len() >= 10, "{keys:?}");
    for k in keys {
        let ttl: i64 = redis::cmd("TTL").arg(&k).query(&mut c).unwrap();
        assert!(ttl > 0, "{k}: ttl {ttl}");
    }
    // Another namespace on the same Redis sees none of it.
    let other = RedisStore::open(&server.url, "other").unwrap();
    assert!(other.runs(10).unwrap().is_empty() && other.chunks(None).unwrap().is_empty());
}

#[test]
fn redis_reconnects_after_a_restart() {
    let Some(mut server) = RedisServer::start() else { return };
    let store = RedisStore::open(&server.url, "restart").unwrap();
    store.put_stream("a/wb_sales", &StreamState::default(), None).unwrap();
    server.restart();
    // The dropped connection is opened again by itself; the new server is empty (no persistence).
    assert_eq!(store.stream("a/wb_sales").unwrap(), None);
    store.put_stream("a/wb_sales", &StreamState::default(), None).unwrap();
    assert_eq!(store.stream("a/wb_sales").unwrap(), Some(StreamState::default()));
}

#[test]
fn unreachable_redis_names_the_url_without_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let e = RedisStore::open(&format!("redis://mpetl:s3cret-pass@127.0.0.1:{port}/0"), "x")
        .err()
        .expect("nothing listens")
        .to_string();
    assert!(e.contains(&format!("127.0.0.1:{port}")) && e.contains("***") && e.contains("REDIS_URL"), "{e}");
    assert!(!e.contains("s3cret-pass"), "the password must not leak: {e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_on_redis_state_skips_done_chunks_the_second_time() {
    let Some(server) = RedisServer::start() else { return };
    let mut h = harness(small(80_000), |_| {}).await;
    h.cfg.redis_url = Some(server.url.clone().into());
    let period = last_days(60);
    let first = h.backfill(&request(period)).await.expect("first");
    assert!(!h.cfg.state_dir().join("state.redb").exists(), "the embedded store was not used");
    let before = h.sandbox.total_requests();
    let second = h.backfill(&request(period)).await.expect("second");
    assert_eq!(h.sandbox.total_requests(), before, "done chunks come from Redis state: no request");
    assert_eq!(second.chunks_cached, second.chunks_planned);
    assert_matches_truth(&h.daily(&period), &h.truth(&period).await);
    // Both runs are recorded, done, with their chunk lists; the leases are released.
    let store = RedisStore::open(&server.url, &h.cfg.state_namespace).unwrap();
    let runs = store.runs(10).unwrap();
    assert_eq!(runs.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [&second.run_id, &first.run_id]);
    assert!(runs.iter().all(|r| r.status == RunStatus::Done));
    // The second plans WB finance's months one by one (all cached); the first fetched them as one window.
    assert_eq!(
        runs.iter().map(|r| r.chunks.len() as u64).collect::<Vec<_>>(),
        [second.chunks_planned, first.chunks_planned]
    );
    assert!(matches!(
        store.acquire_lease("account:demo", "someone:1:x", Duration::from_secs(5), None).unwrap(),
        Acquired::Granted(_)
    ));
}

/// A slow run (real limits ÷ 24: WB finance's two requests 2.5 s apart) on Redis state, for
/// the outage tests.
async fn slow_redis_harness(url: &str, reconnect_secs: u64) -> Harness {
    let sb = mpetl_sandbox::SandboxConfig { enforce_limits: Some(24), ..small(80_000) };
    let mut h = harness(sb, |f| f.time_scale = 24).await;
    h.cfg.redis_url = Some(url.to_string().into());
    h.cfg.state.reconnect_secs = reconnect_secs;
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_in_the_middle_of_a_run_loses_and_duplicates_nothing() {
    let Some(mut server) = RedisServer::start_persistent() else { return };
    let h = slow_redis_harness(&server.url, 15).await;
    let period = last_days(70);
    let runner = h.runner();
    let req = request(period);
    let finished = std::sync::atomic::AtomicBool::new(false);
    let run = async {
        let r = runner.backfill(&req).await;
        finished.store(true, std::sync::atomic::Ordering::SeqCst);
        r
    };
    let restart = async {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert!(!finished.load(std::sync::atomic::Ordering::SeqCst), "the restart comes in the middle of the run");
        // Down for a moment, as in a restart or failover; the run reconnects with backoff.
        tokio::task::block_in_place(|| {
            server.stop();
            std::thread::sleep(Duration::from_millis(700));
            server.start_again();
        });
    };
    let (report, ()) = tokio::join!(run, restart);
    let report = report.expect("the run rides out the restart");
    assert!(report.requests > 0);
    assert_matches_truth(&h.daily(&period), &h.truth(&period).await);
    // The state written around the restart is whole: a re-run finds every chunk done.
    let before = h.sandbox.total_requests();
    let again = h.backfill(&request(period)).await.expect("re-run");
    assert_eq!(again.chunks_cached, again.chunks_planned);
    assert_eq!(h.sandbox.total_requests(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_lost_for_good_stops_the_run_cleanly_and_it_resumes_later() {
    let Some(mut server) = RedisServer::start_persistent() else { return };
    let h = slow_redis_harness(&server.url, 2).await;
    let period = last_days(70);
    let runner = h.runner();
    let req = request(period);
    let run = runner.backfill(&req);
    let outage = async {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        tokio::task::block_in_place(|| server.stop());
    };
    let (result, ()) = tokio::join!(run, outage);
    let e = result.expect_err("Redis stayed down past the reconnect window").to_string();
    assert!(e.contains("cannot reach Redis at redis://127.0.0.1") && e.contains("resume"), "{e}");
    server.start_again();
    let store = RedisStore::open(&server.url, &h.cfg.state_namespace).unwrap();
    let stopped = store.runs(1).unwrap().remove(0);
    // Its last heartbeat is all Redis has: a reader sees it interrupted once that goes stale.
    assert_eq!(
        stopped.effective_status(Utc::now() + chrono::Duration::minutes(5), chrono::Duration::seconds(35)),
        RunStatus::Interrupted
    );
    let resumed = h
        .runner()
        .backfill(&mpetl::pipeline::BackfillRequest { resume: Some(stopped.id.clone()), ..request(period) })
        .await
        .expect("resumed");
    assert_eq!(resumed.run_id, stopped.id);
    assert!(resumed.chunks_cached > 0, "chunks done before the outage are not fetched again");
    assert_matches_truth(&h.daily(&period), &h.truth(&period).await);
    let rec = store.run(&stopped.id).unwrap().unwrap();
    assert_eq!((rec.status, rec.attempts), (RunStatus::Done, 2));
}

/// Every published lake file (temp files aside) with its modification time and length.
fn published(root: &std::path::Path) -> BTreeMap<std::path::PathBuf, (std::time::SystemTime, u64)> {
    files_under(root)
        .into_iter()
        .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .map(|p| {
            let m = std::fs::metadata(&p).unwrap();
            (p, (m.modified().unwrap(), m.len()))
        })
        .collect()
}

/// Regression (issue #14, defect 9): the lease was checked before a lake write began and by the
/// heartbeat every third of the lease (10 s), so a run that lost its account went on publishing
/// partitions over the new holder's for up to 10 s. Now the lease is asked right before each
/// partition is published.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_loses_its_lease_publishes_nothing_more() {
    let Some(server) = RedisServer::start() else { return };
    let h = slow_redis_harness(&server.url, 15).await;
    let period = last_days(70);
    let (runner, req, lake) = (h.runner(), request(period), h.cfg.lake_dir());
    let steal = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let store = RedisStore::open(&server.url, &h.cfg.state_namespace).unwrap();
        let ttl = Duration::from_secs(60);
        let Acquired::Held { holder, .. } = store.acquire_lease("account:demo", "thief:1:x", ttl, None).unwrap() else {
            panic!("the run holds its account in the middle of the run")
        };
        let Acquired::Granted(_) = store.acquire_lease("account:demo", "thief:1:x", ttl, Some(&holder)).unwrap() else {
            panic!("taken over")
        };
        // A publish that passed its check just before the theft lands within microseconds.
        tokio::time::sleep(Duration::from_millis(200)).await;
        (published(&lake), h.sandbox.total_requests())
    };
    let (result, (at_theft, asked_before)) = tokio::join!(runner.backfill(&req), steal);
    let e = result.expect_err("the run stops once its lease is gone").to_string();
    assert!(e.contains("no longer held by this process"), "{e}");
    assert!(h.sandbox.total_requests() > asked_before, "the run fetched after the theft, and stored none of it");
    assert_eq!(published(&lake), at_theft, "nothing was published after the lease was lost");
}
