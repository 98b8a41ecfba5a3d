//! Running jobs: one now (`mpetl job run`), or on their cron (`mpetl schedule`) with no overlap,
//! one replica per tick, missed ticks caught up on start, and a clean stop on SIGTERM.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::events::{Event, Events};
use crate::jobs::Job;
use crate::notify::telegram::{Bot, ProgressOutcome, ProgressTarget};
use crate::pipeline::{RunError, RunReport, Runner};
use crate::state::{Acquired, StateError, StateStore};
use crate::summary::Summary;

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("the scheduler failed: {0}")]
    Scheduler(String),
}

/// What a job's run ended with, kept as the mark `job:<name>:last`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LastResult {
    pub run_id: Option<String>,
    pub status: String,
    pub at: DateTime<Utc>,
    pub error: Option<String>,
}

/// One run of a job, with its notifications.
#[derive(Debug)]
pub struct JobOutcome {
    pub result: Result<RunReport, RunError>,
    pub progress: Option<ProgressOutcome>,
    /// The summary message, if one was posted.
    pub summary_message: Option<i64>,
    /// Telegram trouble and other things worth a line; the ETL result does not depend on them.
    pub notes: Vec<String>,
}

/// Copies every event to each receiver (terminal, Telegram).
pub fn tee(mut rx: tokio::sync::mpsc::UnboundedReceiver<Event>, outs: Vec<Events>) {
    tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            for o in &outs {
                o.emit(e.clone());
            }
        }
    });
}

/// Runs `job` now. `terminal`: also show progress on stderr. `stop`: raised to stop it early.
pub async fn run_job(
    cfg: &Config,
    store: Arc<dyn StateStore>,
    job: &Job,
    terminal: bool,
    stop: Option<Arc<AtomicBool>>,
) -> JobOutcome {
    let now = Utc::now();
    let req = job.request(now);
    let (events, rx) = Events::channel();
    let mut outs = Vec::new();
    let mut waits = Vec::new();
    if terminal {
        let (tx, rx) = Events::channel();
        outs.push(tx);
        waits.push(tokio::spawn(async move {
            crate::notify::terminal::run(rx).await;
            None
        }));
    }
    let telegram = job.telegram_chat.zip(cfg.telegram.as_ref());
    if let Some((chat, tg)) = telegram {
        let title = format!("mpetl · {} · {} — {}", job.name, req.period.from, req.period.to);
        let (tx, task) = telegram_progress(tg, chat, title, job.tz);
        outs.push(tx);
        waits.push(tokio::spawn(async move { task.await.ok() }));
    }
    tee(rx, outs);
    let mut runner = Runner::with_store(cfg.clone(), store.clone(), events);
    if let Some(flag) = stop {
        runner = runner.with_stop_flag(flag);
    }
    let result = if cfg.state.fan_out { runner.fan_out(&req).await } else { runner.backfill(&req).await };
    drop(runner);
    let mut progress = None;
    for w in waits {
        if let Ok(Some(p)) = w.await {
            progress = Some(p);
        }
    }
    let run_id = match &result {
        Ok(r) => Some(r.run_id.clone()),
        Err(RunError::Chunks { run, .. }) | Err(RunError::Interrupted { id: run }) => Some(run.clone()),
        Err(_) => None,
    };
    let mut notes = Vec::new();
    let last = LastResult {
        run_id: run_id.clone(),
        status: match &result {
            Ok(_) => "done".into(),
            Err(RunError::Interrupted { .. }) => "interrupted".into(),
            Err(_) => "failed".into(),
        },
        at: Utc::now(),
        error: result.as_ref().err().map(ToString::to_string),
    };
    if let Err(e) = record(store.as_ref(), &job.name, &last) {
        notes.push(format!("job result not recorded: {e}"));
    }
    let mut summary_message = None;
    if let (Ok(_), Some(period), Some((chat, tg)), Some(id)) = (&result, job.summary, telegram, &run_id) {
        let today = now.with_timezone(&job.tz).date_naive();
        let period = period.period(today, req.period);
        match post_summary(cfg, store.as_ref(), tg, chat, job.accounts.as_deref(), id, period).await {
            Ok(m) => summary_message = m,
            Err(e) => notes.push(e),
        }
    }
    JobOutcome { result, progress, summary_message, notes }
}

