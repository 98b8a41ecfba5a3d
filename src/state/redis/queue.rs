//! Work items on a Redis Stream: a fanned-out job puts one item per account on
//! `mpetl:<namespace>:work`, and every worker reads them through the consumer group `workers`.
//!
//! - A worker takes new items with `XREADGROUP`; while it works on one it claims it again every
//!   third of the lease (`XCLAIM … JUSTID`), which keeps the item's idle time near zero.
//! - An item idle longer than the lease belongs to a worker that stopped renewing: `XAUTOCLAIM`
//!   hands it to whoever asks next. An item of a worker that died on this host is taken at once.
//! - An item's outcome is written and the item acknowledged in one script, and only by the worker
//!   that owns it then: a worker that lost its item (it stalled past the lease) writes nothing.
//!
//! Outcomes live in the hash `fanout:<job run>` (account → JSON), which the job's own process
//! reads to know when every account is in.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{RUN_TTL, RedisStore, decode};
use crate::state::StateError;

const GROUP: &str = "workers";
/// Acknowledged items are history; the stream keeps about this many.
const KEPT_ITEMS: usize = 100_000;

/// One account of a fanned-out job run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkItem {
    /// The job's run (the one that posts the summary).
    pub run: String,
    /// The job's name: the worker's run of the account is of this kind.
    pub job: String,
    pub account: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Marketplace codes (`wb`, `ozon`).
    pub sources: Vec<String>,
    pub refresh: bool,
    /// Datasets that start later than `from` (an incremental job's lookback), by name.
    pub since: BTreeMap<String, NaiveDate>,
}

impl WorkItem {
    /// The worker's run of this account: one id whoever runs it, so a worker that takes the item
    /// over from a dead one resumes that run.
    pub fn run_id(&self) -> String {
        account_run(&self.run, &self.account)
    }
}

/// The run of `account` in the fanned-out run `run`.
pub fn account_run(run: &str, account: &str) -> String {
    format!("{run}.{account}")
}

/// How an account of a fanned-out run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub ok: bool,
    /// The worker (`machine:pid:worker`) that finished it.
    pub worker: String,
    /// Its run of the account.
    pub run: String,
    pub rows: u64,
    pub requests: u64,
    pub error: Option<String>,
    pub at: DateTime<Utc>,
}

/// A claimed item: its stream id and what it asks.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    pub item: WorkItem,
}

