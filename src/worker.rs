//! Workers: processes that take the accounts of fanned-out jobs off the Redis Stream (see
//! `state::redis::queue`) and fetch each into the shared lake. `mpetl worker` is one; `mpetl
//! schedule` runs one when `state.fan_out` is on; a job's own process works while it waits.
//!
//! An account is acknowledged only once its run's chunks are durable. A worker that stops (a
//! signal, a crash) leaves its items pending: a worker on the same host takes them at once, one
//! elsewhere once they have been idle for a lease. The account's run has one id whoever runs it,
//! so the taker resumes it from its stored pages instead of starting over.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use secrecy::ExposeSecret;

use crate::config::Config;
use crate::dataset::{Dataset, Marketplace};
use crate::events::Events;
use crate::pipeline::plan::Period;
use crate::pipeline::{BackfillRequest, RunError, Runner};
use crate::state::redis::{Claimed, Outcome};
use crate::state::{RedisStore, RunStatus, StateError, StateStore};

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(
        "a worker takes its accounts from Redis, and none is configured. Fix: set REDIS_URL (or state.redis_url) to the Redis the jobs run on, and state.fan_out = true"
    )]
    NoRedis,
    #[error(transparent)]
    State(#[from] StateError),
}

/// How long a claim for new items waits before the loop looks around again (signals, abandoned
/// items).
const WAIT: Duration = Duration::from_secs(1);

/// Takes and runs items until `stop` is raised, at most `at_once` accounts at a time, as
/// `consumer` (a holder id: `machine:pid:…`, so a worker on this host can tell it died). On
/// stop, the accounts in work stop at their next page and stay on the stream for others.
pub async fn work(
    cfg: Config,
    store: Arc<dyn StateStore>,
    consumer: String,
    at_once: usize,
    stop: Arc<AtomicBool>,
) -> Result<(), WorkerError> {
    let url = cfg.redis_url.as_ref().ok_or(WorkerError::NoRedis)?;
    let open = || RedisStore::open(url.expose_secret(), &cfg.state_namespace);
    // Blocking reads get a connection of their own: the others (claims kept, outcomes) must
    // not wait behind them.
    let (queue, reader) = (Arc::new(open()?), open()?);
    queue.ensure_work_group()?;
    let lease = Duration::from_secs(cfg.state.lease_secs);
    let in_work: Arc<Mutex<BTreeSet<String>>> = Default::default();
    let keeper = tokio::spawn(keep_claims(queue.clone(), consumer.clone(), in_work.clone(), lease / 3));
    let stop2 = stop.clone();
    // A runner per account: a runner keeps lists (warehouses, campaigns) for its whole life,
    // and a worker lives for many nights.
    let runner = move || Runner::with_store(cfg.clone(), store.clone(), Events::none()).with_stop_flag(stop2.clone());
    let mut tasks = tokio::task::JoinSet::new();
    let result = loop {
        if stop.load(Ordering::SeqCst) {
            break Ok(());
        }
        while tasks.try_join_next().is_some() {}
        let free = at_once.saturating_sub(tasks.len());
        if free == 0 {
            tokio::time::timeout(WAIT, tasks.join_next()).await.ok();
            continue;
        }
        let mut got = match queue.claim_abandoned(&consumer, lease, free) {
            Ok(g) => g,
            Err(e) => break Err(e),
        };
        // A claim kept late comes back through XAUTOCLAIM: it is in work here already.
        got.retain(|c| !lock(&in_work).contains(&c.id));
        if got.is_empty() {
            got = match reader.claim_new(&consumer, free, WAIT) {
                Ok(g) => g,
                Err(e) => break Err(e),
            };
        }
        for c in got {
            lock(&in_work).insert(c.id.clone());
            let (runner, queue, consumer, in_work) = (runner(), queue.clone(), consumer.clone(), in_work.clone());
            tasks.spawn(async move {
                run_item(&runner, &queue, &consumer, &c).await;
                lock(&in_work).remove(&c.id);
            });
        }
    };
    while tasks.join_next().await.is_some() {}
    keeper.abort();
    result?;
    queue.leave(&consumer)?;
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn keep_claims(queue: Arc<RedisStore>, consumer: String, in_work: Arc<Mutex<BTreeSet<String>>>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let ids: Vec<String> = lock(&in_work).iter().cloned().collect();
        if let Err(e) = queue.keep_claims(&consumer, &ids) {
            tracing::warn!(error = %e, "work items not claimed again; another worker may take them");
        }
    }
}

/// Fetches one account and records how it ended. An account that could not start here (its
/// lease is held, the state store is down) or was stopped stays on the stream, unacknowledged.
async fn run_item(runner: &Runner, queue: &RedisStore, consumer: &str, c: &Claimed) {
    let item = &c.item;
    let child = item.run_id();
    let say = |what: String| println!("worker {consumer}: account {} of run {}: {what}", item.account, item.run);
    let existing = match runner.store().run(&child) {
        Ok(r) => r,
        Err(e) => return say(format!("left for later, the state store failed: {e}")),
    };
    let (ok, rows, requests, error) = match &existing {
        // Its worker died between the last chunk and the acknowledgement.
        Some(rec) if rec.status == RunStatus::Done => {
            let p = &rec.progress;
            (true, p.rows(), p.stages.iter().map(|s| s.requests).sum(), None)
        }
        _ => {
            say(if existing.is_some() { "resuming the run of a stopped worker".into() } else { "started".into() });
            match runner.backfill(&request(item, existing.is_some())).await {
                Ok(r) => (true, r.rows_fetched, r.requests, None),
                Err(e @ (RunError::Interrupted { .. } | RunError::Busy { .. } | RunError::State(_))) => {
                    return say(format!("left for another worker: {e}"));
                }
                Err(e) => (false, 0, 0, Some(e.to_string())),
            }
        }
    };
    let outcome = Outcome { ok, worker: consumer.to_string(), run: child, rows, requests, error, at: Utc::now() };
    match queue.finish(consumer, c, &outcome) {
        Ok(true) if ok => say(format!("done, {rows} rows, {requests} requests; acknowledged")),
        Ok(true) => say(format!("FAILED: {}", outcome.error.as_deref().unwrap_or_default())),
        Ok(false) => say("another worker owns it now; its outcome is theirs".into()),
        Err(e) => say(format!("outcome not recorded, the item stays pending: {e}")),
    }
}

/// The account's share of the job: its chunks only, under the run id every taker shares.
fn request(item: &crate::state::redis::WorkItem, resume: bool) -> BackfillRequest {
    let id = item.run_id();
    BackfillRequest {
        accounts: Some(vec![item.account.clone()]),
        sources: item.sources.iter().filter_map(|s| s.parse::<Marketplace>().ok()).collect(),
        refresh: item.refresh,
        grains: Vec::new(),
        kind: item.job.clone(),
        since: item.since.iter().filter_map(|(d, day)| Some((Dataset::from_name(d)?, *day))).collect(),
        resume: resume.then(|| id.clone()),
        run_id: (!resume).then_some(id),
        fetch_only: true,
        ..BackfillRequest::new(Period { from: item.from, to: item.to })
    }
}
