//! Rate limits and bad days: the sandbox enforces the real per-bucket limits (time-scaled) and
//! injects faults; mpetl must stay within the limits and lose nothing.

use std::time::Duration;

use crate::common::*;
use mpetl::dataset::Dataset;
use mpetl_sandbox::limits::Faults;
use mpetl_sandbox::{ProfileName, SandboxConfig};

/// The real limits divided by 120: WB's 1/min becomes 500 ms. (Faster scales shrink the
/// intervals to where thread scheduling on a busy 2-core machine, not pacing, decides.)
const SCALE: u32 = 120;

fn enforced(faults: Faults) -> SandboxConfig {
    SandboxConfig {
        profile: ProfileName::Small,
        seed: 11,
        enforce_limits: Some(SCALE),
        // Six of these tests share 2 cores: a run's first request, on a new connection, was
        // seen to arrive 55 ms after its slot and the next one on time, 121 ms apart at WB
        // fullstats' 166 ms (regression: limits_bad_day_violation). On the CI machine under
        // load one request each of wb_sales and wb_finance_detailed (500 ms apart) arrived more
        // than 100 ms late (stop 18's CI). The sandbox forgives 250 ms of lateness of one
        // request; a client pacing even 2x too fast runs up that debt within 2-4 requests, and
        // `two_uncoordinated_processes_trip_the_limit_and_still_complete` proves it still bites.
        arrival_jitter: Duration::from_millis(250),
        faults,
        ..Default::default()
    }
}

/// A second runner on the same seller and config (its own lake and buckets), as another process.
fn second_process(h: &Harness) -> mpetl::pipeline::Runner {
    let mut other = h.cfg.clone();
    other.data_dir = h.dir.path().join("other");
    std::fs::create_dir_all(&other.data_dir).unwrap();
    std::fs::copy(&h.cfg.costs_file, other.data_dir.join("costs.csv")).unwrap();
    other.costs_file = other.data_dir.join("costs.csv");
    // Another deployment (its own lake and state namespace) pulling the same seller.
    other.state_namespace = "other".into();
    mpetl::pipeline::Runner::open(other, mpetl::events::Events::none()).unwrap()
}

