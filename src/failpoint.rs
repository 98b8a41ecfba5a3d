//! Crash points for the crash tests: `MPETL_FAILPOINT=<point>:<n>` makes the process SIGKILL
//! itself the n-th time it reaches `<point>`, so a test can die at an exact step rather than at
//! a moment. Unset (always, outside tests) it costs one atomic load per call.
//!
//! Points: `fetched` (a response arrived, nothing of it stored), `lake.before_rename` (a
//! partition's temp file is written and synced, not published), `lake.committed` (a page or
//! chunk is published in the lake, its cursor or chunk record not yet moved).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

struct Armed {
    point: String,
    nth: u64,
    seen: AtomicU64,
}

fn armed() -> Option<&'static Armed> {
    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    ARMED
        .get_or_init(|| {
            let v = std::env::var("MPETL_FAILPOINT").ok()?;
            let (point, nth) = v.rsplit_once(':').unwrap_or((v.as_str(), "1"));
            Some(Armed { point: point.to_string(), nth: nth.parse().ok()?, seen: AtomicU64::new(0) })
        })
        .as_ref()
}

/// Dies here if this is the armed point's n-th hit.
pub fn hit(point: &str) {
    let Some(a) = armed() else { return };
    if a.point == point && a.seen.fetch_add(1, Ordering::SeqCst) + 1 == a.nth {
        // SIGKILL, not exit: no destructor, flush or cleanup runs, as in a real crash.
        // SAFETY: signalling our own pid.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}
