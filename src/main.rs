//! The `mpetl` command line: parse, run the command on a runtime, map the outcome to an exit code.

#![deny(clippy::unwrap_used, clippy::expect_used)]

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // glibc gives every thread that allocates an arena of its own and keeps what is freed there
    // for that thread: with tokio's workers and the blocking threads that decode and write pages,
    // ~30 % of the pipeline's peak was freed memory held in arenas (large seller, 60 days:
    // 2.17 GiB → 1.53 GiB with two arenas, the same time). Set before any thread starts.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; no other thread exists yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
    // Colour only for a person at a terminal: piped logs (journald, files, CI) carried escape
    // codes; NO_COLOR (no-color.org) turns it off anywhere.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let cli = cli::Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("MPETL_LOG").unwrap_or_else(|_| cli.log_level().into());
    let log = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match cli.log_format() {
        cli::LogFormat::Text => log.with_ansi(ansi).init(),
        cli::LogFormat::Json => log.json().with_ansi(false).init(),
    }
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The command runs on a worker, not on the thread that blocks on it: futures polled on
    // the `block_on` thread were seen to lose their timer wake-ups (two runs joined there hung
    // after one finished; see tests/it/limits.rs), never on a spawned task.
    let outcome = rt.block_on(async { tokio::spawn(cli::run(cli)).await });
    match outcome.unwrap_or_else(|e| Err(anyhow::anyhow!("the command's task failed: {e}"))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(cli::exit_code(&e))
        }
    }
}
