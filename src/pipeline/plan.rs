//! Stage 1: a period → the chunks each dataset needs, minus those already done. Each dataset
//! plans its own (`Fetch::plan`, in its file under `sources/`) from the shapes [`PlanCx`] offers:
//!
//! - a *stream* per (account, dataset) that reads every change since a cursor (WB statistics have
//!   no upper time bound: `lastChangeDate >= dateFrom`);
//! - *days* of one calendar month (finance reports, ad statistics, accruals);
//! - a UTC calendar-month *window* (Ozon postings and returns, Ozon's clock), aligned so that
//!   overlapping backfills share them;
//! - *today* alone, for what is only ever "now" (a stock snapshot, the catalogues).

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::clock::{day_start, parse_wb_naive};
use crate::config::{Account, Config};
use crate::dataset::{Dataset, Marketplace, REGISTRY};
use crate::state::{ChunkState, StateError, StateStore};

pub use crate::period::{EARLIEST, LATEST, Period, PeriodError, parse_date};

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Period(#[from] PeriodError),
    #[error("--from {from} is in the future (today is {today} in {tz}). Fix: pick a past day")]
    Future { from: NaiveDate, today: NaiveDate, tz: Tz },
    #[error(transparent)]
    State(#[from] StateError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkKind {
    /// WB statistics: read every change since `date_from` (WB's naive Moscow text).
    /// `pass_from` is the start of the whole pass, recorded as covered when it completes.
    Stream { pass_from: String, date_from: String },
    /// Date-keyed data (finance reports, ad statistics, accruals) for days `from..=to` of one
    /// calendar month; `month_end` is its last day. Today's snapshot is one of a single day.
    Days { month: String, from: NaiveDate, to: NaiveDate, month_end: NaiveDate },
    /// Ozon postings with `in_process_at` (returns with their return date) in `since..=to`, one
    /// UTC calendar month.
    Window { month: String, since: DateTime<Utc>, to: DateTime<Utc>, month_end: DateTime<Utc> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub id: String,
    pub account: String,
    pub dataset: Dataset,
    pub kind: ChunkKind,
}

#[derive(Debug, Clone)]
pub struct PlannedChunk {
    pub chunk: Chunk,
    /// Done within its cache lifetime: no request is needed.
    pub cached: bool,
}

#[derive(Debug, Default)]
pub struct Plan {
    pub chunks: Vec<PlannedChunk>,
    /// Things the seller should know about the period (e.g. WB's 90-day retention).
    pub notes: Vec<String>,
}

impl Plan {
    pub fn for_marketplace(&self, mp: Marketplace) -> impl Iterator<Item = &PlannedChunk> {
        self.chunks.iter().filter(move |c| c.chunk.dataset.marketplace() == mp)
    }
}

pub fn stream_key(account: &str, ds: Dataset) -> String {
    format!("{account}/{}", ds.name())
}

/// What to plan.
pub struct PlanRequest<'a> {
    pub period: Period,
    pub accounts: Vec<&'a Account>,
    pub sources: Vec<Marketplace>,
    /// Ignore cached chunks and fetch everything again.
    pub refresh: bool,
    pub now: DateTime<Utc>,
    /// Datasets that start later than the period (an incremental job's shorter lookbacks).
    pub since: std::collections::BTreeMap<Dataset, NaiveDate>,
}

pub fn plan(cfg: &Config, store: &dyn StateStore, req: &PlanRequest<'_>) -> Result<Plan, PlanError> {
    let tz = cfg.timezone;
    let (start, end) = req.period.instants(tz);
    if start >= req.now {
        return Err(PlanError::Future { from: req.period.from, today: req.now.with_timezone(&tz).date_naive(), tz });
    }
    let cx = PlanCx {
        cfg,
        store,
        req,
        start,
        end: end.min(req.now),
        // Money and ad data are final a day later at the earliest: nothing is asked for today.
        yesterday: req.now.with_timezone(&tz).date_naive() - Duration::days(1),
    };
    let mut out = Plan::default();
    for account in &req.accounts {
        for spec in REGISTRY {
            let Some(fetch) = spec.fetch else { continue };
            if req.sources.contains(&spec.marketplace) && account.has(spec.marketplace) {
                out.chunks.extend(fetch.plan(&cx, account)?);
            }
        }
    }
    let retention = req.now - Duration::days(90);
    if req.sources.contains(&Marketplace::Wb) && start < retention && req.accounts.iter().any(|a| a.wb.is_some()) {
        out.notes.push(format!(
            "WB keeps statistics for 90 days: orders and sales before {} come only from what earlier runs saved in the lake",
            retention.with_timezone(&tz).date_naive()
        ));
    }
    Ok(out)
}

/// What a dataset's [`Fetch::plan`](super::source::Fetch::plan) plans against: the request, the
/// state store's done chunks, and the shapes of chunk the datasets share.
pub struct PlanCx<'a> {
    pub cfg: &'a Config,
    store: &'a dyn StateStore,
    pub req: &'a PlanRequest<'a>,
    /// The period as instants, its end no later than now.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The last day whose money and ad data may be asked for.
    pub yesterday: NaiveDate,
}