/// Writes the outcome and acknowledges the item, only while `ARGV[3]` owns it.
const FINISH: &str = r"
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #p == 0 or p[1][2] ~= ARGV[3] then return 0 end
redis.call('HSETNX', KEYS[2], ARGV[4], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return 1
";

impl RedisStore {
    fn work_key(&self) -> String {
        self.key("work", "items")
    }

    fn outcomes_key(&self, run: &str) -> String {
        self.key("fanout", run)
    }

    /// Creates the stream and its group if they are missing.
    pub fn ensure_work_group(&self) -> Result<(), StateError> {
        let key = self.work_key();
        self.with_conn(|c| {
            match redis::cmd("XGROUP").arg("CREATE").arg(&key).arg(GROUP).arg("0").arg("MKSTREAM").query::<()>(c) {
                Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
                other => other,
            }
        })
    }

    /// Puts `item` on the stream.
    pub fn enqueue(&self, item: &WorkItem) -> Result<String, StateError> {
        let (key, json) = (self.work_key(), self.json(item)?);
        self.with_conn(|c| {
            redis::cmd("XADD").arg(&key).arg("MAXLEN").arg("~").arg(KEPT_ITEMS).arg("*").arg("item").arg(&json).query(c)
        })
    }

    /// Up to `count` new items for `consumer`, waiting at most `wait` for the first.
    pub fn claim_new(&self, consumer: &str, count: usize, wait: Duration) -> Result<Vec<Claimed>, StateError> {
        let key = self.work_key();
        let v: redis::Value = self.with_conn(|c| {
            redis::cmd("XREADGROUP")
                .arg("GROUP")
                .arg(GROUP)
                .arg(consumer)
                .arg("COUNT")
                .arg(count)
                .arg("BLOCK")
                .arg(wait.as_millis() as u64)
                .arg("STREAMS")
                .arg(&key)
                .arg(">")
                .query(c)
        })?;
        // [[stream, [entry…]]], or nil when nothing came.
        let entries = match v {
            redis::Value::Array(streams) => {
                streams.into_iter().filter_map(|s| nth(s, 1)).flat_map(array).collect::<Vec<_>>()
            }
            _ => Vec::new(),
        };
        self.claimed(&key, entries)
    }

    /// Items whose worker stopped: those of a worker that died on this host at once, and any
    /// idle longer than `idle` (its worker stopped claiming it again). At most `count`.
    pub fn claim_abandoned(&self, consumer: &str, idle: Duration, count: usize) -> Result<Vec<Claimed>, StateError> {
        let key = self.work_key();
        let mut entries = Vec::new();
        // XPENDING's summary: [count, first, last, [[consumer, pending]…]].
        let summary: redis::Value = self.with_conn(|c| redis::cmd("XPENDING").arg(&key).arg(GROUP).query(c))?;
        let dead: Vec<String> = nth(summary, 3)
            .map(array)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|pair| nth(pair, 0).and_then(text))
            .filter(|name| name != consumer && crate::state::holder_is_dead_here(name))
            .collect();
        for name in dead {
            let ids: redis::Value = self.with_conn(|c| {
                redis::cmd("XPENDING").arg(&key).arg(GROUP).arg("-").arg("+").arg(count).arg(&name).query(c)
            })?;
            let ids: Vec<String> = array(ids).into_iter().filter_map(|p| nth(p, 0).and_then(text)).collect();
            if !ids.is_empty() {
                let got: redis::Value = self
                    .with_conn(|c| redis::cmd("XCLAIM").arg(&key).arg(GROUP).arg(consumer).arg(0).arg(&ids).query(c))?;
                entries.extend(array(got));
            }
            // All its items are ours now: the dead consumer leaves the group. (Deleting a
            // consumer deletes its pending items, so not while it has any left.)
            if ids.len() < count {
                self.with_conn(|c| {
                    redis::cmd("XGROUP").arg("DELCONSUMER").arg(&key).arg(GROUP).arg(&name).query::<()>(c)
                })?;
            }
        }
        // [next cursor, [entry…], [deleted id…]].
        let auto: redis::Value = self.with_conn(|c| {
            redis::cmd("XAUTOCLAIM")
                .arg(&key)
                .arg(GROUP)
                .arg(consumer)
                .arg(idle.as_millis() as u64)
                .arg("0-0")
                .arg("COUNT")
                .arg(count)
                .query(c)
        })?;
        entries.extend(nth(auto, 1).map(array).unwrap_or_default());
        self.claimed(&key, entries)
    }

    /// Claims `ids` again for `consumer`: their idle time starts over, so nobody takes them
    /// while this worker is alive.
    pub fn keep_claims(&self, consumer: &str, ids: &[String]) -> Result<(), StateError> {
        if ids.is_empty() {
            return Ok(());
        }
        let key = self.work_key();
        self.with_conn(|c| {
            redis::cmd("XCLAIM").arg(&key).arg(GROUP).arg(consumer).arg(0).arg(ids).arg("JUSTID").query::<()>(c)
        })
    }

    /// Records how the item's account ended and acknowledges it; false (and nothing written)
    /// when `consumer` no longer owns the item.
    pub fn finish(&self, consumer: &str, claimed: &Claimed, outcome: &Outcome) -> Result<bool, StateError> {
        let (key, outcomes) = (self.work_key(), self.outcomes_key(&claimed.item.run));
        let json = self.json(outcome)?;
        let script = redis::Script::new(FINISH);
        let done: i64 = self.with_conn(|c| {
            script
                .key(&key)
                .key(&outcomes)
                .arg(GROUP)
                .arg(&claimed.id)
                .arg(consumer)
                .arg(&claimed.item.account)
                .arg(&json)
                .arg(RUN_TTL.as_secs())
                .invoke(c)
        })?;
        Ok(done == 1)
    }

    /// Takes `consumer` out of the group if it holds no item (a job's own worker, at its end):
    /// the group would otherwise keep a consumer per job run.
    pub fn leave(&self, consumer: &str) -> Result<(), StateError> {
        let key = self.work_key();
        let held: redis::Value = self.with_conn(|c| {
            redis::cmd("XPENDING").arg(&key).arg(GROUP).arg("-").arg("+").arg(1).arg(consumer).query(c)
        })?;
        if array(held).is_empty() {
            self.with_conn(|c| {
                redis::cmd("XGROUP").arg("DELCONSUMER").arg(&key).arg(GROUP).arg(consumer).query::<()>(c)
            })?;
        }
        Ok(())
    }

    /// Acknowledges an item without an outcome: one whose account is already in.
    pub fn ack(&self, id: &str) -> Result<(), StateError> {
        let key = self.work_key();
        self.with_conn(|c| redis::cmd("XACK").arg(&key).arg(GROUP).arg(id).query::<()>(c))
    }

    /// The outcomes of a fanned-out run so far, by account.
    pub fn outcomes(&self, run: &str) -> Result<BTreeMap<String, Outcome>, StateError> {
        let key = self.outcomes_key(run);
        let all: BTreeMap<String, String> = self.with_conn(|c| redis::cmd("HGETALL").arg(&key).query(c))?;
        all.into_iter().map(|(account, v)| Ok((account, decode(&key, &v)?))).collect()
    }

    /// Items waiting or in work, of every run (XPENDING counts those in work).
    pub fn pending_items(&self) -> Result<u64, StateError> {
        let key = self.work_key();
        let summary: redis::Value = self.with_conn(|c| redis::cmd("XPENDING").arg(&key).arg(GROUP).query(c))?;
        Ok(match nth(summary, 0) {
            Some(redis::Value::Int(n)) => n.max(0) as u64,
            _ => 0,
        })
    }

    /// Decodes entries `[id, [field, value…]]`; an entry deleted from the stream (nil fields)
    /// is acknowledged and dropped, one this version cannot read is left pending.
    fn claimed(&self, key: &str, entries: Vec<redis::Value>) -> Result<Vec<Claimed>, StateError> {
        let mut out = Vec::new();
        for e in entries {
            let mut parts = array(e).into_iter();
            let Some(id) = parts.next().and_then(text) else { continue };
            let fields: Vec<String> =
                parts.next().map(array).unwrap_or_default().into_iter().filter_map(text).collect();
            match fields.chunks(2).find(|kv| kv.len() == 2 && kv[0] == "item") {
                Some(kv) => match decode::<WorkItem>(key, &kv[1]) {
                    Ok(item) => out.push(Claimed { item, id }),
                    // An item this version cannot read (one written by a newer mpetl) stays for
                    // a worker that can: failing here would stop every worker that claims it.
                    Err(e) => tracing::warn!(id = %id, error = %e, "work item left for a worker of another version"),
                },
                None => self.ack(&id)?,
            }
        }
        Ok(out)
    }
}

fn array(v: redis::Value) -> Vec<redis::Value> {
    match v {
        redis::Value::Array(a) | redis::Value::Set(a) => a,
        _ => Vec::new(),
    }
}

fn nth(v: redis::Value, n: usize) -> Option<redis::Value> {
    array(v).into_iter().nth(n)
}

fn text(v: redis::Value) -> Option<String> {
    match v {
        redis::Value::BulkString(b) => String::from_utf8(b).ok(),
        redis::Value::SimpleString(s) => Some(s),
        _ => None,
    }
}
