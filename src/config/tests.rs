use super::*;
use secrecy::ExposeSecret;

const BASE: &str = r#"
    data_dir = "d"
    [accounts.main.wb]
    [accounts.main.ozon]
    client_id = 123
"#;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[test]
fn env_overlays_file_and_secrets_stay_hidden() {
    let c = Config::from_toml_and_env(
        BASE,
        "t",
        env(&[
            ("MPETL_ACCOUNTS__MAIN__WB__TOKEN", "tok-123"),
            ("MPETL_FETCH__TIME_SCALE", "60"),
            ("MPETL_TIMEZONE", "Asia/Yekaterinburg"),
        ]),
    )
    .unwrap();
    assert_eq!(c.fetch.time_scale, 60);
    assert_eq!(c.timezone, chrono_tz::Asia::Yekaterinburg);
    let tok = c.accounts[0].wb.as_ref().unwrap().token.as_ref().unwrap();
    assert_eq!(tok.expose_secret(), "tok-123");
    assert!(!format!("{c:?}").contains("tok-123"), "Debug must not print secrets");
    assert_eq!(c.accounts[0].ozon.as_ref().unwrap().client_id.as_deref(), Some("123"));
}

#[test]
fn bad_values_name_key_value_and_fix() {
    let e = Config::from_toml_and_env(BASE, "t", env(&[("MPETL_TIMEZONE", "Europe/Moskow")])).unwrap_err().to_string();
    assert!(e.contains("timezone") && e.contains("Europe/Moskow") && e.contains("IANA"), "{e}");
    let e = Config::from_toml_and_env(&format!("{BASE}\n[fetch]\nozon_page_limit = 500\n"), "t", vec![])
        .unwrap_err()
        .to_string();
    assert!(e.contains("fetch.ozon_page_limit") && e.contains("500"), "{e}");
    let e = Config::from_toml_and_env("timezon = \"x\"\n[accounts.a.wb]\n", "t", vec![]).unwrap_err().to_string();
    assert!(e.contains("timezon"), "{e}");
    let e = Config::from_toml_and_env("[accounts.Main.wb]\n", "t", vec![]).unwrap_err().to_string();
    assert!(e.contains("accounts.Main"), "{e}");
}

#[test]
fn missing_token_says_which_env_var() {
    let c = Config::from_toml_and_env(BASE, "t", vec![]).unwrap();
    let e = require_credentials(&c.accounts[0], Marketplace::Wb).unwrap_err().to_string();
    assert!(e.contains("MPETL_ACCOUNTS__MAIN__WB__TOKEN"), "{e}");
}

#[test]
fn redis_url_alone_switches_the_state_to_redis_and_the_mpetl_key_wins_over_it() {
    // Regression (issue #16): REDIS_URL was documented as the switch but never read.
    let c = Config::from_toml_and_env(BASE, "t", env(&[("REDIS_URL", "redis://127.0.0.1:6390/2")])).unwrap();
    assert_eq!(
        c.redis_url.as_ref().map(|u| u.expose_secret().to_string()).as_deref(),
        Some("redis://127.0.0.1:6390/2")
    );
    let both = env(&[("REDIS_URL", "redis://127.0.0.1:1/0"), ("MPETL_STATE__REDIS_URL", "redis://127.0.0.1:2/0")]);
    let c = Config::from_toml_and_env(BASE, "t", both).unwrap();
    assert_eq!(c.redis_url.as_ref().map(|u| u.expose_secret().to_string()).as_deref(), Some("redis://127.0.0.1:2/0"));
    let file = format!("{BASE}\n[state]\nredis_url = \"redis://127.0.0.1:3/0\"\n");
    let c = Config::from_toml_and_env(&file, "t", env(&[("REDIS_URL", "redis://127.0.0.1:4/0")])).unwrap();
    assert_eq!(c.redis_url.as_ref().map(|u| u.expose_secret().to_string()).as_deref(), Some("redis://127.0.0.1:4/0"));
    // An empty REDIS_URL (a compose file's `REDIS_URL=`) leaves the embedded store.
    let c = Config::from_toml_and_env(BASE, "t", env(&[("REDIS_URL", " ")])).unwrap();
    assert!(c.redis_url.is_none());
    assert!(Config::from_toml_and_env(BASE, "t", vec![]).unwrap().redis_url.is_none());
}

