//! The Telegram notifier against the sandbox's Bot API emulator over 127.0.0.1: throttled edits
//! with the latest text, flood control, vanished messages, outages, escaping.

use std::time::Duration;

use mpetl::events::{Event, Events, Stage};
use mpetl::notify::telegram::{Bot, Lang, ProgressOutcome, ProgressTarget, progress};
use mpetl_sandbox::telegram::{BOT_TOKEN, BotApi, TgCall, TgFault};

const CHAT: i64 = 4242;

fn target(api: &BotApi, title: &str) -> ProgressTarget {
    ProgressTarget {
        bot: Bot::new(&api.base_url, BOT_TOKEN.to_string().into()),
        chat: CHAT,
        title: title.into(),
        lang: Lang::Ru,
        tz: chrono_tz::Europe::Moscow,
        interval: Duration::from_secs(3),
    }
}

/// A run's events: `chunks` chunks of WB finishing one every `every`, then the end.
async fn feed(events: Events, chunks: u64, every: Duration) {
    events.emit(Event::StageStarted { stage: Stage::Plan, chunks: 1 });
    events.emit(Event::ChunkDone { stage: Stage::Plan, chunk: "plan".into(), rows: 0, requests: 0 });
    events.emit(Event::StageFinished { stage: Stage::Plan });
    events.emit(Event::StageStarted { stage: Stage::Wb, chunks });
    events.emit(Event::StageStarted { stage: Stage::Ozon, chunks: 0 });
    events.emit(Event::StageFinished { stage: Stage::Ozon });
    for i in 0..chunks {
        tokio::time::sleep(every).await;
        events.emit(Event::RowsStored { stage: Stage::Wb, chunk: format!("c{i}"), rows: 10 });
        events.emit(Event::ChunkDone { stage: Stage::Wb, chunk: format!("c{i}"), rows: 10, requests: 1 });
    }
    events.emit(Event::StageFinished { stage: Stage::Wb });
    events.emit(Event::StageStarted { stage: Stage::Metrics, chunks: 1 });
    events.emit(Event::ChunkDone { stage: Stage::Metrics, chunk: "month".into(), rows: 1, requests: 0 });
    events.emit(Event::StageFinished { stage: Stage::Metrics });
    events.emit(Event::RunFinished { ok: true });
}

async fn run(api: &BotApi, title: &str, chunks: u64, every: Duration) -> ProgressOutcome {
    let (events, rx) = Events::channel();
    let notifier = tokio::spawn(progress(rx, target(api, title)));
    feed(events, chunks, every).await;
    notifier.await.unwrap()
}

fn edits(calls: &[TgCall]) -> Vec<&TgCall> {
    calls.iter().filter(|c| c.method == "editMessageText" && c.status == 200).collect()
}