impl PlanCx<'_> {
    /// Done within its cache lifetime (closed, or fetched less than the open-chunk TTL ago).
    pub fn cached(&self, id: &str) -> Result<bool, PlanError> {
        let ttl = Duration::hours(self.cfg.fetch.open_chunk_ttl_hours as i64);
        Ok(!self.req.refresh
            && self.store.chunk(id)?.is_some_and(|r| {
                r.state == ChunkState::Done && (r.closed || r.done_at.is_some_and(|d| self.req.now - d < ttl))
            }))
    }

    /// The period's first day for `ds` (a job's shorter lookback may start it later).
    pub fn first_day(&self, ds: Dataset) -> NaiveDate {
        self.req.since.get(&ds).map_or(self.req.period.from, |d| (*d).max(self.req.period.from))
    }

    fn planned(&self, ds: Dataset, account: &Account, id: String, kind: ChunkKind) -> Result<PlannedChunk, PlanError> {
        let cached = self.cached(&id)?;
        Ok(PlannedChunk { chunk: Chunk { id, account: account.id.clone(), dataset: ds, kind }, cached })
    }

    /// [`ChunkKind::Days`] chunks: one per calendar month of the period, up to yesterday.
    pub fn days(&self, ds: Dataset, account: &Account) -> Result<Vec<PlannedChunk>, PlanError> {
        let from = self.first_day(ds);
        if from > self.yesterday {
            return Ok(Vec::new());
        }
        date_months(from, self.req.period.to.min(self.yesterday))
            .into_iter()
            .map(|(month, first, last)| {
                let id = month_chunk_id(ds, &account.id, &month);
                let kind = ChunkKind::Days { month, from: first, to: last.min(self.yesterday), month_end: last };
                self.planned(ds, account, id, kind)
            })
            .collect()
    }

    /// A [`ChunkKind::Days`] chunk of today alone, for data that is only ever "now" (a stock
    /// snapshot, the catalogue as it stands): fetched once a day.
    pub fn today(&self, ds: Dataset, account: &Account) -> Result<PlannedChunk, PlanError> {
        let today = self.yesterday + Duration::days(1);
        let id = format!("{}/{}/{today}", ds.name(), account.id);
        let month = format!("{:04}-{:02}", today.year(), today.month());
        let kind = ChunkKind::Days { month, from: today, to: today, month_end: today };
        self.planned(ds, account, id, kind)
    }

    /// [`ChunkKind::Window`] chunks: one per UTC calendar month the period's instants touch.
    pub fn windows(&self, ds: Dataset, account: &Account) -> Result<Vec<PlannedChunk>, PlanError> {
        let first = day_start(self.first_day(ds), self.cfg.timezone).max(self.start);
        months(first, self.end)
            .into_iter()
            .map(|(month, since, month_end)| {
                let id = format!("{}/{}/{month}", ds.name(), account.id);
                let kind = ChunkKind::Window { month, since, to: month_end.min(self.req.now), month_end };
                self.planned(ds, account, id, kind)
            })
            .collect()
    }

    /// The one [`ChunkKind::Stream`] chunk of `ds`: an unfinished pass resumes at its cursor,
    /// a covered one reads what changed since, a period reaching further back starts a new pass.
    pub fn stream(&self, ds: Dataset, account: &Account) -> Result<PlannedChunk, PlanError> {
        let (cfg, req) = (self.cfg, self.req);
        let id = stream_key(&account.id, ds);
        // WB wants Moscow wall time; the period starts at midnight of the configured zone.
        let want =
            self.start.with_timezone(&chrono_tz::Europe::Moscow).naive_local().format("%Y-%m-%dT%H:%M:%S").to_string();
        let st = if req.refresh { None } else { self.store.stream(&id)? }.unwrap_or_default();
        let earlier = |a: &str, b: &str| match (parse_wb_naive(a), parse_wb_naive(b)) {
            (Some(x), Some(y)) => x < y,
            _ => true,
        };
        let chunk = |pass_from: String, date_from: String| Chunk {
            id: id.clone(),
            account: account.id.clone(),
            dataset: ds,
            kind: ChunkKind::Stream { pass_from, date_from },
        };
        if let Some(pending) = &st.pending_from
            && !earlier(&want, pending)
        {
            let from = st.cursor.clone().unwrap_or_else(|| pending.clone());
            return Ok(PlannedChunk { chunk: chunk(pending.clone(), from), cached: false });
        }
        if let Some(covered) = &st.covered_from
            && !earlier(&want, covered)
        {
            let fresh = st
                .synced_at
                .is_some_and(|t| req.now - t < Duration::minutes(cfg.fetch.wb_stats_refresh_minutes as i64));
            let from = st.cursor.clone().unwrap_or_else(|| covered.clone());
            return Ok(PlannedChunk { chunk: chunk(covered.clone(), from), cached: fresh });
        }
        Ok(PlannedChunk { chunk: chunk(want.clone(), want), cached: false })
    }
}

