//! The Telegram bot: allow-listed chats and users, one report at a time, bounded periods, served
//! by `mpetl bot` or from `schedule --bot`, and a refused token said at once.

use std::process::Stdio;
use std::time::Duration;

use crate::common::*;
use crate::jobs::{CHAT, telegram};
use mpetl_sandbox::telegram::{BOT_TOKEN, BotApi};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_serves_only_allow_listed_chats_and_one_report_at_a_time() {
    let api = BotApi::start().unwrap();
    let sb = mpetl_sandbox::SandboxConfig { enforce_limits: Some(60), ..small(80_000) };
    let mut h = harness(sb, |f| f.time_scale = 60).await;
    h.cfg.telegram = Some(telegram(&api.base_url));
    let store = mpetl::state::open(&h.cfg).unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let bot = tokio::spawn(mpetl::bot::serve(h.cfg.clone(), store.clone(), async {
        let _ = stop_rx.await;
    }));
    let period = last_days(30);
    let report = format!("/report {} {}", period.from, period.to);

    api.push_text(31337, &report);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let stranger = api.messages(31337);
    assert_eq!(stranger.len(), 1, "one polite refusal");
    assert!(stranger[0].text.contains("только"), "{}", stranger[0].text);
    api.push_text(31337, "/report 2026-01-01 2026-01-02");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(api.messages(31337).len(), 1, "refused once, then ignored");
    assert_eq!(h.sandbox.total_requests(), 0, "a stranger starts nothing");

    api.push_text(CHAT, &report);
    tokio::time::sleep(Duration::from_millis(500)).await;
    api.push_text(CHAT, &report);
    api.push_text(CHAT, "/help");
    // The report runs (real limits ÷ 60), then its summary and chart arrive.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while api.messages(CHAT).iter().filter(|m| m.file.is_some()).count() == 0 {
        assert!(std::time::Instant::now() < deadline, "{:?}", api.messages(CHAT));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let texts: Vec<String> = api.messages(CHAT).into_iter().map(|m| m.text).collect();
    assert!(texts.iter().any(|t| t.contains("Готовлю отчёт")), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("уже готовится")), "the second /report is refused: {texts:?}");
    assert!(texts.iter().any(|t| t.contains("/status")), "help: {texts:?}");
    assert!(texts.iter().any(|t| t.contains("✅")), "the progress message finished: {texts:?}");
    assert!(texts.iter().any(|t| t.contains("Итого")), "the summary: {texts:?}");
    assert_eq!(store.runs(10).unwrap().len(), 1, "one run for two /report");
    let _ = stop_tx.send(());
    bot.await.unwrap().unwrap();
    drop(store);
    assert_matches_truth(&h.daily(&period), &h.truth(&period).await);
}

/// `mpetl schedule --bot` on one nightly job (not due), with the bot token `token`; stderr piped.
fn schedule_with_bot(h: &Harness, api: &BotApi, token: &str) -> std::process::Child {
    let telegram = format!("[telegram]\ntoken = {token:?}\napi_base = {:?}\nallowed_chats = [{CHAT}]\n", api.base_url);
    let config = h.write_config("mpetl.toml", FAST, &telegram);
    let jobs = h.dir.path().join("jobs");
    std::fs::create_dir_all(&jobs).unwrap();
    let job = "name = \"n\"\ncron = \"0 0 3 * * *\"\nkind = \"incremental\"\nmissed = \"skip\"\n";
    std::fs::write(jobs.join("n.toml"), job).unwrap();
    mpetl(&config, &["schedule", "--bot", "--jobs", &jobs.display().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_with_bot_serves_commands_from_the_same_process() {
    let api = BotApi::start().unwrap();
    let h = harness(small(80_000), |_| {}).await;
    let child = schedule_with_bot(&h, &api, BOT_TOKEN);
    api.push_text(CHAT, "/help");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while api.messages(CHAT).is_empty() {
        assert!(std::time::Instant::now() < deadline, "no reply to /help");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(api.messages(CHAT)[0].text.contains("/report"));
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Regression (issue #14, defect 11): any member of an allowed group could `/report` any period,
/// and a command addressed to another bot in the same group was answered as ours.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_group_the_bot_serves_its_listed_users_its_own_commands_and_bounded_periods() {
    const GROUP: i64 = -100_777;
    const OWNER: i64 = 501;
    let api = BotApi::start().unwrap();
    let mut h = harness(small(80_000), |_| {}).await;
    let mut tg = telegram(&api.base_url);
    tg.allowed_chats = vec![GROUP];
    tg.allowed_users = vec![OWNER];
    tg.max_report_days = 31;
    h.cfg.telegram = Some(tg);
    let store = mpetl::state::open(&h.cfg).unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let bot = tokio::spawn(mpetl::bot::serve(h.cfg.clone(), store.clone(), async {
        let _ = stop_rx.await;
    }));
    let p = last_days(10);
    api.push_text_from(GROUP, 999, &format!("/report {} {}", p.from, p.to));
    api.push_text_from(GROUP, OWNER, &format!("/report@other_bot {} {}", p.from, p.to));
    api.push_text_from(GROUP, OWNER, "good morning, team");
    api.push_text_from(GROUP, OWNER, "/report@mpetl_sandbox_bot 2025-01-01 2025-12-31");
    api.push_text_from(GROUP, OWNER, "/help@MPETL_Sandbox_Bot");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while api.messages(GROUP).len() < 3 {
        assert!(std::time::Instant::now() < deadline, "{:?}", api.messages(GROUP));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Time for a reply that should not come.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let texts: Vec<String> = api.messages(GROUP).into_iter().map(|m| m.text).collect();
    assert_eq!(texts.len(), 3, "a refusal, a refusal, the help; nothing for the other bot or the talk: {texts:?}");
    assert!(texts[0].contains("только пользователям") && texts[0].contains("999"), "{texts:?}");
    assert!(texts[1].contains("365") && texts[1].contains("31") && texts[1].contains("max_report_days"), "{texts:?}");
    assert!(texts[2].contains("/report"), "{texts:?}");
    assert_eq!(h.sandbox.total_requests(), 0, "nothing was fetched");
    assert!(store.runs(5).unwrap().is_empty(), "no run started");
    let _ = stop_tx.send(());
    bot.await.unwrap().unwrap();
}

/// Regression (issue #14, defect 11): a Telegram 401 under `schedule --bot` ended the bot
/// silently; it was said only when the scheduler stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_bot_token_under_schedule_is_said_at_once_and_the_jobs_go_on() {
    use std::io::BufRead;
    let api = BotApi::start().unwrap();
    let h = harness(small(80_000), |_| {}).await;
    let mut child = schedule_with_bot(&h, &api, "999:revoked");
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let said = loop {
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) if line.contains("the Telegram bot stopped") => break line,
            Ok(_) => {}
            Err(e) => panic!("the bot's end was not said: {e}"),
        }
    };
    assert!(said.contains("telegram.token"), "the fix is named: {said}");
    std::thread::sleep(Duration::from_millis(1_000));
    assert!(child.try_wait().unwrap().is_none(), "the scheduler goes on without the bot");
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert_eq!(child.wait().unwrap().code(), Some(1), "the exit status says the bot failed");
}