fn assert_spaced(calls: &[TgCall]) {
    // Successful calls: a refused edit followed at once by a replacement message is one update.
    let times: Vec<u64> = calls
        .iter()
        .filter(|c| (c.method == "editMessageText" || c.method == "sendMessage") && c.status == 200)
        .map(|c| c.at_ms)
        .collect();
    for w in times.windows(2) {
        // The next call leaves ≥ 3 s after the previous one was answered, so it arrives ≥ 3 s
        // after the previous one arrived.
        assert!(w[1] - w[0] >= 3_000, "two calls {} ms apart: {times:?}", w[1] - w[0]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_events_yields_few_edits_spaced_3_s_with_the_latest_text() {
    let api = BotApi::start().unwrap();
    // 40 chunks in ~7 s: 400+ events.
    let out = run(&api, "mpetl · backfill", 40, Duration::from_millis(175)).await;
    let calls = api.calls();
    assert_eq!(out.sends, 1, "one progress message");
    assert!(out.edits <= 4 && out.edits >= 2, "{} edits for 7 s of events", out.edits);
    assert_eq!(edits(&calls).len() as u64, out.edits);
    assert_spaced(&calls);
    let msg = &api.messages(CHAT)[0];
    assert!(msg.text.contains("✅ Готово"), "{}", msg.text);
    assert!(msg.text.contains("Wildberries ██████████ 100% 40/40"), "the last state: {}", msg.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_control_is_waited_out_and_the_final_state_still_arrives() {
    let api = BotApi::start().unwrap();
    api.inject("editmessagetext", TgFault::RetryAfter(5), 1);
    let out = run(&api, "t", 20, Duration::from_millis(200)).await;
    let calls = api.calls();
    let refused = calls.iter().position(|c| c.status == 429).expect("the 429 was served");
    let next = calls[refused + 1..].iter().find(|c| c.method == "editMessageText").expect("edits go on after it");
    assert!(next.at_ms - calls[refused].at_ms >= 5_000, "waited retry_after: {} ms", next.at_ms - calls[refused].at_ms);
    assert_eq!(out.failures, 1);
    assert!(api.messages(CHAT)[0].text.contains("20/20"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_progress_message_is_replaced_by_a_new_one() {
    let api = BotApi::start().unwrap();
    let (events, rx) = Events::channel();
    let notifier = tokio::spawn(progress(rx, target(&api, "t")));
    let feeding = tokio::spawn(feed(events, 20, Duration::from_millis(250)));
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let first = api.messages(CHAT)[0].id;
    api.delete(CHAT, first);
    feeding.await.unwrap();
    let out = notifier.await.unwrap();
    assert_eq!(out.sends, 2, "a fresh message after 'message to edit not found'");
    let msgs = api.messages(CHAT);
    assert_eq!(msgs.len(), 1);
    assert!(msgs[0].id != first && msgs[0].text.contains("20/20"), "{}", msgs[0].text);
    assert_spaced(&api.calls());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_modified_is_success_and_5xx_is_retried_at_the_next_slot() {
    let api = BotApi::start().unwrap();
    api.inject(
        "editmessagetext",
        TgFault::BadRequest(
            "Bad Request: message is not modified: specified new message content and reply markup are exactly the same"
                .into(),
        ),
        1,
    );
    api.inject("editmessagetext", TgFault::Server, 1);
    let out = run(&api, "t", 20, Duration::from_millis(300)).await;
    assert_eq!(out.failures, 1, "only the 502 counts as a failure");
    assert!(api.messages(CHAT)[0].text.contains("20/20"));
    assert_spaced(&api.calls());
}

/// Regression (issue #14, defect 11): a 5xx on the edit that carries the final state was not
/// retried: the chat was left showing a run in progress.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_on_the_final_edit_is_retried_until_the_final_state_arrives() {
    let api = BotApi::start().unwrap();
    // Two quick chunks: every event is in before the first edit is due, so the first edit
    // carries the final state, and it meets two 502s.
    api.inject("editmessagetext", TgFault::Server, 2);
    let out = run(&api, "t", 2, Duration::from_millis(10)).await;
    assert_eq!(out.failures, 2, "{out:?}");
    let msg = &api.messages(CHAT)[0];
    assert!(msg.text.contains("✅ Готово") && msg.text.contains("2/2"), "{}", msg.text);
    assert_spaced(&api.calls());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn titles_are_escaped_and_a_wrong_token_gives_up_quietly() {
    let api = BotApi::start().unwrap();
    let out = run(&api, "Shop <A&B> \"x\"", 2, Duration::from_millis(10)).await;
    assert_eq!(out.failures, 0, "the emulator's HTML check accepted every text");
    assert!(api.messages(CHAT)[0].text.contains("Shop &lt;A&amp;B&gt; &quot;x&quot;"));

    let mut t = target(&api, "t");
    t.bot = Bot::new(&api.base_url, "999:wrong".to_string().into());
    let (events, rx) = Events::channel();
    let notifier = tokio::spawn(progress(rx, t));
    feed(events, 3, Duration::from_millis(10)).await;
    let out = notifier.await.unwrap();
    assert_eq!((out.sends, out.failures), (0, 1), "401: one try, then silence");
}
