//! One conformance suite for both state stores, plus the Redis store in a real backfill.

mod common;

use chrono::Utc;
use common::redis_server::RedisServer;
use common::*;
use mpetl::state::{ChunkRecord, ChunkState, EmbeddedStore, RedisStore, StateStore, StreamState};

/// What every store must do: missing keys are None, writes read back exactly, later writes win,
/// keys keep their slashes and non-ASCII, streams and chunks do not collide.
fn conformance(store: &dyn StateStore) {
    assert_eq!(store.stream("acc/wb_orders").unwrap(), None);
    assert_eq!(store.chunk("wb_finance/acc/2026-03").unwrap(), None);

    let s = StreamState {
        covered_from: Some("2026-01-01T00:00:00".into()),
        pending_from: None,
        cursor: Some("2026-03-04T05:06:07.25".into()),
        synced_at: Some(Utc::now()),
    };
    store.put_stream("acc/wb_orders", &s).unwrap();
    assert_eq!(store.stream("acc/wb_orders").unwrap().as_ref(), Some(&s));
    let s2 = StreamState { cursor: Some("2026-03-05T00:00:00".into()), ..s.clone() };
    store.put_stream("acc/wb_orders", &s2).unwrap();
    assert_eq!(store.stream("acc/wb_orders").unwrap(), Some(s2));

    let mut rec = ChunkRecord {
        id: "acc/wb_orders".into(), // the same text as a stream key: kinds must not collide
        state: ChunkState::Running,
        rows: 0,
        requests: 0,
        updated_at: Utc::now(),
        done_at: None,
        closed: false,
        error: None,
    };
    store.put_chunk(&rec).unwrap();
    rec.state = ChunkState::Done;
    rec.rows = 42;
    rec.error = Some("магазин: ошибка".into());
    store.put_chunk(&rec).unwrap();
    assert_eq!(store.chunk("acc/wb_orders").unwrap(), Some(rec));
    assert!(store.stream("acc/wb_orders").unwrap().is_some(), "the stream is untouched by the chunk");
}

#[test]
fn embedded_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    conformance(&EmbeddedStore::open(dir.path()).unwrap());
}

#[test]
fn redis_store_conforms() {
    let Some(server) = RedisServer::start() else { return };
    conformance(&RedisStore::open(&server.url, "conformance").unwrap());
    // Every key carries a TTL, so nothing grows without bound.
    let mut c = redis::Client::open(server.url.as_str()).unwrap().get_connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg("mpetl:conformance:*").query(&mut c).unwrap();
    assert_eq!(keys.len(), 2, "{keys:?}");
    for k in keys {
        let ttl: i64 = redis::cmd("TTL").arg(&k).query(&mut c).unwrap();
        assert!(ttl > 300 * 24 * 3600, "{k}: ttl {ttl}");
    }
}

#[test]
fn redis_reconnects_after_a_restart() {
    let Some(mut server) = RedisServer::start() else { return };
    let store = RedisStore::open(&server.url, "restart").unwrap();
    store.put_stream("a/wb_sales", &StreamState::default()).unwrap();
    server.restart();
    // The dropped connection is opened again by itself; the new server is empty (no persistence).
    assert_eq!(store.stream("a/wb_sales").unwrap(), None);
    store.put_stream("a/wb_sales", &StreamState::default()).unwrap();
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
    h.backfill(&request(period)).await.expect("first");
    assert!(!h.cfg.state_dir().join("state.redb").exists(), "the embedded store was not used");
    let before = h.sandbox.total_requests();
    let second = h.backfill(&request(period)).await.expect("second");
    assert_eq!(h.sandbox.total_requests(), before, "done chunks come from Redis state: no request");
    assert_eq!(second.chunks_cached, second.chunks_planned);
    assert_matches_truth(&h.daily(&period), &h.truth(&period).await);
}
