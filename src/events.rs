//! Progress events: the pipeline emits them on one channel; notifiers, the run record and
//! `mpetl status` fold them. Neither the pipeline nor the state store depends on a notifier.

use tokio::sync::mpsc;

/// The four stages a seller sees ("stage 2/4: Wildberries").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    Plan,
    Wb,
    Ozon,
    Metrics,
}

impl Stage {
    pub const ALL: [Stage; 4] = [Stage::Plan, Stage::Wb, Stage::Ozon, Stage::Metrics];

    pub fn number(self) -> usize {
        self as usize + 1
    }

    pub fn title(self) -> &'static str {
        match self {
            Stage::Plan => "plan",
            Stage::Wb => "Wildberries",
            Stage::Ozon => "Ozon",
            Stage::Metrics => "metrics",
        }
    }
}

#[derive(Debug, Clone)]
pub enum Event {
    StageStarted {
        stage: Stage,
        chunks: u64,
    },
    /// A chunk already done within its cache lifetime: no request made.
    ChunkCached {
        stage: Stage,
        chunk: String,
    },
    /// Rows of a chunk were stored in the lake (one page of a stream, or a whole window).
    RowsStored {
        stage: Stage,
        chunk: String,
        rows: u64,
    },
    ChunkDone {
        stage: Stage,
        chunk: String,
        rows: u64,
        requests: u64,
    },
    ChunkFailed {
        stage: Stage,
        chunk: String,
        error: String,
    },
    StageFinished {
        stage: Stage,
    },
    Note(String),
    /// A stage's counts as a whole, replacing what came before: a fanned-out job's process
    /// sums its workers' run records and says where the stage stands.
    StageSnapshot(crate::progress::StageProgress, Stage),
    RunFinished {
        ok: bool,
    },
}

/// The sending side; a closed receiver is not an error (progress never fails the ETL).
#[derive(Debug, Clone)]
pub struct Events(Option<mpsc::UnboundedSender<Event>>);

impl Events {
    pub fn channel() -> (Events, mpsc::UnboundedReceiver<Event>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Events(Some(tx)), rx)
    }

    /// Events nobody listens to.
    pub fn none() -> Events {
        Events(None)
    }

    pub fn emit(&self, e: Event) {
        if let Some(tx) = &self.0 {
            let _ = tx.send(e);
        }
    }
}
