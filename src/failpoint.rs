//! Crash points for the crash tests: `MPETL_FAILPOINT=<point>:<n>` makes the process SIGKILL
//! itself the n-th time it reaches `<point>`, so a test can die at an exact step rather than at
//! a moment. Unset (always, outside tests) it costs one atomic load per call.
//!
//! Points: `fetched` (a response arrived, nothing of it stored), `lake.before_rename` (a
//! partition's temp file is written and synced, not published), `lake.committed` (a page or
//! chunk is published in the lake, its cursor or chunk record not yet moved), `chunk.done` (a
//! chunk's `done` record is stored), `chunk.page` (a month chunk's page cursor is stored after
//! its page, the chunk not done).
//!
//! Steps chain with commas: `chunk.done:2,fetched:10` dies at the 10th response after the
//! second chunk is done. Chunks run concurrently, so "the 60th response" alone may come before
//! any chunk is done on a slow machine; a chain pins the kill to a state, not to a schedule.
//!
//! A variable left set in a production environment must not kill a nightly job, so a second
//! switch arms it: `MPETL_FAILPOINT_PARENT` must hold the pid of the process that started this
//! one (the test). Left in an environment, it names some long-gone process and arms nothing;
//! the run says the failpoint is ignored.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

struct Armed {
    steps: Vec<(String, u64)>,
    /// Index of the step being counted; earlier steps are passed.
    step: AtomicUsize,
    seen: AtomicU64,
}

fn armed() -> Option<&'static Armed> {
    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    ARMED
        .get_or_init(|| {
            let v = std::env::var("MPETL_FAILPOINT").ok()?;
            let parent = std::env::var("MPETL_FAILPOINT_PARENT").ok().and_then(|p| p.trim().parse::<i64>().ok());
            // SAFETY: getppid has no preconditions.
            if parent != Some(i64::from(unsafe { libc::getppid() })) {
                tracing::warn!(
                    "MPETL_FAILPOINT is set but ignored: it is for mpetl's crash tests; unset it in this environment"
                );
                return None;
            }
            let steps = v
                .split(',')
                .map(|s| {
                    let (point, nth) = s.trim().rsplit_once(':').unwrap_or((s.trim(), "1"));
                    Some((point.to_string(), nth.parse().ok()?))
                })
                .collect::<Option<Vec<_>>>()?;
            Some(Armed { steps, step: AtomicUsize::new(0), seen: AtomicU64::new(0) })
        })
        .as_ref()
}

/// Dies here if this is the last armed step's n-th hit; counts toward it otherwise.
pub fn hit(point: &str) {
    let Some(a) = armed() else { return };
    // Lock-free is enough for a test hook: a hit racing a step change may count one off, but a
    // later step is only counted once the earlier ones are passed, which is what a chain pins.
    let step = a.step.load(Ordering::SeqCst);
    let Some((want, nth)) = a.steps.get(step) else { return };
    if want != point || a.seen.fetch_add(1, Ordering::SeqCst) + 1 != *nth {
        return;
    }
    if step + 1 < a.steps.len() {
        a.seen.store(0, Ordering::SeqCst);
        a.step.store(step + 1, Ordering::SeqCst);
        return;
    }
    // SIGKILL, not exit: no destructor, flush or cleanup runs, as in a real crash.
    // SAFETY: signalling our own pid.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
}
