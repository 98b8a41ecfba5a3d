//! One run in flight: its record, the account leases it holds, and the heartbeat that renews
//! them and writes the record while the run works.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use chrono::{DateTime, Utc};

use super::{BackfillRequest, RunError, Runner};
use crate::events::{Event, Events};
use crate::progress::Progress;
use crate::state::{self, Acquired, Lease, RunRecord, RunStatus, StateStore};

/// One run in flight: its record (progress folded from its events), its leases and the flags
/// the heartbeat raises.
pub(super) struct RunCtx {
    pub(super) id: String,
    pub(super) record: std::sync::Mutex<RunRecord>,
    pub(super) leases: HashMap<String, Lease>,
    /// A lease was lost: another process owns an account now, so nothing more is written.
    pub(super) lost: AtomicBool,
    pub(super) events: Events,
    pub(super) retries: Arc<std::sync::atomic::AtomicU64>,
    pub(super) retries_at_start: u64,
}

impl RunCtx {
    pub(super) fn emit(&self, e: Event) {
        {
            let mut r = self.record.lock().unwrap_or_else(|p| p.into_inner());
            r.progress.apply(&e, Utc::now());
            r.progress.retries = self.retries.load(Ordering::Relaxed) - self.retries_at_start;
        }
        self.events.emit(e);
    }

    pub(super) fn fence(&self, account: &str) -> Option<&Lease> {
        self.leases.get(account)
    }

    pub(super) fn snapshot(&self) -> RunRecord {
        let mut r = self.record.lock().unwrap_or_else(|p| p.into_inner()).clone();
        r.progress.retries = self.retries.load(Ordering::Relaxed) - self.retries_at_start;
        r
    }
}

impl Runner {
    /// A new run record, or the resumed one with one more attempt.
    pub(super) fn start_record(
        &self,
        req: &BackfillRequest,
        accounts: &[String],
        now: DateTime<Utc>,
    ) -> Result<RunRecord, RunError> {
        let fresh = |id: String| RunRecord {
            holder: state::holder_id(&id),
            id,
            kind: req.kind.clone(),
            from: req.period.from,
            to: req.period.to,
            accounts: accounts.to_vec(),
            sources: req.sources.iter().map(|m| m.code().to_string()).collect(),
            refresh: req.refresh,
            status: RunStatus::Running,
            created_at: now,
            updated_at: now,
            finished_at: None,
            attempts: 1,
            chunks: Vec::new(),
            progress: Progress::new(now),
            error: None,
        };
        Ok(match &req.resume {
            None => fresh(req.run_id.clone().unwrap_or_else(|| RunRecord::new_id(now))),
            Some(id) => {
                let old = self.store.run(id)?.ok_or_else(|| RunError::UnknownRun { id: id.clone() })?;
                RunRecord { attempts: old.attempts + 1, created_at: old.created_at, ..fresh(id.clone()) }
            }
        })
    }

    /// Takes every account of the run; a lease of a process that died on this host is taken
    /// over at once, a live one refuses the run.
    pub(super) fn take_leases(&self, rec: &RunRecord) -> Result<HashMap<String, Lease>, RunError> {
        let ttl = std::time::Duration::from_secs(self.cfg.state.lease_secs);
        let mut out = HashMap::new();
        for account in &rec.accounts {
            let name = format!("account:{account}");
            let mut got = self.store.acquire_lease(&name, &rec.holder, ttl, None)?;
            if let Acquired::Held { holder, .. } = &got
                && state::holder_is_dead_here(holder)
            {
                got = self.store.acquire_lease(&name, &rec.holder, ttl, Some(holder))?;
            }
            match got {
                Acquired::Granted(l) => {
                    out.insert(account.clone(), l);
                }
                Acquired::Held { holder, expires_in, .. } => {
                    for l in out.values() {
                        let _ = self.store.release_lease(l);
                    }
                    return Err(RunError::Busy {
                        account: account.clone(),
                        holder,
                        secs: expires_in.as_secs_f64().ceil() as u64,
                    });
                }
            }
        }
        Ok(out)
    }
}

/// Writes the run record every second and renews the run's leases every third of their TTL, on
/// a thread of its own: a run busy decoding or writing keeps its heartbeat.
pub(super) struct Heartbeat {
    stop: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Heartbeat {
    pub(super) fn start(cx: Arc<RunCtx>, store: Arc<dyn StateStore>, lease_secs: u64) -> Heartbeat {
        let (stop, rx) = std::sync::mpsc::channel::<()>();
        let ttl = std::time::Duration::from_secs(lease_secs);
        let thread = std::thread::spawn(move || {
            let mut renewed = Instant::now();
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                rx.recv_timeout(std::time::Duration::from_secs(1))
            {
                if renewed.elapsed() >= ttl / 3 {
                    renewed = Instant::now();
                    for lease in cx.leases.values() {
                        match store.renew_lease(lease, ttl) {
                            Ok(true) => {}
                            Ok(false) => {
                                cx.lost.store(true, Ordering::SeqCst);
                                tracing::error!(run = %cx.id, lease = %lease.name, "lease lost to another process: this run stops writing");
                            }
                            Err(e) => tracing::warn!(run = %cx.id, error = %e, "lease not renewed"),
                        }
                    }
                }
                let mut rec = cx.snapshot();
                rec.updated_at = Utc::now();
                if let Err(e) = store.put_run(&rec) {
                    tracing::warn!(run = %cx.id, error = %e, "run record not written");
                }
            }
        });
        Heartbeat { stop, thread }
    }

    pub(super) fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}
