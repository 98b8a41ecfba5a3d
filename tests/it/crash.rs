//! A backfill process killed with SIGKILL at exact steps (a response arrived but nothing of it
//! is stored; a partition's temp file written but not published; a page published but its
//! cursor or chunk record not moved), then resumed. The final lake is row-for-row the lake of
//! an uninterrupted run, and no chunk done before a kill is fetched again (the sandbox's own
//! request log says which chunk each request was for). Both state stores.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;

use crate::common::*;
use mpetl::config::Config;
use mpetl::dataset::Dataset;
use mpetl::lake::{LINEAGE, Lake};
use mpetl::state::{ChunkState, StateStore};
use mpetl_sandbox::SandboxConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kills_at_exact_steps_resume_to_the_uninterrupted_lake_embedded() {
    kills_at_exact_steps(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kills_at_exact_steps_resume_to_the_uninterrupted_lake_redis() {
    let Some(server) = crate::common::redis_server::RedisServer::start() else { return };
    kills_at_exact_steps(Some(server.url.clone())).await;
}

/// The chunk a data request was for: dataset and account from the path, the month from the
/// first date it names. WB statistics streams and once-per-run lists have none.
fn chunk_of(r: &mpetl_sandbox::LoggedRequest) -> Option<String> {
    // What is only ever "now" is one chunk a day, named by today.
    let today = || chrono::Utc::now().with_timezone(&chrono_tz::Europe::Moscow).date_naive();
    match r.path.as_str() {
        "/api/v1/supplier/stocks" => return Some(format!("wb_stocks/demo/{}", today())),
        "/content/v2/get/cards/list" => return Some(format!("wb_products/demo/{}", today())),
        "/v3/product/list" | "/v3/product/info/list" | "/v4/product/info/attributes" => {
            return Some(format!("ozon_products/demo/{}", today()));
        }
        _ => {}
    }
    let ds = match r.path.as_str() {
        "/v1/returns/list" => "ozon_returns",
        "/api/finance/v1/sales-reports/detailed" | "/api/finance/v1/sales-reports/list" => "wb_finance",
        "/adv/v3/fullstats" | "/adv/v1/upd" => "wb_ad_stats",
        "/v3/posting/fbo/list" => "ozon_fbo",
        "/v4/posting/fbs/list" => "ozon_fbs",
        "/v1/finance/accrual/by-day" => "ozon_accruals",
        _ => return None,
    };
    let text = format!("{} {}", r.query, r.body);
    let b = text.as_bytes();
    let months: Vec<String> = (0..b.len().saturating_sub(9))
        .filter_map(|i| {
            let w = &b[i..i + 10];
            let shape =
                w.iter().enumerate().all(|(j, c)| if j == 4 || j == 7 { *c == b'-' } else { c.is_ascii_digit() });
            shape.then(|| String::from_utf8_lossy(&w[..7]).into_owned())
        })
        .collect();
    let month = months.first()?;
    // WB finance reads a run of months not yet cached as one window: its chunk is the span.
    match months.last() {
        Some(last) if ds == "wb_finance" && last != month => Some(format!("{ds}/demo/{month}..{last}")),
        _ => Some(format!("{ds}/demo/{month}")),
    }
}

/// The month chunks a chunk id covers: itself, or a span's months (`…/2026-01..2026-03`).
fn months_of(id: &str) -> Vec<String> {
    let Some((first, last)) = id.split_once("..") else { return vec![id.to_string()] };
    let (prefix, from) = first.rsplit_once('/').unwrap();
    let month = |m: &str| chrono::NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").unwrap();
    let (mut m, end) = (month(from), month(last));
    let mut out = Vec::new();
    while m <= end {
        out.push(format!("{prefix}/{}", m.format("%Y-%m")));
        m = m.checked_add_months(chrono::Months::new(1)).unwrap();
    }
    out
}

/// Every lake partition's rows without lineage, by partition path relative to the lake root.
fn lake_rows(cfg: &Config) -> BTreeMap<String, polars::prelude::DataFrame> {
    let lake = Lake::new(cfg.lake_dir());
    let mut out = BTreeMap::new();
    for ds in Dataset::ALL {
        for f in lake.partition_files(ds) {
            let df = mpetl::lake::read_file(&f).unwrap().drop_many(LINEAGE);
            out.insert(f.strip_prefix(lake.root()).unwrap().display().to_string(), df);
        }
    }
    out
}

fn temp_files(dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            temp_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "tmp") {
            out.push(p.display().to_string());
        }
    }
}

