//! CLI conventions a script or a log collector relies on (issue #16): `--json` on every command
//! whose output is read by programs prints one JSON document on stdout, with the run's own figures
//! (money as exact decimal strings, checked against the sandbox's truth); `-q` silences stderr;
//! `--log-format json` writes one JSON object per log line; completions and the man page print.

use crate::common::*;

fn run(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    let o = mpetl(config, args).output().unwrap();
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    o
}

fn json(config: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let o = run(config, args);
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{args:?} printed no JSON document ({e}): {}", String::from_utf8_lossy(&o.stdout)))
}

/// "-1234.05" → -123405 kopecks.
fn kopecks(v: &serde_json::Value) -> i64 {
    let s = v.as_str().unwrap_or_else(|| panic!("money must be a decimal string: {v}"));
    let (neg, digits) = s.strip_prefix('-').map_or((false, s), |d| (true, d));
    let (int, frac) = digits.split_once('.').unwrap_or_else(|| panic!("no kopecks in {s}"));
    assert_eq!(frac.len(), 2, "{s}");
    let k = int.parse::<i64>().unwrap() * 100 + frac.parse::<i64>().unwrap();
    if neg { -k } else { k }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_json_flag_prints_one_document_with_the_runs_own_figures() {
    let h = harness(small(80_000), |_| {}).await;
    let config = h.write_config("mpetl.toml", FAST, "");
    let p = last_days(5);
    let (from, to) = (p.from.to_string(), p.to.to_string());

    // Before any run: empty, not missing.
    assert_eq!(json(&config, &["status", "--json"]), serde_json::json!([]));
    let stats = json(&config, &["cache", "stats", "--json"]);
    assert!(stats.is_array() || stats.is_object(), "{stats}");

    let plan = json(&config, &["plan", "--from", &from, "--to", &to, "--json"]);
    let chunks = plan["chunks"].as_array().unwrap();
    assert!(!chunks.is_empty() && chunks.iter().all(|c| c["cached"] == false && c["id"].is_string()), "{plan}");
    let buckets = plan["buckets"].as_array().unwrap();
    assert!(buckets.iter().any(|b| b["bucket"] == "wb_finance" && b["requests"].as_u64().unwrap() >= 1), "{plan}");
    let longest = buckets.iter().map(|b| b["lower_bound_secs"].as_f64().unwrap()).fold(0.0, f64::max);
    assert_eq!(plan["lower_bound_secs"].as_f64().unwrap(), longest);

    let report = json(&config, &["backfill", "--from", &from, "--to", &to, "--json"]);
    assert_eq!(report["chunks_planned"].as_u64().unwrap(), chunks.len() as u64, "{report}");
    assert!(report["rows_fetched"].as_u64().unwrap() > 0 && report["requests"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["reconciliation"]["mismatches"], serde_json::json!([]), "{report}");

    // The period's money, over every account and marketplace, is the truth's to the kopeck.
    let m = json(&config, &["metrics", "--from", &from, "--to", &to, "--by", "month", "--json"]);
    assert_eq!(m["grain"], "month");
    let all: Vec<&serde_json::Value> =
        m["totals"].as_array().unwrap().iter().filter(|r| r["account"] == "all" && r["marketplace"] == "all").collect();
    assert!(!all.is_empty(), "{m}");
    let truth = h.truth(&p).await;
    let sum = |col: &str| all.iter().map(|r| kopecks(&r[col])).sum::<i64>();
    assert_eq!(sum("revenue"), truth.iter().map(|t| t.revenue).sum::<i64>());
    assert_eq!(sum("payout"), truth.iter().map(|t| t.payout()).sum::<i64>());
    let orders: i64 = all.iter().map(|r| r["orders"].as_i64().unwrap()).sum();
    assert_eq!(orders, truth.iter().map(|t| t.orders).sum::<i64>());
    assert!(m["wrote"].as_array().unwrap().iter().any(|f| f.as_str().unwrap().contains("sku_month/")));

    // Jobs: the list, one run (its summary printed, not posted: no Telegram), the list again.
    let jobs = h.dir.path().join("jobs");
    std::fs::create_dir_all(&jobs).unwrap();
    std::fs::write(
        jobs.join("nightly.toml"),
        "name = \"nightly\"\ncron = \"0 30 3 * * *\"\ntimezone = \"Europe/Moscow\"\nkind = \"incremental\"\n\
         [summary]\nperiod = \"yesterday\"\n",
    )
    .unwrap();
    let dir = jobs.display().to_string();
    let list = json(&config, &["job", "list", "--jobs", &dir, "--json"]);
    assert_eq!(list[0]["name"], "nightly");
    assert_eq!(list[0]["next"].as_array().unwrap().len(), 2);
    assert!(list[0]["last"].is_null(), "{list}");
    let ran = json(&config, &["job", "run", "nightly", "--jobs", &dir, "--json"]);
    let run_id = ran["report"]["run_id"].as_str().unwrap().to_string();
    assert!(ran["summary"].as_str().is_some_and(|s| !s.is_empty()), "{ran}");
    assert!(ran["summary_message"].is_null());
    let list = json(&config, &["job", "list", "--jobs", &dir, "--json"]);
    assert_eq!(list[0]["last"]["status"], "done", "{list}");
    assert_eq!(list[0]["last"]["run_id"], run_id.as_str());
    assert_eq!(json(&config, &["status", "--json"]).as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_runs_say_nothing_and_json_logs_are_one_object_per_line() {
    let h = harness(small(80_000), |_| {}).await;
    let config = h.write_config("mpetl.toml", FAST, "");
    let p = last_days(3);
    let (from, to) = (p.from.to_string(), p.to.to_string());
    let args = ["backfill", "--from", from.as_str(), "--to", to.as_str(), "--sources", "wb"];

    // -q: the report on stdout, nothing on stderr (no progress lines, no warnings).
    let o = mpetl(&config, &args).arg("-q").output().unwrap();
    assert!(o.status.success());
    assert!(o.stderr.is_empty(), "-q printed: {}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("Run "));

    // -vv with JSON logs: every log line is a JSON object with a level, debug lines among them.
    let o = mpetl(&config, &args).args(["-vv", "--log-format", "json"]).output().unwrap();
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    let logs: Vec<serde_json::Value> =
        err.lines().filter(|l| l.starts_with('{')).map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(logs.iter().all(|l| l["level"].is_string() && l["timestamp"].is_string()), "{err}");
    assert!(logs.iter().any(|l| l["level"] == "DEBUG"), "-vv asked for debug lines: {err}");
    assert!(!err.contains('\u{1b}'), "{err}");
    // -q and -v together are a usage mistake.
    let o = mpetl(&config, &args).args(["-q", "-v"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn completions_and_the_man_page_cover_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("absent.toml");
    for (shell, marker) in [("bash", "complete -F"), ("zsh", "#compdef mpetl"), ("fish", "complete -c mpetl")] {
        let out = String::from_utf8(run(&config, &["completions", shell]).stdout).unwrap();
        assert!(out.contains(marker), "{shell}: {out}");
        for command in ["backfill", "metrics", "schedule"] {
            assert!(out.contains(command), "{shell} completion lacks {command}");
        }
    }
    let man = String::from_utf8(run(&config, &["man"]).stdout).unwrap();
    assert!(man.starts_with(".ie") || man.contains(".TH mpetl"), "{}", &man[..man.len().min(200)]);
    for command in ["backfill", "metrics", "schedule", "completions"] {
        assert!(man.contains(command), "the man page lacks {command}");
    }
    assert!(man.contains("Exit codes"), "the man page must carry the exit codes");
}
