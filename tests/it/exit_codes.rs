//! The exit status tells cron, systemd or a script what happened (README "Exit codes"): 0 done,
//! 2 a usage or config mistake, 3 some chunks failed, 75 another process holds the state, 143
//! stopped by SIGTERM.

use std::time::{Duration, Instant};

use crate::common::*;

fn said(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_say_what_happened() {
    let h = harness(small(80_000), |_| {}).await;
    let config = h.write_config("mpetl.toml", FAST, "");
    let p = last_days(5);
    let (from, to) = (p.from.to_string(), p.to.to_string());
    let args = ["backfill", "--from", from.as_str(), "--to", to.as_str(), "--sources", "wb"];

    // 3: chunks failed (a token WB refuses); what else there was is stored, and it resumes.
    let o = mpetl(&config, &args).env("MPETL_ACCOUNTS__DEMO__WB__TOKEN", "not-a-token").output().unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", said(&o));

    // 75: another process holds the embedded state store.
    let held = mpetl::state::EmbeddedStore::open(&h.cfg.state_dir()).unwrap();
    let o = mpetl(&config, &args).output().unwrap();
    assert_eq!(o.status.code(), Some(75), "{}", said(&o));
    assert!(said(&o).contains("in use by another mpetl process"), "{}", said(&o));
    drop(held);

    // 0, with the logs piped: plain text, no terminal escape codes.
    let o = mpetl(&config, &args).env("MPETL_LOG", "debug").output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    assert!(said(&o).contains("DEBUG"), "debug logs were asked for: {}", said(&o));
    assert!(!said(&o).contains('\u{1b}'), "escape codes in piped logs: {}", said(&o));

    // 2: a config mistake, a bad date, an argument clap refuses.
    let o = mpetl(&config, &args).env("MPETL_TIMEZONE", "Mars/Olympus").output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    let o = mpetl(&config, &["backfill", "--from", &to, "--to", &from]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    let o = mpetl(&config, &["backfill", "--from", "2026-13-01", "--to", "2026-12-31"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));

    // 143: SIGTERM mid-run. The real limits (time scale 1) make WB's finance wait a minute for
    // its second request; the run stops at once with what it stored, resumable.
    let slow = h.write_config("slow.toml", 1, "");
    let other = h.dir.path().join("other-data");
    let mut child = mpetl(&slow, &args)
        .env("MPETL_DATA_DIR", &other)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let t = Instant::now();
    let o = tokio::task::spawn_blocking(move || {
        let _ = child.stdout.take();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(o.status.code(), Some(143), "{}", said(&o));
    assert!(t.elapsed() < Duration::from_secs(30), "stopped without waiting out the limit: {:?}", t.elapsed());
    assert!(said(&o).contains("--resume"), "{}", said(&o));
}
