//! Terminal progress: a bar per stage on a terminal, plain lines otherwise (cron, CI, pipes).

use std::collections::HashMap;
use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::events::{Event, Stage};

#[derive(Default)]
struct StageStats {
    chunks: u64,
    done: u64,
    cached: u64,
    rows: u64,
    failed: u64,
}

/// Consumes events until the run finishes or the channel closes. Lines go to stderr so stdout stays the report.
pub async fn run(mut rx: UnboundedReceiver<Event>) {
    let fancy = std::io::stderr().is_terminal();
    let multi = MultiProgress::with_draw_target(if fancy {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let style = ProgressStyle::with_template("{prefix:>24} {bar:30.cyan/blue} {pos}/{len} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("█▉░");
    let mut bars: HashMap<Stage, ProgressBar> = HashMap::new();
    let mut stats: HashMap<Stage, StageStats> = HashMap::new();
    let label = |s: Stage| format!("stage {}/4: {}", s.number(), s.title());
    while let Some(ev) = rx.recv().await {
        match ev {
            Event::StageStarted { stage, chunks } => {
                stats.insert(stage, StageStats { chunks, ..Default::default() });
                if fancy {
                    let b = multi.add(ProgressBar::new(chunks).with_style(style.clone()).with_prefix(label(stage)));
                    bars.insert(stage, b);
                } else {
                    eprintln!("{}: {chunks} chunk(s)", label(stage));
                }
            }
            Event::ChunkCached { stage, chunk } => {
                let s = stats.entry(stage).or_default();
                s.cached += 1;
                s.done += 1;
                if let Some(b) = bars.get(&stage) {
                    b.inc(1);
                    b.set_message(format!("{} rows, {} cached", s.rows, s.cached));
                } else {
                    eprintln!("{}: {chunk} cached, no request", label(stage));
                }
            }
            Event::RowsStored { stage, chunk, rows } => {
                let s = stats.entry(stage).or_default();
                s.rows += rows;
                if let Some(b) = bars.get(&stage) {
                    b.set_message(format!("{} rows, {} cached", s.rows, s.cached));
                } else {
                    eprintln!("{}: {chunk}: +{rows} rows stored", label(stage));
                }
            }
            Event::ChunkDone { stage, chunk, rows, requests } => {
                let s = stats.entry(stage).or_default();
                s.done += 1;
                if let Some(b) = bars.get(&stage) {
                    b.inc(1);
                } else {
                    eprintln!(
                        "{}: {chunk} done ({rows} rows, {requests} requests) [{}/{}]",
                        label(stage),
                        s.done,
                        s.chunks
                    );
                }
            }
            Event::ChunkFailed { stage, chunk, error } => {
                stats.entry(stage).or_default().failed += 1;
                say(&multi, fancy, format!("{}: {chunk} FAILED: {error}", label(stage)));
            }
            Event::StageFinished { stage } => {
                let s = stats.entry(stage).or_default();
                let msg = format!(
                    "{} rows, {} cached{}",
                    s.rows,
                    s.cached,
                    if s.failed > 0 { format!(", {} failed", s.failed) } else { String::new() }
                );
                if let Some(b) = bars.get(&stage) {
                    b.finish_with_message(msg);
                } else {
                    eprintln!("{}: finished: {msg}", label(stage));
                }
            }
            Event::Note(text) => {
                say(&multi, fancy, format!("note: {text}"));
            }
            Event::StageSnapshot(p, stage) => {
                let s = StageStats { chunks: p.total, done: p.done, cached: p.cached, rows: p.rows, failed: p.failed };
                if let Some(b) = bars.get(&stage) {
                    b.set_length(s.chunks);
                    b.set_position(s.done + s.failed);
                    b.set_message(format!("{} rows, {} cached", s.rows, s.cached));
                } else {
                    eprintln!(
                        "{}: {}/{} chunks, {} rows (all workers)",
                        label(stage),
                        s.done + s.failed,
                        s.chunks,
                        s.rows
                    );
                }
                stats.insert(stage, s);
            }
            // The runner may live on (the demo reads metrics after), so its sender stays open.
            Event::RunFinished { .. } => break,
        }
    }
}

fn say(multi: &MultiProgress, fancy: bool, line: String) {
    if fancy {
        let _ = multi.println(line);
    } else {
        eprintln!("{line}");
    }
}
