//! Several hosts: one job's accounts fanned out as work items on a Redis Stream, fetched by
//! worker processes that share one Redis and one lake, while the job's own process waits, then
//! writes the marts and posts one summary.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use mpetl::bench::sellers::account_id;
use mpetl::metrics::{self, Grain};
use mpetl::state::StateStore;
use mpetl_sandbox::telegram::{BOT_TOKEN, BotApi};
use mpetl_sandbox::{ProfileName, Sandbox, SandboxConfig};

use crate::common::redis_server::RedisServer;
use crate::common::{self, assert_matches_truth, last_days, mpetl};

const SELLERS: usize = 30;
const CHAT: i64 = 777;

/// A config for `mpetl` processes: one account per seller, fan-out on, limits ÷ `time_scale`.
fn config(dir: &std::path::Path, sandbox: &Sandbox, redis: &str, tg: &str, time_scale: u32) -> std::path::PathBuf {
    let u = &sandbox.base_url;
    let mut toml = format!(
        "data_dir = {:?}\ncosts_file = {:?}\n[state]\nredis_url = {redis:?}\nnamespace = \"fan\"\nfan_out = true\n\
         [fetch]\ntime_scale = {time_scale}\nwb_page_cap = 500\n\
         [telegram]\ntoken = {BOT_TOKEN:?}\napi_base = {tg:?}\nallowed_chats = [{CHAT}]\n\
         [endpoints]\nwb_statistics = {u:?}\nwb_finance = {u:?}\nwb_advert = {u:?}\nwb_content = {u:?}\nozon = {u:?}\n",
        dir.join("data").display().to_string(),
        dir.join("costs.csv").display().to_string(),
    );
    for k in 0..SELLERS {
        let c = mpetl_sandbox::credentials(k);
        toml += &format!(
            "[accounts.{id}.wb]\ntoken = {:?}\n[accounts.{id}.ozon]\nclient_id = {:?}\napi_key = {:?}\n",
            c.wb_token,
            c.ozon_client_id,
            c.ozon_api_key,
            id = account_id(k)
        );
    }
    let path = dir.join("mpetl.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

/// A worker process; its stdout lines arrive on the returned channel as they are printed.
fn worker(config: &std::path::Path) -> (Child, std::sync::mpsc::Receiver<String>) {
    let mut child =
        mpetl(config, &["worker", "--accounts", "4"]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, rx)
}

/// Three workers and the job's own process on one Redis and one lake; one worker is SIGKILLed
/// while it fetches. Every account is done exactly once (one outcome each, nothing left pending),
/// no seller is asked for anything after its account was acknowledged, each account's metrics
/// equal its seller's truth, and the chat gets one progress message and one summary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_finish_a_30_seller_job_each_account_once_after_one_is_killed() {
    let Some(server) = RedisServer::start() else { return };
    let sandbox =
        Sandbox::start(SandboxConfig { more_sellers: vec![ProfileName::Small; SELLERS - 1], ..common::small(500) })
            .await
            .unwrap();
    let api = BotApi::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // ÷ 60: a WB finance request a second, so an account takes seconds and a kill lands mid-fetch.
    let config = config(dir.path(), &sandbox, &server.url, &api.base_url, 60);
    let http = mpetl::http::client(Duration::from_secs(30));
    let costs = http.get(format!("{}/__sandbox/costs.csv", sandbox.base_url)).send().await.unwrap();
    std::fs::write(dir.path().join("costs.csv"), costs.text().await.unwrap()).unwrap();
    let period = last_days(20);
    let jobs = dir.path().join("jobs");
    std::fs::create_dir_all(&jobs).unwrap();
    std::fs::write(
        jobs.join("all.toml"),
        format!(
            "name = \"all\"\ncron = \"0 0 4 * * *\"\nkind = \"backfill\"\nfrom = \"{}\"\nto = \"{}\"\n\
             [summary]\nperiod = \"run_period\"\n[post]\ntelegram_chat = {CHAT}\n",
            period.from, period.to
        ),
    )
    .unwrap();

    let mut workers: Vec<_> = (0..3).map(|_| worker(&config)).collect();
    let job = mpetl(&config, &["job", "run", "all", "--jobs", &jobs.display().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Worker 0 dies (SIGKILL: nothing of it runs after) half a second into its first account.
    let mut seen: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !seen.iter().any(|l| l.contains(": started")) {
        assert!(Instant::now() < deadline, "worker 0 never started an account: {seen:?}");
        if let Ok(l) = workers[0].1.recv_timeout(Duration::from_millis(100)) {
            seen.push(l);
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let dead_pid = workers[0].0.id();
    unsafe { libc::kill(dead_pid as i32, libc::SIGKILL) };
    let _ = workers[0].0.wait();
    seen.extend(workers[0].1.try_iter());
    // "worker <id>: account s007 of run <run>: started" — the accounts it held when it died.
    let account_of = |l: &String| l.split("account ").nth(1).and_then(|r| r.split(' ').next()).map(str::to_string);
    let held: Vec<String> = seen
        .iter()
        .filter(|l| l.ends_with(": started"))
        .filter_map(account_of)
        .filter(|a| !seen.iter().any(|l| l.contains("acknowledged") && account_of(l).as_ref() == Some(a)))
        .collect();
    assert!(!held.is_empty(), "worker 0 died holding an account: {seen:?}");

    let out = tokio::task::spawn_blocking(move || job.wait_with_output()).await.unwrap().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the job: {stdout}\n{stderr}");
    let mut said = Vec::new();
    for (child, rx) in workers.iter_mut().skip(1) {
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        assert!(child.wait().unwrap().success(), "a worker stops cleanly on SIGTERM");
        said.extend(rx.try_iter());
    }

    // Exactly once: one outcome per account, each done, nothing pending on the stream.
    let store = mpetl::state::RedisStore::open(&server.url, "fan").unwrap();
    let runs = store.runs(500).unwrap();
    let parent = runs.iter().find(|r| r.kind == "all" && !r.id.contains('.')).expect("the job's run");
    assert_eq!(parent.status, mpetl::state::RunStatus::Done, "{parent:?}");
    let outcomes = store.outcomes(&parent.id).unwrap();
    let ids: Vec<String> = (0..SELLERS).map(account_id).collect();
    assert_eq!(outcomes.keys().cloned().collect::<Vec<_>>(), ids, "one outcome per account");
    assert!(outcomes.values().all(|o| o.ok), "{outcomes:?}");
    assert_eq!(store.pending_items().unwrap(), 0, "every item acknowledged");
    // The accounts the dead worker held were finished by others, resuming its runs.
    let dead = format!(":{dead_pid}:");
    assert!(outcomes.values().all(|o| !o.worker.contains(&dead)), "a dead worker acknowledged nothing: {outcomes:?}");
    for w in &workers[1..] {
        let own = format!(":{}:", w.0.id());
        assert!(outcomes.values().any(|o| o.worker.contains(&own)), "every live worker took accounts: {outcomes:?}");
    }
    for a in &held {
        let run = store.run(&mpetl::state::redis::account_run(&parent.id, a)).unwrap().expect("its run");
        assert!(run.attempts >= 2, "{a} was resumed, not started over: {run:?}\n{said:?}");
    }
    // Nobody fetched an account again after it was acknowledged.
    for (k, id) in ids.iter().enumerate() {
        let last = sandbox.last_request_at(k).expect("every seller was asked");
        assert!(
            last <= outcomes[id].at,
            "seller {k} was asked at {last}, after {id} was acknowledged at {}",
            outcomes[id].at
        );
    }
    // The workers' rows together are each seller's truth.
    let cfg = mpetl::config::Config::load(&config).unwrap();
    for (k, id) in ids.iter().enumerate() {
        let url = format!("{}/__sandbox/truth?seller={k}&from={}&to={}", sandbox.base_url, period.from, period.to);
        let truth: Vec<common::Truth> = http.get(url).send().await.unwrap().json().await.unwrap();
        let (sku, _) =
            mpetl::pipeline::compute_metrics(&cfg, &period, Grain::Day, Some(std::slice::from_ref(id))).unwrap();
        assert_matches_truth(&metrics::rows(&sku).unwrap(), &truth);
    }
    // The job's process wrote the marts once every account was in.
    assert!(!common::files_under(&cfg.marts_dir()).is_empty(), "{stdout}");
    // One progress message, one summary, one chart: the workers post nothing.
    let msgs = api.messages(CHAT);
    assert_eq!(msgs.len(), 3, "progress, summary, chart: {msgs:?}");
    assert!(msgs[0].text.contains("✅"), "{}", msgs[0].text);
}