/// Calendar months overlapping days `from..=to`: (YYYY-MM, first day, last day).
/// The chunk id of `ds`'s month `month` (`YYYY-MM`) of `account`: what the cache is keyed by.
pub fn month_chunk_id(ds: Dataset, account: &str, month: &str) -> String {
    format!("{}/{account}/{month}", ds.name())
}

/// Runs of consecutive months not cached, each merged into one chunk (`<first month id>..<last
/// month>`) that a dataset paged by a cursor over any range fetches in one window: WB finance,
/// whose one request a minute made a year cost 26 minutes a month at a time. Cached months and
/// lone months stay as they are. The span's own id ties a stored page cursor to its range, so a
/// run that plans another range never resumes a cursor that would skip rows.
pub fn spans(months: Vec<PlannedChunk>) -> Vec<PlannedChunk> {
    let mut out: Vec<PlannedChunk> = Vec::new();
    let mut run: Vec<PlannedChunk> = Vec::new();
    let flush = |run: &mut Vec<PlannedChunk>, out: &mut Vec<PlannedChunk>| {
        if run.len() > 1 {
            let (first, last) = (&run[0].chunk, &run[run.len() - 1].chunk);
            if let (ChunkKind::Days { month, from, .. }, ChunkKind::Days { month: last_month, to, month_end, .. }) =
                (&first.kind, &last.kind)
            {
                let kind = ChunkKind::Days { month: month.clone(), from: *from, to: *to, month_end: *month_end };
                let id = format!("{}..{last_month}", first.id);
                let chunk = Chunk { id, account: first.account.clone(), dataset: first.dataset, kind };
                out.push(PlannedChunk { chunk, cached: false });
                run.clear();
                return;
            }
        }
        out.append(run);
    };
    for m in months {
        if m.cached || !matches!(m.chunk.kind, ChunkKind::Days { .. }) {
            flush(&mut run, &mut out);
            out.push(m);
        } else {
            run.push(m);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// True for the record of a span chunk (see [`spans`]): it keeps the span's page cursor and
/// what the run fetched, while the cache is its months' records.
pub fn is_span(id: &str) -> bool {
    id.contains("..")
}

/// The months a span chunk covers (see [`spans`]): (month, first day, last day, month's end);
/// `None` for a chunk within one month.
pub fn span_months(kind: &ChunkKind) -> Option<Vec<(String, NaiveDate, NaiveDate, NaiveDate)>> {
    let ChunkKind::Days { from, to, .. } = kind else { return None };
    let months = date_months(*from, *to);
    (months.len() > 1)
        .then(|| months.into_iter().map(|(m, first, last)| (m, first.max(*from), last.min(*to), last)).collect())
}

fn date_months(from: NaiveDate, to: NaiveDate) -> Vec<(String, NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut m = crate::clock::first_of_month(from);
    while m <= to {
        let next = crate::clock::next_month(m);
        out.push((format!("{:04}-{:02}", m.year(), m.month()), m, next - Duration::days(1)));
        m = next;
    }
    out
}

/// UTC calendar months overlapping `[start, end)`: (YYYY-MM, month start, next month start).
fn months(start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<(String, DateTime<Utc>, DateTime<Utc>)> {
    let mut out = Vec::new();
    let midnight = |d: NaiveDate| d.and_time(chrono::NaiveTime::MIN).and_utc();
    let mut m = crate::clock::first_of_month(start.date_naive());
    while midnight(m) < end {
        let next = crate::clock::next_month(m);
        out.push((format!("{:04}-{:02}", m.year(), m.month()), midnight(m), midnight(next)));
        m = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_cover_the_moscow_period_in_utc() {
        // Moscow 2026-03-01 00:00 is 2026-02-28 21:00 UTC: February is needed too.
        let p =
            Period::new(NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(), NaiveDate::from_ymd_opt(2026, 3, 31).unwrap())
                .unwrap();
        let (s, e) = p.instants(chrono_tz::Europe::Moscow);
        let m: Vec<String> = months(s, e).into_iter().map(|x| x.0).collect();
        assert_eq!(m, ["2026-02", "2026-03"]);
    }

    #[test]
    fn reversed_period_is_an_error() {
        let e = Period::new(NaiveDate::from_ymd_opt(2026, 2, 1).unwrap(), NaiveDate::from_ymd_opt(2026, 1, 1).unwrap())
            .unwrap_err();
        assert!(e.to_string().contains("swap"));
    }
}

/// The least a plan costs in one rate-limit bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketCost {
    /// Each account has buckets of its own (the marketplaces limit per seller).
    pub account: String,
    pub bucket: &'static str,
    pub quota: crate::http::Quota,
    /// Requests the plan needs at the least (more when data fills more than one page).
    pub requests: u64,
    /// The least wall time those requests take under the quota.
    pub lower_bound: std::time::Duration,
}

/// Requests per account and bucket that the plan's uncached chunks need at the least, and the
/// least time the limits allow for them. Buckets run concurrently, so the run takes at least the
/// longest one. (Summed over accounts, as before, a plan of 200 sellers promised a bound 200
/// times too long: every seller has buckets of its own.)
pub fn cost(plan: &Plan, cfg: &Config) -> Vec<BucketCost> {
    let mut need: std::collections::BTreeMap<(&str, &'static str), (crate::http::Quota, u64)> = Default::default();
    let mut once = super::source::Once::default();
    for c in plan.chunks.iter().filter(|c| !c.cached).map(|c| &c.chunk) {
        let Some(fetch) = c.dataset.spec().fetch else { continue };
        for n in fetch.cost(c, cfg, &mut once) {
            need.entry((c.account.as_str(), n.bucket)).or_insert((n.quota, 0)).1 += n.requests;
        }
    }
    need.into_iter()
        .map(|((account, bucket), (default, requests))| {
            let quota = cfg.limits.get(bucket).copied().unwrap_or(default);
            let interval = quota.period / cfg.fetch.time_scale.max(1);
            let paced = requests.saturating_sub(u64::from(quota.burst));
            BucketCost { account: account.to_string(), bucket, quota, requests, lower_bound: interval * paced as u32 }
        })
        .collect()
}
