//! The API decoders under fuzzing (issue #14): real bodies of every endpoint, recorded from a
//! backfill through a proxy and cut to a few rows, then mutated byte by byte and value by value
//! (nulls, empty strings, huge and negative numbers, impossible dates, wrong types), and
//! arbitrary bytes. Whatever arrives, reading it returns rows or an error: it never panics
//! (release builds trap on integer overflow, so a sum that overflows would show here).

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value;

use crate::common::proxy::Proxy;
use crate::common::*;
use mpetl::sources::pages::{endpoints, rows_in};

/// Arrays cut to their first three items, at every depth: a real shape, small enough to mutate
/// thousands of times.
fn trim(v: &mut Value) {
    match v {
        Value::Array(a) => {
            a.truncate(3);
            a.iter_mut().for_each(trim);
        }
        Value::Object(o) => o.values_mut().for_each(trim),
        _ => {}
    }
}

/// Every value's place in `v`, as pointers.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| pointers(x, format!("{at}/{i}"), out)),
        Value::Object(o) => {
            o.iter().for_each(|(k, x)| pointers(x, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out))
        }
        _ => {}
    }
    out.push(at);
}

/// What a field is replaced with: every kind of value a broken or changed API could send.
fn replacement(i: usize) -> Value {
    let texts = [
        "null",
        "\"\"",
        "\"x\"",
        "-1",
        "0",
        "1e308",
        "-9.3e18",
        "92233720368547758",
        "92233720368547.58",
        "\"92233720368547758.07\"",
        "\"-0.001\"",
        "\"2026-13-45T25:61:00Z\"",
        "\"0001-01-01T00:00:00\"",
        "\"２０２６\"",
        "[]",
        "{}",
        "true",
        "[[[]]]",
        "{\"a\":null}",
        "\"1e5\"",
        "-0.0",
        "18446744073709551615",
    ];
    serde_json::from_str(texts[i % texts.len()]).expect("valid JSON")
}

/// Whether reading `bytes` as `endpoint` panicked.
fn survives(endpoint: &str, bytes: &[u8]) -> Result<(), TestCaseError> {
    match std::panic::catch_unwind(|| rows_in(endpoint, bytes)) {
        Ok(_) => Ok(()),
        Err(_) => Err(TestCaseError::fail(format!("{endpoint} panicked on {:?}", String::from_utf8_lossy(bytes)))),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_body_of_any_endpoint_makes_the_decoders_panic() {
    // The corpus: a backfill through the proxy, which keeps each endpoint's longest 200 body.
    let mut h = harness(small(80_000), |_| {}).await;
    let proxy = Proxy::start(&h.sandbox.base_url).await;
    let e = &mut h.cfg.endpoints;
    (e.wb_statistics, e.wb_finance, e.wb_advert, e.wb_content, e.ozon) =
        (proxy.url.clone(), proxy.url.clone(), proxy.url.clone(), proxy.url.clone(), proxy.url.clone());
    h.backfill(&request(last_days(40))).await.expect("the corpus run");
    let mut corpus: Vec<(&'static str, Value)> = Vec::new();
    let bodies = proxy.bodies();
    let endpoints = endpoints();
    assert_eq!(endpoints.len(), 19, "every answer mpetl reads");
    for endpoint in endpoints.iter().copied() {
        let body = bodies.get(endpoint).unwrap_or_else(|| panic!("no body of {endpoint} was recorded"));
        let mut v: Value = serde_json::from_slice(body).unwrap();
        trim(&mut v);
        let bytes = serde_json::to_vec(&v).unwrap();
        // The corpus itself reads: a mutation of it starts from a good page.
        rows_in(endpoint, &bytes).unwrap_or_else(|e| panic!("{endpoint}: the real body does not read: {e}"));
        corpus.push((endpoint, v));
    }
    let corpus = std::sync::Arc::new(corpus);
    // 10 000 cases of each kind by default (seconds); MPETL_FUZZ_CASES runs more for a long hunt.
    let cases = std::env::var("MPETL_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let config = Config { cases, failure_persistence: None, ..Config::default() };

    // Value mutations: up to four places of a real page replaced.
    let c = corpus.clone();
    let values = TestRunner::new(config.clone()).run(
        &(0..c.len(), prop::collection::vec((any::<prop::sample::Index>(), 0usize..64), 1..5)),
        |(which, edits)| {
            let (endpoint, mut v) = (c[which].0, c[which].1.clone());
            for (place, with) in edits {
                let mut all = Vec::new();
                pointers(&v, String::new(), &mut all);
                let at = place.get(&all).clone();
                match v.pointer_mut(&at) {
                    Some(slot) => *slot = replacement(with),
                    None => v = replacement(with),
                }
            }
            survives(endpoint, &serde_json::to_vec(&v).expect("serializable"))
        },
    );

    // Byte mutations: overwrite, insert, delete, or cut at a place of a real page.
    let c = corpus.clone();
    let bytes = TestRunner::new(config.clone()).run(
        &(0..c.len(), prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<u8>()), 1..9)),
        |(which, edits)| {
            let mut b = serde_json::to_vec(&c[which].1).expect("serializable");
            for (place, kind, byte) in edits {
                if b.is_empty() {
                    break;
                }
                let i = place.index(b.len());
                match kind {
                    0 => b[i] = byte,
                    1 => b.insert(i, byte),
                    2 => {
                        b.remove(i);
                    }
                    _ => b.truncate(i),
                }
            }
            survives(c[which].0, &b)
        },
    );

    // Arbitrary bytes.
    let noise = TestRunner::new(config)
        .run(&(0..endpoints.len(), prop::collection::vec(any::<u8>(), 0..256)), |(which, b)| {
            survives(endpoints[which], &b)
        });
    values.expect("value mutations");
    bytes.expect("byte mutations");
    noise.expect("arbitrary bytes");
}