/// A progress message in `chat`, fed by the returned sender.
pub fn telegram_progress(
    tg: &crate::config::TelegramConfig,
    chat: i64,
    title: String,
    tz: chrono_tz::Tz,
) -> (Events, tokio::task::JoinHandle<ProgressOutcome>) {
    let (tx, rx) = Events::channel();
    let target = ProgressTarget {
        bot: Bot::new(&tg.api_base, tg.token.clone()),
        chat,
        title,
        lang: tg.lang,
        tz,
        interval: crate::notify::telegram::EDIT_INTERVAL,
    };
    (tx, tokio::spawn(crate::notify::telegram::progress(rx, target)))
}

fn record(store: &dyn StateStore, job: &str, last: &LastResult) -> Result<(), StateError> {
    let json = serde_json::to_string(last)
        .map_err(|e| StateError::Store { path: format!("job:{job}:last"), detail: e.to_string() })?;
    store.set_mark(&format!("job:{job}:last"), &json)?;
    if last.status == "done" {
        store.set_mark(&format!("job:{job}:success"), &last.at.to_rfc3339())?;
    }
    Ok(())
}

pub fn last_result(store: &dyn StateStore, job: &str) -> Result<Option<LastResult>, StateError> {
    Ok(store.mark(&format!("job:{job}:last"))?.and_then(|s| serde_json::from_str(&s).ok()))
}

/// Posts the summary of `period` once per run: the mark `summary:<run>` keeps a resumed or
/// repeated delivery from posting it again.
pub async fn post_summary(
    cfg: &Config,
    store: &dyn StateStore,
    tg: &crate::config::TelegramConfig,
    chat: i64,
    accounts: Option<&[String]>,
    run_id: &str,
    period: crate::pipeline::plan::Period,
) -> Result<Option<i64>, String> {
    let key = format!("summary:{run_id}");
    if store.mark(&key).map_err(|e| e.to_string())?.is_some() {
        return Ok(None);
    }
    let title = cfg.accounts.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ");
    let accounts = accounts.map(<[String]>::to_vec);
    let cfg2 = cfg.clone();
    let summary = tokio::task::spawn_blocking(move || Summary::compute(&cfg2, &title, period, accounts.as_deref()))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("summary not computed: {e}"))?;
    let bot = Bot::new(&tg.api_base, tg.token.clone());
    let id = bot
        .deliver(chat, &summary.html(tg.lang), tg.delivery_patience)
        .await
        .map_err(|e| format!("summary not posted: {e}"))?;
    store.set_mark(&key, &id.to_string()).map_err(|e| e.to_string())?;
    let png = summary.chart_png();
    if let Err(e) = bot
        .send_png(chat, &format!("mpetl-{}-{}.png", period.from, period.to), png, &summary.chart_caption(tg.lang))
        .await
    {
        return Err(format!("chart not posted: {e}"));
    }
    Ok(Some(id))
}

