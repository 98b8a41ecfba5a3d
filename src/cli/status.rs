//! `mpetl status`: active and recent runs, or one run's chunks.

use std::path::Path;

use anyhow::Result;
use mpetl::config::Config;

#[derive(clap::Args)]
pub struct Args {
    run: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// How many recent runs to list.
    #[arg(long, default_value_t = 20)]
    limit: usize,
}

pub fn run(config: &Path, args: Args) -> Result<()> {
    let Args { run, json, limit } = args;
    let cfg = Config::load(config)?;
    let Some(store) = mpetl::state::open_to_read(&cfg)? else {
        if let Some(id) = run {
            return Err(mpetl::pipeline::RunError::UnknownRun { id }.into());
        }
        if json {
            println!("[]");
        } else {
            println!("No runs recorded yet (no state in {}).", cfg.state_dir().display());
        }
        return Ok(());
    };
    let now = chrono::Utc::now();
    let stale = chrono::Duration::seconds(cfg.state.lease_secs as i64 + 5);
    match run {
        None => {
            let views: Vec<_> =
                store.runs(limit)?.into_iter().map(|r| mpetl::status::RunView::new(r, now, stale)).collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&views)?);
            } else {
                print!("{}", mpetl::status::runs_table(&views));
            }
        }
        Some(id) => {
            let rec = store.run(&id)?.ok_or_else(|| mpetl::pipeline::RunError::UnknownRun { id: id.clone() })?;
            let chunks = rec
                .chunks
                .iter()
                .map(|c| Ok((c.clone(), store.chunk(c)?)))
                .collect::<Result<Vec<_>, mpetl::state::StateError>>()?;
            let view = mpetl::status::RunView::new(rec, now, stale);
            if json {
                let detail: Vec<_> = chunks.iter().map(|(id, c)| serde_json::json!({"id": id, "record": c})).collect();
                println!("{}", serde_json::to_string_pretty(&serde_json::json!({"run": view, "chunks": detail}))?);
            } else {
                print!("{}", mpetl::status::run_detail(&view, &chunks));
            }
        }
    }
    Ok(())
}
