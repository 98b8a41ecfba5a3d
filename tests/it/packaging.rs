//! The deployment files (`compose.yaml`, `contrib/systemd/mpetl.service`, `Dockerfile`) name
//! environment variables, secret files and paths that mpetl must read: a misspelt variable there
//! leaves a deployment without its tokens, silently, until the first night's job fails. Each file's
//! environment is given to the real binary, with its secret files written, and `config show`
//! must report every secret as set from that variable.

use std::path::Path;
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `KEY: value` lines of the `environment:` block of compose's `mpetl` service.
fn compose_env(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let (mut in_service, mut in_env) = (false, false);
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if indent == 2 {
            in_service = t == "mpetl:";
            in_env = false;
        } else if in_service && indent == 4 {
            in_env = t == "environment:";
        } else if in_service && in_env && indent == 6 {
            let (k, v) = t.split_once(": ").unwrap_or_else(|| panic!("not KEY: value: {t}"));
            out.push((k.to_string(), v.to_string()));
        }
    }
    out
}

/// `Environment=KEY=value` lines of a systemd unit.
fn unit_env(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("Environment="))
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or_else(|| panic!("not KEY=value: {kv}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// Runs `config show --json` on the repository's `mpetl.toml` with `env`, each `*_FILE` pointing
/// at a file holding a made-up secret, and checks every secret is set from its variable.
fn check(file: &str, env: Vec<(String, String)>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(Path::new(ROOT).join("mpetl.toml"), dir.path().join("mpetl.toml")).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mpetl"));
    cmd.args(["config", "show", "--json"]).current_dir(dir.path()).env_remove("MPETL_CONFIG").env_remove("REDIS_URL");
    let mut secrets = Vec::new();
    for (k, v) in &env {
        if k.ends_with("_FILE") {
            let name = Path::new(v).file_name().unwrap().to_string_lossy().to_string();
            let path = dir.path().join(&name);
            let secret = format!("made-up-{name}-sekret");
            std::fs::write(&path, format!("{secret}\n")).unwrap();
            secrets.push(secret);
            cmd.env(k, &path);
        } else if k == "MPETL_DATA_DIR" {
            cmd.env(k, dir.path().join("data"));
        } else {
            cmd.env(k, v);
        }
    }
    let o = cmd.output().unwrap();
    let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "{file}: config show failed: {err}");
    for s in &secrets {
        assert!(!out.contains(s.as_str()) && !err.contains(s.as_str()), "{file}: a secret was printed: {out}");
    }
    let all: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let setting = |key: &str| {
        let s = all.iter().find(|s| s["key"] == key).unwrap_or_else(|| panic!("{file}: no {key} in {out}"));
        (s["value"].as_str().unwrap().to_string(), s["source"].as_str().unwrap().to_string())
    };
    for (key, var) in [
        ("accounts.main.wb.token", "MPETL_ACCOUNTS__MAIN__WB__TOKEN_FILE"),
        ("accounts.main.ozon.api_key", "MPETL_ACCOUNTS__MAIN__OZON__API_KEY_FILE"),
        ("telegram.token", "MPETL_TELEGRAM__TOKEN_FILE"),
    ] {
        assert!(env.iter().any(|(k, _)| k == var), "{file} does not set {var}");
        assert_eq!(setting(key), ("\"***\"".to_string(), format!("env {var}")), "{file}: {key}");
    }
    if env.iter().any(|(k, _)| k == "MPETL_DATA_DIR") {
        assert_eq!(setting("data_dir").1, "env MPETL_DATA_DIR", "{file}");
    }
    if let Some((_, url)) = env.iter().find(|(k, _)| k == "REDIS_URL") {
        assert_eq!(setting("state.redis_url"), ("\"***\"".to_string(), "env REDIS_URL".to_string()), "{file}");
        assert!(!out.contains(url.as_str()), "{file}: the Redis URL was printed");
    }
}

#[test]
fn compose_gives_mpetl_every_secret_from_a_file_and_redis() {
    let env = compose_env(&read("compose.yaml"));
    assert!(env.iter().any(|(k, _)| k == "REDIS_URL"), "compose.yaml must point mpetl at its Redis");
    check("compose.yaml", env);
}

#[test]
fn the_systemd_unit_gives_mpetl_every_secret_as_a_credential() {
    let unit = read("contrib/systemd/mpetl.service");
    for credential in ["wb_token", "ozon_api_key", "telegram_token"] {
        assert!(unit.contains(&format!("LoadCredential={credential}:")), "no LoadCredential for {credential}");
        assert!(unit.contains(&format!("=%d/{credential}")), "{credential} is not read from the credentials directory");
    }
    check("contrib/systemd/mpetl.service", unit_env(&unit));
}

#[test]
fn the_dockerfile_copies_files_that_exist_and_runs_as_a_user() {
    let text = read("Dockerfile");
    let mut copies = 0;
    for line in text.lines().filter(|l| l.starts_with("COPY ") && !l.contains("--from=")) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        for src in &parts[1..parts.len() - 1] {
            assert!(Path::new(ROOT).join(src).exists(), "Dockerfile copies {src}, which is not in the repository");
            copies += 1;
        }
    }
    assert!(copies >= 4, "{text}");
    // The image's config and jobs are where its ENV and CMD say.
    assert!(
        text.contains("COPY mpetl.toml /etc/mpetl/mpetl.toml") && text.contains("MPETL_CONFIG=/etc/mpetl/mpetl.toml")
    );
    assert!(text.contains("/etc/mpetl/jobs/nightly.toml") && text.contains("\"--jobs\", \"/etc/mpetl/jobs\""));
    assert!(text.contains("USER mpetl"), "the image must not run as root");
    assert!(text.contains("--no-default-features"), "a deployment image carries no sandbox");
}
