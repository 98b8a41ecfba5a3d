//! A backfill process killed with SIGKILL at several moments, then run again: the lake is never
//! half-written, and the finished lake holds the same numbers as the sandbox's truth. Both
//! state stores.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use mpetl::dataset::Dataset;
use mpetl::sandbox::limits::Faults;
use mpetl::sandbox::{ProfileName, SandboxConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_backfills_resume_to_the_truth_embedded() {
    killed_backfills_resume_to_the_truth(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_backfills_resume_to_the_truth_redis() {
    let Some(server) = common::redis_server::RedisServer::start() else { return };
    killed_backfills_resume_to_the_truth(Some(server.url.clone())).await;
}

async fn killed_backfills_resume_to_the_truth(redis_url: Option<String>) {
    // Real limits ÷ 120 make the run last a few seconds, long enough to be killed in the middle.
    let sb = SandboxConfig {
        profile: ProfileName::Small,
        seed: 5,
        enforce_limits: Some(120),
        faults: Faults::default(),
        ..Default::default()
    };
    let mut h = harness(sb, |f| f.time_scale = 120).await;
    h.cfg.redis_url = redis_url.clone().map(Into::into);
    let state = redis_url.map_or_else(String::new, |u| format!("[state]\nredis_url = {u:?}\n"));
    let period = last_days(70);
    let u = &h.sandbox.base_url;
    let config = h.dir.path().join("mpetl.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n{state}[fetch]\ntime_scale = 120\n[accounts.demo.wb]\ntoken = {:?}\n[accounts.demo.ozon]\nclient_id = {:?}\napi_key = {:?}\n\
             [endpoints]\nwb_statistics = {u:?}\nwb_finance = {u:?}\nwb_advert = {u:?}\nozon = {u:?}\n",
            h.cfg.data_dir.display().to_string(),
            mpetl::sandbox::WB_TOKEN,
            mpetl::sandbox::OZON_CLIENT_ID,
            mpetl::sandbox::OZON_API_KEY
        ),
    )
    .unwrap();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_mpetl"))
            .args([
                "--config",
                &config.display().to_string(),
                "backfill",
                "--from",
                &period.from.to_string(),
                "--to",
                &period.to.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    for kill_after in [300u64, 900, 1700] {
        let mut child = run();
        tokio::time::sleep(Duration::from_millis(kill_after)).await;
        child.kill().unwrap(); // SIGKILL: no cleanup runs
        child.wait().unwrap();
        // Whatever the moment, every visible lake file is whole.
        for ds in Dataset::ALL {
            for f in h.runner().lake().partition_files(ds) {
                mpetl::lake::read_file(&f).unwrap_or_else(|e| panic!("killed at {kill_after} ms: {e}"));
            }
        }
    }
    let before = h.sandbox.total_requests();
    let status = run().wait().unwrap();
    assert!(status.success(), "the run after the kills completes");
    assert!(before > 0 && h.sandbox.total_requests() > before);
    assert_matches_truth(&h.daily(&period), &h.truth(&period).await);
    let again = h.sandbox.total_requests();
    assert!(run().wait().unwrap().success());
    assert_eq!(h.sandbox.total_requests(), again, "once complete, a re-run fetches nothing");
}
