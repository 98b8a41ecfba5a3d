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