fn open_store(cfg: &Config) -> std::sync::Arc<dyn StateStore> {
    mpetl::state::open(cfg).expect("state opens")
}

async fn kills_at_exact_steps(redis_url: Option<String>) {
    // Finance pages of 300 rows: a month takes several, so a kill can land between them.
    let mut h = harness(SandboxConfig { wb_finance_page_cap: 300, ..small(1_000) }, |_| {}).await;
    h.cfg.redis_url = redis_url.clone().map(Into::into);
    let period = last_days(70);

    // The uninterrupted run, into a data dir of its own (embedded state).
    let mut reference = h.cfg.clone();
    reference.data_dir = h.dir.path().join("reference");
    reference.redis_url = None;
    std::fs::create_dir_all(&reference.data_dir).unwrap();
    let reference_report = mpetl::pipeline::Runner::open(reference.clone(), mpetl::events::Events::none())
        .unwrap()
        .backfill(&request(period))
        .await
        .expect("reference run");
    let planned = mpetl::state::open(&reference).unwrap().chunks(None).unwrap().len();
    eprintln!("reference: {} requests, {planned} chunks, {:?}", h.sandbox.total_requests(), reference_report.lake);

    // Each step in a data dir (and Redis namespace) of its own, killed about a third of the way
    // through the run: on a hit counted once five of the 17 chunks are done. Counted from the
    // start alone, the 60th response came before any chunk was done on a loaded CI machine,
    // and the refetch check below had nothing to check (regression: crash_kill_before_any_chunk_done).
    // The last case dies right after the third finance page is recorded (the period's months
    // are one window): the window goes on from its page cursor.
    for (case, fp) in
        ["chunk.done:5,fetched:5", "chunk.done:5,lake.before_rename:3", "chunk.done:5,lake.committed:3", "chunk.page:3"]
            .into_iter()
            .enumerate()
    {
        h.cfg.data_dir = h.dir.path().join(format!("case-{case}"));
        h.cfg.state_namespace = format!("crash-{case}");
        let state = redis_url
            .as_ref()
            .map_or_else(String::new, |u| format!("[state]\nredis_url = {u:?}\nnamespace = \"crash-{case}\"\n"));
        let config = h.write_config(&format!("mpetl-{case}.toml"), FAST, &state);
        // `parent`: the pid that arms the failpoint; the test's own, or another one (a variable
        // left set in an environment), which must arm nothing.
        let backfill = |failpoint: Option<(&str, u32)>| {
            let mut cmd =
                mpetl(&config, &["backfill", "--from", &period.from.to_string(), "--to", &period.to.to_string()]);
            cmd.stdout(Stdio::null()).stderr(Stdio::piped());
            if let Some((point, parent)) = failpoint {
                cmd.env("MPETL_FAILPOINT", point).env("MPETL_FAILPOINT_PARENT", parent.to_string());
            }
            let out = cmd.output().unwrap();
            (out.status, String::from_utf8_lossy(&out.stderr).into_owned())
        };

        let (status, stderr) = backfill(Some((fp, std::process::id())));
        assert_eq!(
            status.signal(),
            Some(libc::SIGKILL),
            "{fp}: the process reached the point and died there: {stderr}"
        );
        let at = h.sandbox.request_log().len();
        let store = open_store(&h.cfg);
        let done: BTreeSet<String> = store
            .chunks(None)
            .unwrap()
            .into_iter()
            .filter(|c| c.state == ChunkState::Done && c.from.is_some())
            .map(|c| c.id)
            .collect();
        // Unfinished month chunks with stored pages: the last stored rrdId.
        let pages: BTreeMap<String, i64> = store
            .chunks(None)
            .unwrap()
            .into_iter()
            .filter(|c| c.state != ChunkState::Done)
            .filter_map(|c| Some((c.id, c.page_cursor?.parse().unwrap())))
            .collect();
        if fp.starts_with("chunk.page") {
            assert!(!pages.is_empty(), "{fp}: a month was between pages");
        }
        let cursors: BTreeMap<&str, Option<String>> =
            [("/api/v1/supplier/orders", "wb_orders"), ("/api/v1/supplier/sales", "wb_sales")]
                .into_iter()
                .map(|(path, ds)| (path, store.stream(&format!("demo/{ds}")).unwrap().and_then(|s| s.cursor)))
                .collect();
        drop(store);
        eprintln!("killed at {fp}: {} chunk(s) done, cursors {cursors:?}", done.len());
        // Five done, of which at most two are WB statistics streams (no period, no chunk id in
        // their requests).
        if fp.starts_with("chunk.done") {
            assert!(
                done.len() >= 3,
                "{fp}: the chain kills after five chunks are done, or the check below says little"
            );
        }
        // Every visible lake file is whole, whatever the step.
        for ds in Dataset::ALL {
            for f in h.runner().lake().partition_files(ds) {
                mpetl::lake::read_file(&f).unwrap_or_else(|e| panic!("after {fp}: {e}"));
            }
        }

        // Regression (issue #14, defect 12): a failpoint left set killed production runs.
        let (status, stderr) = backfill(Some(("fetched:1", 1)));
        assert!(status.success(), "{fp}: the resumed run completes: {stderr}");
        assert!(stderr.contains("MPETL_FAILPOINT is set but ignored"), "{stderr}");
        let log = h.sandbox.request_log();
        // The mapping from requests to chunks names the same ids the state does.
        assert!(
            log[..at].iter().filter_map(chunk_of).any(|c| done.contains(&c) || pages.contains_key(&c)),
            "{fp}: requests map to chunk ids"
        );
        let refetched: Vec<String> =
            log[at..].iter().filter_map(chunk_of).filter(|c| months_of(c).iter().any(|m| done.contains(m))).collect();
        assert!(
            refetched.is_empty(),
            "after the kill at {fp}, chunks done before it were fetched again: {refetched:?}"
        );
        // A month resumes at its page cursor: no stored page is asked again.
        for r in &log[at..] {
            if let Some(cursor) = chunk_of(r).and_then(|c| pages.get(&c))
                && r.path == "/api/finance/v1/sales-reports/detailed"
            {
                let rrd: i64 = r
                    .body
                    .split("\"rrdId\":")
                    .nth(1)
                    .unwrap()
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(rrd >= *cursor, "after {fp}: a finance page from rrdId {rrd}, before the stored {cursor}");
            }
        }
        // A stream resumes at its cursor: no page before it is asked again.
        for r in &log[at..] {
            if let Some(Some(cursor)) = cursors.get(r.path.as_str()) {
                let from = r.query.split('&').find_map(|kv| kv.strip_prefix("dateFrom=")).unwrap().replace("%3A", ":");
                let (from, cursor) = (mpetl::clock::parse_wb_naive(&from), mpetl::clock::parse_wb_naive(cursor));
                assert!(from >= cursor, "after {fp}: {} asked from {from:?}, before the cursor {cursor:?}", r.path);
            }
        }
        let mut temps = Vec::new();
        temp_files(&h.cfg.lake_dir(), &mut temps);
        assert!(temps.is_empty(), "{fp}: temp files of killed writes are cleaned up: {temps:?}");

        let (got, want) = (lake_rows(&h.cfg), lake_rows(&reference));
        assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "{fp}: the same partitions");
        for (part, df) in &want {
            assert!(
                got[part].equals_missing(df),
                "{fp}: {part}: {} rows vs {} uninterrupted",
                got[part].height(),
                df.height()
            );
        }
        assert_matches_truth(&h.daily(&period), &h.truth(&period).await);

        let before = h.sandbox.total_requests();
        assert!(backfill(None).0.success());
        assert_eq!(h.sandbox.total_requests(), before, "{fp}: once complete, a re-run fetches nothing");
    }
}