/// Backfills `period` with the harness's runner and [`second_process`] at the same time.
async fn both_at_once(
    h: &Harness,
    period: mpetl::pipeline::plan::Period,
) -> (mpetl::pipeline::RunReport, mpetl::pipeline::RunReport) {
    let (first, second) = (h.runner(), second_process(h));
    let (ra, rb) = (request(period), request(period));
    // Each on a task of its own, as `main` runs a command. Joined on the test's `block_on`
    // thread instead, one runner's rate-limit sleeps were seen never to wake once the other
    // finished: 3 hangs in 20 runs, none in 20 spawned (tokio 1.54; not narrowed further).
    let a = tokio::spawn(async move { first.backfill(&ra).await });
    let b = tokio::spawn(async move { second.backfill(&rb).await });
    (a.await.expect("task").expect("first"), b.await.expect("task").expect("second"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paced_to_the_limits_mpetl_never_trips_them() {
    let h = harness(enforced(Faults::default()), |f| f.time_scale = SCALE).await;
    let period = last_days(100);
    let report = h.backfill(&request(period)).await.expect("backfill");
    assert!(h.sandbox.violations().is_empty(), "violations: {:?}", h.sandbox.violations());
    assert_eq!(report.retries, 0);
    assert_matches_truth(&h.daily(&period), &h.truth(&period).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_uncoordinated_processes_trip_the_limit_and_still_complete() {
    // Two runners with their own buckets (as two processes without shared Redis buckets) pull
    // one seller at once: together they exceed WB's per-seller limits, get 429 with
    // X-Ratelimit-Retry, wait as told, and lose nothing. (Proves the enforcement bites.)
    let h = harness(enforced(Faults::default()), |f| f.time_scale = SCALE).await;
    let period = last_days(40);
    let (a, b) = both_at_once(&h, period).await;
    let v: u64 = h.sandbox.violations().values().sum();
    assert!(v > 0 && a.retries + b.retries >= v, "violations {v}, retries {} + {}", a.retries, b.retries);
    assert_matches_truth(&h.daily(&period), &h.truth(&period).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_day_ends_with_the_same_lake_and_metrics_as_a_clean_one() {
    let faults = Faults {
        error_5xx_rate: 0.10,
        truncate_rate: 0.02,
        stall_rate: 0.01,
        stall: Duration::from_millis(1500),
        storm_every: 40,
        storm_len: 3,
        drift: false,
    };
    let period = last_days(75);
    let bad = harness(enforced(faults), |f| {
        f.time_scale = SCALE;
        f.http_timeout_secs = 1;
    })
    .await;
    let report = bad.backfill(&request(period)).await.expect("faults are retried, not fatal");
    assert!(report.retries > 10, "the faults must have happened: {report:?}");
    let st = bad.sandbox.statuses();
    assert!(st.keys().any(|k| k.ends_with(" 503")) && st.keys().any(|k| k.ends_with(" 429")), "{st:?}");
    assert_matches_truth(&bad.daily(&period), &bad.truth(&period).await);
    assert!(
        bad.sandbox.violations().is_empty(),
        "storms are the server's, not mpetl's: {:?}",
        bad.sandbox.violations()
    );

    // The same period on a clean day: the same rows, key for key, in every dataset.
    let clean = harness(enforced(Faults::default()), |f| f.time_scale = SCALE).await;
    clean.backfill(&request(period)).await.expect("clean backfill");
    for ds in Dataset::ALL {
        let keys = |h: &Harness| {
            let mut v: Vec<String> = Vec::new();
            for f in h.runner().lake().partition_files(ds) {
                let df = mpetl::lake::read_file(&f).unwrap();
                let cols: Vec<Vec<Option<String>>> = df
                    .columns()
                    .iter()
                    .filter(|c| !mpetl::lake::LINEAGE.contains(&c.name().as_str()))
                    .map(|c| {
                        let s = c.cast(&polars::prelude::DataType::String).unwrap();
                        s.str().unwrap().iter().map(|x| x.map(str::to_string)).collect()
                    })
                    .collect();
                for i in 0..df.height() {
                    v.push(cols.iter().map(|c| format!("{:?}", c[i])).collect::<Vec<_>>().join("|"));
                }
            }
            v.sort();
            v
        };
        assert_eq!(keys(&bad), keys(&clean), "{ds} differs after the bad day");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_drift_is_absorbed() {
    let faults = Faults { drift: true, ..Faults::default() };
    let h = harness(SandboxConfig { faults, ..small(500) }, |_| {}).await;
    let period = last_days(60);
    h.backfill(&request(period)).await.expect("unknown fields ignored, missing optional ones defaulted");
    assert_matches_truth(&h.daily(&period), &h.truth(&period).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_failure_names_the_chunk_and_the_run_resumes() {
    let h = harness(small(80_000), |_| {}).await;
    let period = last_days(40);
    h.sandbox.truncate_next(1_000_000);
    let err = h.backfill(&request(period)).await.expect_err("every body cut: chunks give up").to_string();
    assert!(err.contains("chunk ") && err.contains("gave up after 6 attempts") && err.contains("--resume"), "{err}");
    h.sandbox.truncate_next(0);
    let before = h.sandbox.total_requests();
    h.backfill(&request(period)).await.expect("resumed");
    assert!(h.sandbox.total_requests() > before);
    assert_matches_truth(&h.daily(&period), &h.truth(&period).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_sharing_redis_stay_within_one_sellers_limit_together() {
    let Some(server) = crate::common::redis_server::RedisServer::start() else { return };
    // As above, two runners pull one seller at once, but their buckets live in one Redis.
    let mut h = harness(enforced(Faults::default()), |f| f.time_scale = SCALE).await;
    h.cfg.redis_url = Some(server.url.clone().into());
    let period = last_days(40);
    let (a, b) = both_at_once(&h, period).await;
    assert!(
        h.sandbox.violations().is_empty(),
        "violations: {:?} (retries {} + {})",
        h.sandbox.violations(),
        a.retries,
        b.retries
    );
    assert_matches_truth(&h.daily(&period), &h.truth(&period).await);
}