/// Runs `jobs` on their schedules until `shutdown` resolves; then stops running jobs at their
/// next page (they end `interrupted`; the next tick continues them) and waits for them.
pub async fn schedule(
    cfg: Config,
    store: Arc<dyn StateStore>,
    jobs: Vec<Job>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), ScheduleError> {
    use tokio_cron_scheduler::{Job as CronJob, JobScheduler};
    let sched_err = |e: tokio_cron_scheduler::JobSchedulerError| ScheduleError::Scheduler(e.to_string());
    let mut sched = JobScheduler::new().await.map_err(sched_err)?;
    let stop = Arc::new(AtomicBool::new(false));
    let holder = crate::state::holder_id("schedule");
    let mut gates = Vec::new();
    let cfg = Arc::new(cfg);
    for job in jobs {
        let gate = Arc::new(tokio::sync::Mutex::new(()));
        gates.push(gate.clone());
        let fire = Fire {
            cfg: cfg.clone(),
            store: store.clone(),
            job: Arc::new(job),
            gate,
            stop: stop.clone(),
            holder: holder.clone(),
        };
        // A tick missed while nothing ran (the last success is older than the last scheduled
        // fire) runs once now.
        if fire.job.catch_up
            && let Some(prev) = fire.job.previous_fire(Utc::now())
        {
            let last_ok = store
                .mark(&format!("job:{}:success", fire.job.name))?
                .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
                .map(|t| t.with_timezone(&Utc));
            if last_ok.is_none_or(|t| t < prev) {
                println!("job {}: the tick of {prev} was missed; running it now", fire.job.name);
                let f = fire.clone();
                tokio::spawn(async move { f.run(prev).await });
            }
        }
        let (expr, tz) = (fire.job.cron.clone(), fire.job.tz);
        let cron_job = CronJob::new_async_tz(expr.as_str(), tz, move |_id, _lock| {
            let f = fire.clone();
            Box::pin(async move {
                // The tick this firing belongs to: the scheduled second, whatever the lateness.
                let tick = f.job.previous_fire(Utc::now() + chrono::Duration::seconds(1)).unwrap_or_else(Utc::now);
                f.run(tick).await;
            })
        })
        .map_err(sched_err)?;
        sched.add(cron_job).await.map_err(sched_err)?;
    }
    sched.start().await.map_err(sched_err)?;
    // With fan-out, every replica works on the accounts of whichever replica's tick it is.
    let worker = cfg.state.fan_out.then(|| {
        let work = crate::worker::work(
            (*cfg).clone(),
            store.clone(),
            crate::state::holder_id("worker"),
            crate::pipeline::ACCOUNTS_AT_ONCE,
            stop.clone(),
        );
        tokio::spawn(async move {
            // Said at once: the ticks go on, run by this replica's job processes alone.
            if let Err(e) = work.await {
                eprintln!("error: this replica's worker stopped: {e}; its jobs still work on their own accounts");
            }
        })
    });
    shutdown.await;
    println!("stopping: no new ticks; running jobs stop at their next page");
    sched.shutdown().await.map_err(sched_err)?;
    stop.store(true, Ordering::SeqCst);
    for g in gates {
        let _ = g.lock().await;
    }
    if let Some(w) = worker {
        let _ = w.await;
    }
    Ok(())
}

#[derive(Clone)]
struct Fire {
    cfg: Arc<Config>,
    store: Arc<dyn StateStore>,
    job: Arc<Job>,
    gate: Arc<tokio::sync::Mutex<()>>,
    stop: Arc<AtomicBool>,
    holder: String,
}

impl Fire {
    async fn run(&self, tick: DateTime<Utc>) {
        let name = &self.job.name;
        // A job never overlaps itself: a tick that finds it running is skipped.
        let Ok(_running) = self.gate.try_lock() else {
            println!("job {name}: tick {tick} skipped, the previous run is still going");
            return;
        };
        if self.stop.load(Ordering::SeqCst) {
            return;
        }
        // One replica per tick: the first to take the tick's lease runs it. The lease is never
        // released; it expires long after the tick.
        let name_of_lease = format!("tick:{name}:{}", tick.timestamp());
        let ttl = Duration::from_secs(6 * 3600);
        let mut got = self.store.acquire_lease(&name_of_lease, &self.holder, ttl, None);
        // A replica that died on this host mid-tick leaves the tick to whoever comes next.
        if let Ok(Acquired::Held { holder, .. }) = &got
            && crate::state::holder_is_dead_here(holder)
        {
            got = self.store.acquire_lease(&name_of_lease, &self.holder, ttl, Some(holder));
        }
        let lease = match got {
            Ok(Acquired::Granted(l)) => l,
            Ok(Acquired::Held { holder, .. }) => {
                println!("job {name}: tick {tick} runs on {holder}");
                return;
            }
            Err(e) => {
                println!("job {name}: tick {tick} not run, the state store failed: {e}");
                return;
            }
        };
        let out = run_job(&self.cfg, self.store.clone(), &self.job, false, Some(self.stop.clone())).await;
        if out.result.is_err() {
            // Not done: the tick is free again for a restart (catch-up) or another replica.
            let _ = self.store.release_lease(&lease);
        }
        match &out.result {
            Ok(r) => println!(
                "job {name}: tick {tick}: run {} done, {} requests, {} rows, {}/{} chunks cached",
                r.run_id, r.requests, r.rows_fetched, r.chunks_cached, r.chunks_planned
            ),
            Err(e) => println!("job {name}: tick {tick}: {e}"),
        }
        for n in &out.notes {
            println!("job {name}: {n}");
        }
    }
}
