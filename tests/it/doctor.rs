//! `mpetl doctor` against the sandbox and the Bot API emulator (issue #16): a good WB token
//! passes with its expiry read from the JWT and WB's `/ping` accepting it, one close to its
//! expiry warns, an expired or a wrong one fails (exit 1) with WB's own answer; the Ozon key's
//! roles and expiry come from `/v1/roles`; a chat the bot cannot post to fails. No secret is
//! printed.

use mpetl_sandbox::telegram::{BOT_TOKEN, BotApi, TgFault};

use crate::common::*;

fn doctor(config: &std::path::Path, token: &str) -> (Option<i32>, Vec<serde_json::Value>, String) {
    let o = mpetl(config, &["doctor", "--json", "--jobs", "/nonexistent"])
        .env("MPETL_ACCOUNTS__DEMO__WB__TOKEN", token)
        .output()
        .unwrap();
    let (out, err) = (String::from_utf8_lossy(&o.stdout).to_string(), String::from_utf8_lossy(&o.stderr).to_string());
    for secret in [token, mpetl_sandbox::OZON_API_KEY, BOT_TOKEN] {
        assert!(!out.contains(secret) && !err.contains(secret), "a secret was printed: {out}{err}");
    }
    let checks = serde_json::from_str(&out).unwrap_or_else(|e| panic!("no JSON ({e}): {out}{err}"));
    (o.status.code(), checks, err)
}

fn find<'a>(checks: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    checks.iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no check {name:?} in {checks:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_tells_a_good_an_expiring_an_expired_and_a_wrong_token_apart() {
    let h = harness(small(80_000), |_| {}).await;
    let api = BotApi::start().unwrap();
    let extra =
        format!("[telegram]\ntoken = {BOT_TOKEN:?}\napi_base = {:?}\nallowed_chats = [42, -100777]\n", api.base_url);
    let config = h.write_config("mpetl.toml", FAST, &extra);
    let now = chrono::Utc::now().timestamp();
    let day = 86_400;

    // Good: everything passes, the token's 100 days and the key's 90 are read.
    let (code, checks, err) = doctor(&config, &mpetl_sandbox::wb_jwt(now + 100 * day + 3600));
    assert_eq!(code, Some(0), "{checks:?} {err}");
    assert!(checks.iter().all(|c| c["status"] != "fail"), "{checks:?}");
    let wb = find(&checks, "wb token (account demo)");
    assert_eq!(wb["status"], "ok");
    let detail = wb["detail"].as_str().unwrap();
    assert!(detail.contains("(100 days)") && detail.contains("accepted by WB statistics"), "{detail}");
    let ozon = find(&checks, "ozon key (account demo)");
    assert_eq!(ozon["status"], "ok");
    let detail = ozon["detail"].as_str().unwrap();
    assert!(detail.contains("Admin read only") && detail.contains("days)"), "{detail}");
    assert!(ozon["expires_at"].is_string());
    assert_eq!(find(&checks, "telegram bot")["detail"], "@mpetl_sandbox_bot");
    for chat in ["telegram chat 42", "telegram chat -100777", "state"] {
        assert_eq!(find(&checks, chat)["status"], "ok", "{checks:?}");
    }

    // Expiring within 14 days: a warning, still exit 0.
    let (code, checks, _) = doctor(&config, &mpetl_sandbox::wb_jwt(now + 5 * day + 3600));
    assert_eq!(code, Some(0));
    let wb = find(&checks, "wb token (account demo)");
    assert_eq!(wb["status"], "warn");
    assert!(wb["detail"].as_str().unwrap().contains("in 5 day(s)"), "{wb}");

    // Expired: read from the JWT, and WB's ping says so too.
    let (code, checks, err) = doctor(&config, &mpetl_sandbox::wb_jwt(now - day));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("check(s) failed"), "{err}");
    let wb = find(&checks, "wb token (account demo)");
    assert_eq!(wb["status"], "fail");
    assert!(wb["detail"].as_str().unwrap().contains("expired on"), "{wb}");
    let ping = find(&checks, "wb statistics (account demo)");
    assert!(
        ping["detail"].as_str().unwrap().contains("401") && ping["detail"].as_str().unwrap().contains("token expired")
    );

    // Wrong: no expiry to read, and WB refuses it.
    let (code, checks, _) = doctor(&config, "not-a-token");
    assert_eq!(code, Some(1));
    assert_eq!(find(&checks, "wb token (account demo)")["status"], "warn");
    let ping = find(&checks, "wb statistics (account demo)");
    assert_eq!(ping["status"], "fail");
    assert!(ping["detail"].as_str().unwrap().contains("malformed"), "{ping}");

    // A chat the bot was removed from.
    api.inject("sendchataction", TgFault::BadRequest("Bad Request: chat not found".into()), 1);
    let (code, checks, _) = doctor(&config, &mpetl_sandbox::wb_jwt(now + 100 * day));
    assert_eq!(code, Some(1));
    let chat = find(&checks, "telegram chat -100777");
    assert_eq!(chat["status"], "fail");
    assert!(chat["detail"].as_str().unwrap().contains("chat not found"), "{chat}");
    assert_eq!(find(&checks, "telegram chat 42")["status"], "ok");
}
