//! Calendar periods: the days a seller asks about, in the configured time zone. The pipeline
//! plans them, the metrics sum over them; neither owns them.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::clock::day_start;

#[derive(Debug, thiserror::Error)]
pub enum PeriodError {
    #[error("--from {from} is after --to {to}. Fix: swap them")]
    Reversed { from: NaiveDate, to: NaiveDate },
    #[error("--from {from} is before {EARLIEST}, the earliest day mpetl accepts. Fix: start on {EARLIEST} or later")]
    TooEarly { from: NaiveDate },
    #[error("--to {to} is after {LATEST}. Fix: end the period on a past day (yesterday is the last complete one)")]
    TooLate { to: NaiveDate },
}

/// The first day a period may start: a floor a mistyped year hits here, with its fix, instead of
/// deep in the date arithmetic. Whether a marketplace still serves an old period is its own to
/// say (an empty answer or a refusal, per dataset).
pub const EARLIEST: NaiveDate = crate::clock::ymd(2019, 1, 1);
/// The last day a period may end; "the future" itself is checked against today where a plan
/// knows it.
pub const LATEST: NaiveDate = crate::clock::ymd(2100, 12, 31);

/// Calendar days `from..=to` in the configured time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// A period within [`EARLIEST`]..=[`LATEST`]: every day in it, and the days around it that
    /// chunking and time zones reach, are dates the calendar arithmetic can hold.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Period, PeriodError> {
        if from > to {
            return Err(PeriodError::Reversed { from, to });
        }
        if from < EARLIEST {
            return Err(PeriodError::TooEarly { from });
        }
        if to > LATEST {
            return Err(PeriodError::TooLate { to });
        }
        Ok(Period { from, to })
    }

    /// The same period starting no earlier than `from`.
    pub fn max_from(self, from: NaiveDate) -> Period {
        Period { from: self.from.max(from), to: self.to }
    }

    /// The period as instants: `[start, end)`.
    pub fn instants(&self, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        (day_start(self.from, tz), day_start(self.to + Duration::days(1), tz))
    }
}

/// Parses a CLI date, with a message that says what is expected.
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|e| format!("'{s}' is not a date ({e}); write it as YYYY-MM-DD, e.g. 2026-01-31"))
}
