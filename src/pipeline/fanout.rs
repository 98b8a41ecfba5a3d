//! A job's run with its accounts fanned out (`state.fan_out`): one work item per account on the
//! Redis Stream, fetched by whichever workers take them (this process among them), then the
//! marts, the reconciliation and the summary once, here, when every account is in.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;

use super::inflight::{Heartbeat, RunCtx};
use super::{BackfillRequest, ChunkError, RunError, RunReport, Runner, check_request};
use crate::events::{Event, Stage};
use crate::progress::StageProgress;
use crate::state::redis::{WorkItem, account_run};
use crate::state::{RedisStore, StateError};

/// How often the job's process looks at its accounts' outcomes and runs.
const POLL: Duration = Duration::from_secs(1);
/// Accounts one worker fetches at once.
pub const ACCOUNTS_AT_ONCE: usize = 16;

impl Runner {
    /// Runs `req` as work items for the workers on the configured Redis, works on them here as
    /// well while it waits, and once every account is in computes what [`Runner::backfill`]
    /// computes after its fetch. The run record sums the accounts' own runs as they go.
    pub async fn fan_out(&self, req: &BackfillRequest) -> Result<RunReport, RunError> {
        let started = Instant::now();
        let now = Utc::now();
        let accounts = check_request(&self.cfg, req)?;
        let ids: Vec<String> = accounts.iter().map(|a| a.id.clone()).collect();
        let Some(url) = &self.cfg.redis_url else {
            return Err(StateError::Store {
                path: "state.redis_url".into(),
                detail: "a fanned-out run needs Redis (state.fan_out requires state.redis_url)".into(),
            }
            .into());
        };
        let queue = RedisStore::open(url.expose_secret(), &self.cfg.state_namespace)?;
        queue.ensure_work_group()?;
        let record = self.start_record(req, &ids, now)?;
        self.store.put_run(&record)?;
        // No account leases here: each account's worker takes its own.
        let cx = Arc::new(self.context(record, HashMap::new()));
        let heartbeat = Heartbeat::start(cx.clone(), self.store.clone(), self.cfg.state.lease_secs);
        let result = self.fanned(&cx, req, &ids, &queue, now).await;
        heartbeat.stop();
        self.close(&cx, result, started)
    }

    async fn fanned(
        &self,
        cx: &RunCtx,
        req: &BackfillRequest,
        accounts: &[String],
        queue: &RedisStore,
        now: DateTime<Utc>,
    ) -> Result<RunReport, RunError> {
        cx.emit(Event::StageStarted { stage: Stage::Plan, chunks: accounts.len() as u64 });
        for account in accounts {
            let item = WorkItem {
                run: cx.id.clone(),
                job: req.kind.clone(),
                account: account.clone(),
                from: req.period.from,
                to: req.period.to,
                sources: req.sources.iter().map(|m| m.code().to_string()).collect(),
                refresh: req.refresh,
                since: req.since.iter().map(|(d, day)| (d.name().to_string(), *day)).collect(),
            };
            queue.enqueue(&item)?;
            cx.emit(Event::ChunkDone { stage: Stage::Plan, chunk: format!("{account} queued"), rows: 0, requests: 0 });
        }
        cx.emit(Event::StageFinished { stage: Stage::Plan });

        // This process works too: a job never waits on workers that are not there.
        let here = Arc::new(AtomicBool::new(false));
        let worker = tokio::spawn(crate::worker::work(
            self.cfg.clone(),
            self.store.clone(),
            crate::state::holder_id(&format!("{}-worker", cx.id)),
            ACCOUNTS_AT_ONCE,
            here.clone(),
        ));
        let mut shown: BTreeMap<Stage, StageProgress> = BTreeMap::new();
        let outcomes = loop {
            let outcomes = queue.outcomes(&cx.id)?;
            for (stage, p) in self.sum_of_accounts(&cx.id, accounts)? {
                if shown.get(&stage) != Some(&p) {
                    cx.emit(Event::StageSnapshot(p.clone(), stage));
                    shown.insert(stage, p);
                }
            }
            if accounts.iter().all(|a| outcomes.contains_key(a)) {
                break outcomes;
            }
            if self.stop.load(Ordering::SeqCst) {
                here.store(true, Ordering::SeqCst);
                let _ = worker.await;
                cx.emit(Event::RunFinished { ok: false });
                return Err(RunError::Interrupted { id: cx.id.clone() });
            }
            if worker.is_finished() {
                // The worker here stopped on a state store error: the others may still finish.
                tracing::warn!(run = %cx.id, "this process's worker stopped; waiting for the other workers");
            }
            tokio::time::sleep(POLL).await;
        };
        // Whatever else the worker here took stops at its next page and stays for others.
        here.store(true, Ordering::SeqCst);
        let _ = worker.await;
        for stage in [Stage::Wb, Stage::Ozon] {
            cx.emit(Event::StageFinished { stage });
        }
        let mut report = RunReport::default();
        let mut failures = Vec::new();
        for (account, o) in &outcomes {
            report.requests += o.requests;
            report.rows_fetched += o.rows;
            if !o.ok {
                failures.push(ChunkError::Account {
                    account: account.clone(),
                    run: o.run.clone(),
                    worker: o.worker.clone(),
                    error: o.error.clone().unwrap_or_default(),
                });
            }
        }
        if !failures.is_empty() {
            cx.emit(Event::RunFinished { ok: false });
            return Err(RunError::Chunks { run: cx.id.clone(), errors: failures });
        }
        self.finish(cx, req, now, report)
    }

    /// The fetch stages of the accounts' own runs, summed.
    fn sum_of_accounts(&self, run: &str, accounts: &[String]) -> Result<Vec<(Stage, StageProgress)>, StateError> {
        let mut sums: Vec<(Stage, StageProgress)> = [Stage::Wb, Stage::Ozon]
            .into_iter()
            .map(|s| (s, StageProgress { stage: s.title().to_string(), ..Default::default() }))
            .collect();
        for account in accounts {
            let Some(rec) = self.store.run(&account_run(run, account))? else { continue };
            for (stage, sum) in &mut sums {
                let p = rec.progress.stage(*stage);
                sum.total += p.total;
                sum.done += p.done;
                sum.cached += p.cached;
                sum.failed += p.failed;
                sum.rows += p.rows;
                sum.requests += p.requests;
            }
        }
        Ok(sums)
    }
}
