//! `mpetl doctor`: what tonight's job needs, checked now (see `mpetl::doctor`).

use std::path::{Path, PathBuf};

use anyhow::Result;
use mpetl::config::Config;
use mpetl::doctor::Status;

#[derive(clap::Args)]
pub struct Args {
    /// The jobs directory: the chats its jobs post to are checked too (when it exists).
    #[arg(long, default_value = "jobs")]
    jobs: PathBuf,
    /// As JSON on stdout: every check with its status (`ok`, `warn`, `fail`) and detail.
    #[arg(long)]
    json: bool,
}

pub async fn run(config: &Path, args: Args) -> Result<()> {
    let cfg = Config::load(config)?;
    let chats: Vec<i64> = if args.jobs.is_dir() {
        mpetl::jobs::load_dir(&args.jobs, &cfg)?.iter().filter_map(|j| j.telegram_chat).collect()
    } else {
        Vec::new()
    };
    let checks = mpetl::doctor::run(&cfg, &chats).await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&checks)?);
    } else {
        for c in &checks {
            let mark = match c.status {
                Status::Ok => "ok  ",
                Status::Warn => "WARN",
                Status::Fail => "FAIL",
            };
            println!("{mark} {:<32} {}", c.name, c.detail);
        }
    }
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    if failed > 0 {
        anyhow::bail!("{failed} check(s) failed: tonight's job would fail on them");
    }
    Ok(())
}