#[test]
fn env_values_are_typed_like_the_file() {
    let c = Config::from_toml_and_env(
        BASE,
        "t",
        env(&[
            ("MPETL_TELEGRAM__TOKEN", "1:x"),
            ("MPETL_TELEGRAM__ALLOWED_CHATS", "-1001234567890, 42"),
            ("MPETL_TELEGRAM__ALLOWED_USERS", "7"),
            ("MPETL_LIMITS__WB_FINANCE__PERIOD_SECS", "60"),
            ("MPETL_LIMITS__WB_FINANCE__BURST", "2"),
            ("MPETL_LIMITS__OZON__PERIOD_SECS", "0.5"),
            ("MPETL_LIMITS__OZON__BURST", "10"),
        ]),
    )
    .unwrap();
    let t = c.telegram.as_ref().unwrap();
    assert_eq!(t.allowed_chats, [-1001234567890, 42]);
    assert_eq!(t.allowed_users, [7]);
    let q = c.limits.get("wb_finance").unwrap();
    assert_eq!((q.period, q.burst), (std::time::Duration::from_secs(60), 2));
    assert_eq!(c.limits.get("ozon").unwrap().period, std::time::Duration::from_millis(500));
    let e = Config::from_toml_and_env(
        BASE,
        "t",
        env(&[("MPETL_TELEGRAM__TOKEN", "1:x"), ("MPETL_TELEGRAM__ALLOWED_CHATS", "12,abc")]),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("telegram.allowed_chats") && e.contains("'abc'") && e.contains("separated by commas"), "{e}");
}

#[test]
fn an_account_id_with_a_dash_is_reachable_from_the_environment() {
    let file = "data_dir = \"d\"\n[accounts.my-shop.wb]\n[accounts.main.ozon]\nclient_id = 1\n";
    let c = Config::from_toml_and_env(
        file,
        "t",
        env(&[("MPETL_ACCOUNTS__MY_SHOP__WB__TOKEN", "t-1"), ("MPETL_ACCOUNTS__MAIN__OZON__API_KEY", "k-1")]),
    )
    .unwrap();
    let by = |id: &str| c.accounts.iter().find(|a| a.id == id).unwrap_or_else(|| panic!("no account {id}: {c:?}"));
    assert_eq!(by("my-shop").wb.as_ref().unwrap().token.as_ref().unwrap().expose_secret(), "t-1");
    assert_eq!(by("main").ozon.as_ref().unwrap().api_key.as_ref().unwrap().expose_secret(), "k-1");
    assert_eq!(c.accounts.len(), 2, "no second account made from the variable's spelling");
}

#[test]
fn effective_config_names_each_source_and_hides_secrets() {
    let file = format!("{BASE}\n[fetch]\ntime_scale = 5\n");
    let c = Config::from_toml_and_env(
        &file,
        "mpetl.toml",
        env(&[
            ("MPETL_ACCOUNTS__MAIN__OZON__API_KEY", "key-sekret"),
            ("REDIS_URL", "redis://:pw-sekret@127.0.0.1:1/0"),
        ]),
    )
    .unwrap();
    let all = c.effective();
    let get = |k: &str| all.iter().find(|s| s.key == k).unwrap_or_else(|| panic!("no {k} in {all:?}")).clone();
    let s = get("fetch.time_scale");
    assert_eq!((s.value.as_str(), s.source.as_str()), ("5", "file mpetl.toml"));
    let s = get("fetch.ozon_page_limit");
    assert_eq!((s.value.as_str(), s.source.as_str()), ("100", "default"));
    let s = get("accounts.main.ozon.api_key");
    assert_eq!((s.value.as_str(), s.source.as_str()), ("\"***\"", "env MPETL_ACCOUNTS__MAIN__OZON__API_KEY"));
    let s = get("state.redis_url");
    assert_eq!((s.value.as_str(), s.source.as_str()), ("\"***\"", "env REDIS_URL"));
    assert_eq!(get("accounts.main.ozon.client_id").value, "\"123\"");
    assert_eq!(get("accounts.main.wb.token").value, "(not set)");
    let text = render(&all);
    assert!(!text.contains("sekret"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("data_dir = \"d\"") && l.ends_with("# file mpetl.toml")), "{text}");
}
