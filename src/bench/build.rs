//! Stage 1 of `bench`: the lake built through the pipeline from `mpetl sandbox` run as a child
//! process, so that each process's peak memory is its own.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use super::{BenchError, own_peak_mib, peak_in};
use crate::demo;
use crate::events::Events;
use crate::metrics::Grain;
use mpetl_sandbox::ProfileName;

/// What building the lake measured.
#[derive(Debug)]
pub struct Build {
    pub report: crate::pipeline::RunReport,
    pub seconds: f64,
    /// This process's peak: the pipeline alone (the sandbox is another process).
    pub pipeline_peak_mib: f64,
    pub sandbox_peak_mib: f64,
}

/// `mpetl sandbox` as a child process, so that the pipeline's memory is measured alone; killed
/// when dropped.
pub(super) struct SandboxChild {
    child: std::process::Child,
    pub(super) base_url: String,
}

impl SandboxChild {
    /// Starts it and waits for the line that says where it listens (after it generated its data).
    pub(super) async fn start(exe: &Path, args: &[String]) -> Result<SandboxChild, BenchError> {
        use std::io::BufRead;
        let other = |e: std::io::Error| BenchError::Other(format!("the sandbox child: {e}"));
        let mut child = Command::new(exe)
            .arg("sandbox")
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(other)?;
        let stdout = child.stdout.take().ok_or_else(|| BenchError::Other("the sandbox child has no stdout".into()))?;
        let mut guard = SandboxChild { child, base_url: String::new() };
        let line = tokio::task::spawn_blocking(move || {
            let mut reader = std::io::BufReader::new(stdout);
            let mut line = String::new();
            let read = reader.read_line(&mut line).map(|_| line);
            // The rest of what it prints is drained: a closed pipe would kill it at its next line.
            std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
            read
        })
        .await
        .map_err(|e| BenchError::Other(e.to_string()))?
        .map_err(other)?;
        guard.base_url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://127.0.0.1:"))
            .ok_or_else(|| BenchError::Other(format!("the sandbox child said {line:?}, not where it listens")))?
            .to_string();
        Ok(guard)
    }

    pub(super) fn peak_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        peak_in(&status)
    }
}

impl Drop for SandboxChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Stage 1: the lake of a `profile` seller over `days`, fetched from `mpetl sandbox` run as a
/// child of `exe`, with the marts of every grain, as the demo writes them.
pub async fn build(exe: &Path, data_dir: &Path, profile: ProfileName, days: i64) -> Result<Build, BenchError> {
    let profile = format!("{profile:?}").to_lowercase();
    // History enough for the period and the month before it (chunks read whole months).
    let history = (days + 35).max(400).to_string();
    let args = ["--profile".into(), profile, "--page-cap".into(), "80000".into(), "--history-days".into(), history];
    let sandbox = SandboxChild::start(exe, &args).await?;
    let cfg = demo::sandbox_config(&sandbox.base_url, data_dir.to_path_buf(), 1_000_000, 80_000);
    let costs = sandbox_get(&sandbox.base_url, "/__sandbox/costs.csv").await?;
    crate::lake::write_file_atomically(&cfg.costs_file, &costs).map_err(|e| BenchError::Other(e.to_string()))?;
    let today = chrono::Utc::now().with_timezone(&cfg.timezone).date_naive();
    let period =
        crate::pipeline::plan::Period::new(today - chrono::Duration::days(days), today - chrono::Duration::days(1))
            .map_err(crate::pipeline::RunError::from)?;
    let t = Instant::now();
    let runner = crate::pipeline::Runner::open(cfg, Events::none())?;
    let report = runner
        .backfill(&crate::pipeline::BackfillRequest {
            grains: vec![Grain::Day, Grain::Week, Grain::Month],
            ..crate::pipeline::BackfillRequest::new(period)
        })
        .await?;
    let seconds = t.elapsed().as_secs_f64();
    Ok(Build { report, seconds, pipeline_peak_mib: own_peak_mib(), sandbox_peak_mib: sandbox.peak_mib() })
}

/// A `/__sandbox` answer of the sandbox at `base`.
pub(super) async fn sandbox_get(base: &str, path_and_query: &str) -> Result<Vec<u8>, BenchError> {
    let what = |e: reqwest::Error| BenchError::Other(format!("the sandbox's {path_and_query}: {}", e.without_url()));
    crate::http::client(std::time::Duration::from_secs(120))
        .get(format!("{base}{path_and_query}"))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(what)?
        .bytes()
        .await
        .map(|b| b.to_vec())
        .map_err(what)
}
