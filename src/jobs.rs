//! Jobs: `jobs/*.toml`, one job per file — when it runs (cron with seconds, a time zone), what it
//! pulls (an incremental window with per-dataset lookbacks, or a fixed backfill period), the
//! summary it posts and where.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::config::Config;
use crate::dataset::{Dataset, Marketplace};
use crate::pipeline::BackfillRequest;
use crate::pipeline::plan::Period;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("cannot read jobs from {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("job file {path}: {detail}")]
    Syntax { path: PathBuf, detail: String },
    #[error("job file {path}: {field} = {value:?} is not valid. Fix: {fix}")]
    Invalid { path: PathBuf, field: String, value: String, fix: String },
    #[error("job name {name:?} is used by both {first} and {second}. Fix: give each job its own name")]
    Duplicate { name: String, first: PathBuf, second: PathBuf },
    #[error("no job named {name:?} in {dir}. Fix: one of: {known}")]
    Unknown { name: String, dir: PathBuf, known: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJob {
    name: String,
    cron: String,
    timezone: Option<String>,
    kind: String,
    accounts: Option<Vec<String>>,
    sources: Option<Vec<String>>,
    /// Days re-read before yesterday, `default` and per dataset.
    #[serde(default)]
    lookback: BTreeMap<String, i64>,
    from: Option<String>,
    to: Option<String>,
    summary: Option<RawSummary>,
    post: Option<RawPost>,
    /// `run_once` (default): on start, a tick missed while down runs once; `skip`: wait.
    missed: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSummary {
    period: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPost {
    telegram_chat: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobKind {
    /// Yesterday and the `days` before it: cursors carry the statistics streams forward, and
    /// months inside a dataset's lookback are re-read when their cache lifetime ends.
    Incremental {
        default_days: i64,
        per_dataset: BTreeMap<Dataset, i64>,
    },
    Backfill {
        period: Period,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryPeriod {
    Yesterday,
    Last7Days,
    Last30Days,
    MonthToDate,
    LastMonth,
    /// The job's own period.
    RunPeriod,
}

impl SummaryPeriod {
    const NAMES: [(&'static str, SummaryPeriod); 6] = [
        ("yesterday", SummaryPeriod::Yesterday),
        ("last_7_days", SummaryPeriod::Last7Days),
        ("last_30_days", SummaryPeriod::Last30Days),
        ("month_to_date", SummaryPeriod::MonthToDate),
        ("last_month", SummaryPeriod::LastMonth),
        ("run_period", SummaryPeriod::RunPeriod),
    ];

    /// The days it covers, seen from `today` (in the job's zone).
    pub fn period(self, today: NaiveDate, run: Period) -> Period {
        let y = today - Duration::days(1);
        let first_of = crate::clock::first_of_month;
        let (from, to) = match self {
            SummaryPeriod::Yesterday => (y, y),
            SummaryPeriod::Last7Days => (y - Duration::days(6), y),
            SummaryPeriod::Last30Days => (y - Duration::days(29), y),
            SummaryPeriod::MonthToDate => (first_of(y), y),
            SummaryPeriod::LastMonth => {
                let end = first_of(today) - Duration::days(1);
                (first_of(end), end)
            }
            SummaryPeriod::RunPeriod => (run.from, run.to),
        };
        Period { from, to }
    }
}

#[derive(Debug, Clone)]
pub struct Job {
    pub name: String,
    pub file: PathBuf,
    pub cron: String,
    pub tz: Tz,
    pub kind: JobKind,
    pub accounts: Option<Vec<String>>,
    pub sources: Vec<Marketplace>,
    pub summary: Option<SummaryPeriod>,
    pub telegram_chat: Option<i64>,
    pub catch_up: bool,
    schedule: croner::Cron,
}

/// Parses a 6-field cron (seconds first), as tokio-cron-scheduler does.
pub fn parse_cron(expr: &str) -> Result<croner::Cron, String> {
    if expr.split_whitespace().count() != 6 {
        return Err(format!(
            "{} field(s); write 6, seconds first: \"sec min hour day-of-month month day-of-week\", e.g. \"0 30 3 * * *\" for 03:30:00 daily",
            expr.split_whitespace().count()
        ));
    }
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(expr)
        .map_err(|e| format!("{e}; e.g. \"0 30 3 * * *\" is 03:30:00 daily"))
}

impl Job {
    /// The next fire times after `after`, in the job's zone.
    pub fn next_fires(&self, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Tz>> {
        let mut out = Vec::new();
        // Whole seconds: croner keeps the start's fraction in what it finds.
        let mut t = after.with_nanosecond(0).unwrap_or(after).with_timezone(&self.tz);
        for _ in 0..n {
            match self.schedule.find_next_occurrence(&t, false) {
                Ok(next) => {
                    out.push(next);
                    t = next;
                }
                Err(_) => break,
            }
        }
        out
    }

    /// The last scheduled fire at or before `at`.
    pub fn previous_fire(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let at = at.with_nanosecond(0).unwrap_or(at);
        self.schedule.find_previous_occurrence(&at.with_timezone(&self.tz), true).ok().map(|t| t.with_timezone(&Utc))
    }

    /// What a run of this job started at `now` pulls.
    pub fn request(&self, now: DateTime<Utc>) -> BackfillRequest {
        let yesterday = now.with_timezone(&self.tz).date_naive() - Duration::days(1);
        let mut req = match &self.kind {
            JobKind::Backfill { period } => BackfillRequest::new(*period),
            JobKind::Incremental { default_days, per_dataset } => {
                let longest = per_dataset.values().copied().chain([*default_days]).max().unwrap_or(1);
                let start = |days: i64| yesterday - Duration::days(days - 1);
                let mut req = BackfillRequest::new(Period { from: start(longest), to: yesterday });
                for ds in Dataset::ALL.into_iter().filter(|d| d.chunk_dataset() == *d) {
                    req.since.insert(ds, start(per_dataset.get(&ds).copied().unwrap_or(*default_days)));
                }
                req
            }
        };
        req.accounts = self.accounts.clone();
        req.sources = self.sources.clone();
        req.kind = self.name.clone();
        req
    }
}

/// Every `*.toml` in `dir`, validated against `cfg` (accounts must exist).
pub fn load_dir(dir: &Path, cfg: &Config) -> Result<Vec<Job>, JobError> {
    let read = |source| JobError::Read { path: dir.to_path_buf(), source };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut jobs: Vec<Job> = Vec::new();
    for f in files {
        let job = load_file(&f, cfg)?;
        if let Some(other) = jobs.iter().find(|j| j.name == job.name) {
            return Err(JobError::Duplicate { name: job.name, first: other.file.clone(), second: f });
        }
        jobs.push(job);
    }
    Ok(jobs)
}

/// The job called `name` in `dir`.
pub fn find(dir: &Path, cfg: &Config, name: &str) -> Result<Job, JobError> {
    let jobs = load_dir(dir, cfg)?;
    let known = jobs.iter().map(|j| j.name.as_str()).collect::<Vec<_>>().join(", ");
    jobs.into_iter().find(|j| j.name == name).ok_or_else(|| JobError::Unknown {
        name: name.to_string(),
        dir: dir.to_path_buf(),
        known,
    })
}

pub fn load_file(path: &Path, cfg: &Config) -> Result<Job, JobError> {
    let text = std::fs::read_to_string(path).map_err(|source| JobError::Read { path: path.to_path_buf(), source })?;
    let raw: RawJob =
        toml::from_str(&text).map_err(|e| JobError::Syntax { path: path.to_path_buf(), detail: e.to_string() })?;
    let bad = |field: &str, value: &str, fix: &str| JobError::Invalid {
        path: path.to_path_buf(),
        field: field.to_string(),
        value: value.to_string(),
        fix: fix.to_string(),
    };
    if raw.name.is_empty() || !raw.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(bad("name", &raw.name, "use letters, digits, '-' and '_'"));
    }
    let schedule = parse_cron(&raw.cron).map_err(|e| bad("cron", &raw.cron, &e))?;
    let tz: Tz = match &raw.timezone {
        None => cfg.timezone,
        Some(t) => t.parse().map_err(|_| bad("timezone", t, "an IANA zone such as Europe/Moscow"))?,
    };
    if let Some(ids) = &raw.accounts {
        // An empty list would run nothing and record "done" with empty marts every night.
        if ids.is_empty() {
            return Err(bad("accounts", "[]", "list the accounts to run, or leave the key out to run every account"));
        }
        for id in ids {
            if cfg.account(id).is_err() {
                let known: Vec<&str> = cfg.accounts.iter().map(|a| a.id.as_str()).collect();
                return Err(bad("accounts", id, &format!("the config has accounts: {}", known.join(", "))));
            }
        }
    }
    let sources = match &raw.sources {
        None => vec![Marketplace::Wb, Marketplace::Ozon],
        Some(list) => list
            .iter()
            .map(|s| s.parse::<Marketplace>().map_err(|e| bad("sources", s, &e)))
            .collect::<Result<_, _>>()?,
    };
    let date = |field: &str, v: &Option<String>| -> Result<NaiveDate, JobError> {
        let v = v.as_deref().ok_or_else(|| bad(field, "(missing)", "a backfill job needs from and to (YYYY-MM-DD)"))?;
        crate::pipeline::plan::parse_date(v).map_err(|e| bad(field, v, &e))
    };
    let kind = match raw.kind.as_str() {
        "incremental" => {
            let mut default_days = 3;
            let mut per_dataset = BTreeMap::new();
            for (k, days) in &raw.lookback {
                if !(1..=400).contains(days) {
                    return Err(bad(&format!("lookback.{k}"), &days.to_string(), "a number of days from 1 to 400"));
                }
                if k == "default" {
                    default_days = *days;
                    continue;
                }
                let ds = Dataset::from_name(k).filter(|d| d.chunk_dataset() == *d).ok_or_else(|| {
                    bad(
                        "lookback",
                        k,
                        "use default or a fetched dataset: wb_orders, wb_sales, wb_finance, wb_ad_stats, ozon_fbo, ozon_fbs, ozon_accruals",
                    )
                })?;
                per_dataset.insert(ds, *days);
            }
            if raw.from.is_some() || raw.to.is_some() {
                return Err(bad(
                    "from/to",
                    "set",
                    "an incremental job has no fixed period: drop from and to, or use kind = \"backfill\"",
                ));
            }
            JobKind::Incremental { default_days, per_dataset }
        }
        "backfill" => {
            let (from, to) = (date("from", &raw.from)?, date("to", &raw.to)?);
            let period = Period::new(from, to).map_err(|e| bad("from/to", &format!("{from}..{to}"), &e.to_string()))?;
            if !raw.lookback.is_empty() {
                return Err(bad("lookback", "set", "lookback is for incremental jobs: drop it"));
            }
            JobKind::Backfill { period }
        }
        other => return Err(bad("kind", other, "incremental or backfill")),
    };
    let summary = match &raw.summary {
        None => None,
        Some(s) => {
            Some(SummaryPeriod::NAMES.iter().find(|(n, _)| *n == s.period).map(|(_, p)| *p).ok_or_else(|| {
                let names: Vec<&str> = SummaryPeriod::NAMES.iter().map(|(n, _)| *n).collect();
                bad("summary.period", &s.period, &format!("one of {}", names.join(", ")))
            })?)
        }
    };
    let telegram_chat = raw.post.as_ref().map(|p| p.telegram_chat);
    if telegram_chat.is_some() && cfg.telegram.is_none() {
        return Err(bad(
            "post.telegram_chat",
            &telegram_chat.unwrap_or_default().to_string(),
            "configure [telegram] (token) in mpetl.toml",
        ));
    }
    let catch_up = match raw.missed.as_deref() {
        None | Some("run_once") => true,
        Some("skip") => false,
        Some(other) => return Err(bad("missed", other, "run_once or skip")),
    };
    Ok(Job {
        name: raw.name,
        file: path.to_path_buf(),
        cron: raw.cron,
        tz,
        kind,
        accounts: raw.accounts,
        sources,
        summary,
        telegram_chat,
        catch_up,
        schedule,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_periods_are_whole_days_before_today() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let run = Period { from: today, to: today };
        let p = |s: SummaryPeriod| {
            let p = s.period(today, run);
            (p.from.to_string(), p.to.to_string())
        };
        assert_eq!(p(SummaryPeriod::Yesterday), ("2026-02-28".into(), "2026-02-28".into()));
        assert_eq!(p(SummaryPeriod::Last7Days), ("2026-02-22".into(), "2026-02-28".into()));
        assert_eq!(p(SummaryPeriod::MonthToDate), ("2026-02-01".into(), "2026-02-28".into()));
        assert_eq!(p(SummaryPeriod::LastMonth), ("2026-02-01".into(), "2026-02-28".into()));
    }

    #[test]
    fn cron_needs_six_fields() {
        assert!(parse_cron("0 3 * * *").unwrap_err().contains("seconds first"));
        assert!(parse_cron("0 0 3 * * *").is_ok());
        assert!(parse_cron("0 0 25 * * *").is_err(), "hour 25");
    }
}
