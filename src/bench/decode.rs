//! The decode + write stage of `bench`: WB finance pages (the widest rows) as JSON bytes in
//! memory, decoded and turned into lake rows as a fetch does, upserted into committed partitions.
//! The pages come from a sandbox child over HTTP, to files; a child process of its own reads
//! them into memory and is timed from there, so its peak memory and CPU time are the stage's.

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::BenchError;
use super::build::SandboxChild;
use crate::dataset::Dataset;
use crate::lake::batch::{Batch, Lineage};
use crate::lake::{ALWAYS, Lake};
use crate::sources::wb::models::{FinanceItem, WbFinanceRow};

/// What the decode child measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DecodeTiming {
    pub rows: u64,
    pub bytes: u64,
    pub seconds: f64,
    /// User + system CPU time of the timed part.
    pub cpu_seconds: f64,
    pub peak_rss_mib: f64,
}

/// A medium seller's last `days` of WB finance, in pages of 100 000 rows, into `dir` (`page-N.json`).
pub async fn fetch_pages(exe: &Path, dir: &Path, days: i64) -> Result<Vec<PathBuf>, BenchError> {
    let other = |e: String| BenchError::Other(format!("WB finance pages for the decode stage: {e}"));
    let sandbox =
        SandboxChild::start(exe, &["--profile".into(), "medium".into(), "--page-cap".into(), "100000".into()]).await?;
    std::fs::create_dir_all(dir).map_err(|e| other(e.to_string()))?;
    let http = crate::http::client(std::time::Duration::from_secs(120));
    let today = Utc::now().with_timezone(&chrono_tz::Europe::Moscow).date_naive();
    let (from, to) = (today - chrono::Duration::days(days), today - chrono::Duration::days(1));
    let (mut cursor, mut files) = (0i64, Vec::new());
    loop {
        let body = serde_json::json!({"dateFrom": from.to_string(), "dateTo": to.to_string(), "limit": 100_000, "rrdId": cursor, "period": "weekly"});
        let r = http
            .post(format!("{}/api/finance/v1/sales-reports/detailed", sandbox.base_url))
            .header("Authorization", mpetl_sandbox::WB_TOKEN)
            .json(&body)
            .send()
            .await
            .map_err(|e| other(e.to_string()))?;
        if r.status() == reqwest::StatusCode::NO_CONTENT {
            break;
        }
        let bytes = r.bytes().await.map_err(|e| other(e.to_string()))?;
        let items: Vec<FinanceItem> = crate::sources::decode::json(&bytes).map_err(|e| other(e.to_string()))?;
        let Some(last) = items.last() else { break };
        // A page that does not move the cursor would be asked for forever.
        if last.rrd_id <= cursor {
            return Err(other(format!("the page after rrdId {cursor} ends at rrdId {}", last.rrd_id)));
        }
        cursor = last.rrd_id;
        let path = dir.join(format!("page-{}.json", files.len()));
        std::fs::write(&path, &bytes).map_err(|e| other(e.to_string()))?;
        files.push(path);
    }
    Ok(files)
}

/// The timed part: `pages` read into memory first, then decoded and upserted into `lake`.
pub fn decode_and_write(pages: &[PathBuf], lake: &Path) -> Result<DecodeTiming, BenchError> {
    let other = |e: String| BenchError::Other(format!("decode + write: {e}"));
    let bodies: Vec<Vec<u8>> =
        pages.iter().map(std::fs::read).collect::<Result<_, _>>().map_err(|e| other(e.to_string()))?;
    let lake = Lake::new(lake.to_path_buf());
    let lineage = Lineage { loaded_at: Utc::now(), chunk: "bench".into() };
    let (cpu0, t) = (super::cpu_seconds(), Instant::now());
    let mut rows = 0u64;
    for body in &bodies {
        let items: Vec<FinanceItem> = crate::sources::decode::json(body).map_err(|e| other(e.to_string()))?;
        let batch: Vec<WbFinanceRow> =
            items.into_iter().map(WbFinanceRow::try_from).collect::<Result<_, _>>().map_err(other)?;
        rows += batch.len() as u64;
        let parts =
            Batch::new(Dataset::WbFinance, batch).into_partitions(&lineage).map_err(|e| other(e.to_string()))?;
        for (month, df) in parts {
            lake.upsert(Dataset::WbFinance, "bench", &month, df, ALWAYS).map_err(|e| other(e.to_string()))?;
        }
    }
    Ok(DecodeTiming {
        rows,
        bytes: bodies.iter().map(|b| b.len() as u64).sum(),
        seconds: t.elapsed().as_secs_f64(),
        cpu_seconds: super::cpu_seconds() - cpu0,
        peak_rss_mib: super::own_peak_mib(),
    })
}
