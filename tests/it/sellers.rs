//! Many sellers on one deployment: one sandbox serving several sellers behind one address (each
//! its own credentials, data and rate-limit buckets), one config with an account per seller.

use mpetl::bench::sellers::{account_id, accounts};
use mpetl::metrics::{self, Grain};
use mpetl_sandbox::{ProfileName, Sandbox, SandboxConfig};

use crate::common::{self, assert_matches_truth, last_days};

/// Three sellers behind one address: every account's daily metrics equal its own seller's
/// truth, cell by cell, and no seller's rows land in another's account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_sellers_behind_one_address_each_equal_their_own_truth() {
    let sandbox = Sandbox::start(SandboxConfig {
        more_sellers: vec![ProfileName::Small, ProfileName::Small],
        ..common::small(500)
    })
    .await
    .unwrap();
    assert_eq!(sandbox.sellers(), 3);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = mpetl::demo::sandbox_config(&sandbox.base_url, dir.path().join("data"), common::FAST, 500);
    cfg.accounts = accounts(3);
    std::fs::create_dir_all(&cfg.data_dir).unwrap();
    let http = mpetl::http::client(std::time::Duration::from_secs(30));
    let get = |url: String| http.get(url).send();
    let costs = get(format!("{}/__sandbox/costs.csv", sandbox.base_url)).await.unwrap().text().await.unwrap();
    std::fs::write(&cfg.costs_file, &costs).unwrap();
    // One costs table for all: each seller's articles have ids of their own.
    for k in 0..3 {
        let own = sandbox.seller_data(k).unwrap().finance.costs_csv();
        assert!(own.lines().skip(1).all(|l| costs.lines().any(|c| c == l)), "seller {k}'s costs are in the table");
    }

    let period = last_days(20);
    let runner = mpetl::pipeline::Runner::open(cfg.clone(), mpetl::events::Events::none()).unwrap();
    runner.backfill(&common::request(period)).await.unwrap();

    let mut truths = Vec::new();
    for k in 0..3 {
        let url = format!("{}/__sandbox/truth?seller={k}&from={}&to={}", sandbox.base_url, period.from, period.to);
        let truth: Vec<common::Truth> = get(url).await.unwrap().json().await.unwrap();
        let id = account_id(k);
        let (sku, _) = runner.metrics(&period, Grain::Day, Some(std::slice::from_ref(&id))).unwrap();
        let rows = metrics::rows(&sku).unwrap();
        assert!(rows.iter().all(|r| r.account == id), "only {id}'s rows");
        assert_matches_truth(&rows, &truth);
        truths.push(truth);
    }
    assert!(truths[0] != truths[1] && truths[1] != truths[2], "the sellers are different sellers");

    // Regression (bench --sellers 200): one account's metrics read, and reconciled, every
    // account's files. A broken file of seller 2 must not touch seller 0's numbers now, and
    // must still stop seller 2's.
    let lake = mpetl::lake::Lake::new(cfg.lake_dir());
    let broken = lake
        .partition_files(mpetl::dataset::Dataset::WbFinance)
        .into_iter()
        .find(|p| p.to_string_lossy().contains("account=s002"))
        .unwrap();
    std::fs::write(&broken, b"not parquet").unwrap();
    let (sku, _) = runner.metrics(&period, Grain::Day, Some(&[account_id(0)])).unwrap();
    assert_matches_truth(&metrics::rows(&sku).unwrap(), &truths[0]);
    assert!(runner.metrics(&period, Grain::Day, Some(&[account_id(2)])).is_err(), "seller 2's broken file is read");
    // Two accounts at once: both sellers' rows, each its own truth.
    let (sku, _) = runner.metrics(&period, Grain::Day, Some(&[account_id(0), account_id(1)])).unwrap();
    let rows = metrics::rows(&sku).unwrap();
    for k in 0..2 {
        let own: Vec<_> = rows.iter().filter(|r| r.account == account_id(k)).cloned().collect();
        assert_matches_truth(&own, &truths[k]);
    }
    assert!(rows.iter().all(|r| r.account != account_id(2)), "no row of seller 2");
    // Every seller was asked for its own data: each answered finance reports and postings.
    let stats: serde_json::Value =
        get(format!("{}/__sandbox/stats?from={}&to={}", sandbox.base_url, period.from, period.to))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(stats["sellers"], 3);
    let served = |path: &str| stats["requests"][path].as_u64().unwrap_or(0);
    assert!(served("/api/finance/v1/sales-reports/detailed") >= 3, "{stats}");
    assert!(served("/v4/posting/fbs/list") >= 3, "{stats}");
}

/// A known Client-Id with another seller's key is refused as Ozon refuses a wrong key, and a
/// token no seller has gets WB's 401: the front door lets no one into a cabinet not theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_front_door_refuses_one_sellers_id_with_anothers_key() {
    let sandbox =
        Sandbox::start(SandboxConfig { more_sellers: vec![ProfileName::Small], ..common::small(500) }).await.unwrap();
    let (one, zero) = (mpetl_sandbox::credentials(1), mpetl_sandbox::credentials(0));
    let http = mpetl::http::client(std::time::Duration::from_secs(30));
    let roles = |id: &str, key: &str| {
        http.post(format!("{}/v1/roles", sandbox.base_url)).header("Client-Id", id).header("Api-Key", key).send()
    };
    assert_eq!(roles(&one.ozon_client_id, &one.ozon_api_key).await.unwrap().status(), 200);
    assert_eq!(roles(&zero.ozon_client_id, &zero.ozon_api_key).await.unwrap().status(), 200);
    assert_eq!(roles(&one.ozon_client_id, &zero.ozon_api_key).await.unwrap().status(), 404);
    let ping = |token: &str| http.get(format!("{}/ping", sandbox.base_url)).header("Authorization", token).send();
    assert_eq!(ping(&one.wb_token).await.unwrap().status(), 200);
    assert_eq!(ping("sandbox-wb-token-7").await.unwrap().status(), 401);
}

/// `mpetl bench --sellers` end to end on three sellers (a medium and two small) under the
/// limits: it must find every seller equal to its truth, and say so.
#[test]
fn bench_sellers_backfills_every_seller_and_checks_each_against_its_truth() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("bench");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_mpetl"))
        .args(["bench", "--sellers", "3", "--limits", "600", "--days", "15", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}\n{}", String::from_utf8_lossy(&o.stderr));
    let row = |name: &str| {
        out.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name:?} in:\n{out}"))
            .trim_start_matches(name)
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(row("sellers equal to their truth, every cell"), "3", "{out}");
    assert!(row("rows fetched").parse::<u64>().unwrap() > 0, "{out}");
    let (wall, bound): (f64, f64) =
        (row("wall s").parse().unwrap(), row("slowest seller's lower bound s").parse().unwrap());
    // (The sandbox serves a request a little early when the arrival jitter allows it.)
    assert!(wall >= 0.9 * bound && bound > 0.0, "a run cannot beat its rate limits: wall {wall}, bound {bound}\n{out}");
}
