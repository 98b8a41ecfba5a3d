//! `mpetl lake verify`: every partition read whole, every stored chunk's partition present.

use std::path::Path;

use anyhow::Result;
use mpetl::config::Config;
use mpetl::dataset::Dataset;
use mpetl::lake::Lake;
use mpetl::lake::batch::WHOLE;
use mpetl::lake::verify::Hole;
use mpetl::pipeline::plan;
use mpetl::state::ChunkState;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Read every partition whole and check it against the chunk records: a damaged file is
    /// moved aside, a missing one named; the chunks behind both are marked for the next run to
    /// fetch again, and metrics refuse those months until it has. Exits 1 when it finds any.
    /// Run it when no backfill is running.
    Verify,
}

pub fn run(config: &Path, args: Args) -> Result<()> {
    match args.action {
        Action::Verify => verify(config),
    }
}

fn verify(config: &Path) -> Result<()> {
    let cfg = Config::load(config)?;
    let lake = Lake::new(cfg.lake_dir());
    let store = mpetl::state::open(&cfg)?;
    let mut holes = lake.set_aside_damaged();
    let records = store.chunks(None)?;
    // A span's months have records of their own.
    for rec in records.iter().filter(|r| r.state == ChunkState::Done && r.rows > 0 && !plan::is_span(&r.id)) {
        // A WB statistics stream has no month: its partitions are checked as files only.
        let (Some(ds), Some(from)) = (Dataset::from_name(&rec.dataset), rec.from) else { continue };
        let month = if ds.spec().by_month { from.format("%Y-%m").to_string() } else { WHOLE.to_string() };
        let known = holes.iter().any(|h| h.dataset == ds && h.account == rec.account && h.month == month);
        if !known && !lake.has_partition(ds, &rec.account, &month) {
            let what = format!("missing, though chunk {} stored {} rows in it", rec.id, rec.rows);
            holes.push(Hole { dataset: ds, account: rec.account.clone(), month, what });
        }
    }
    holes.sort();
    let checked: usize = Dataset::ALL.iter().map(|ds| lake.partition_files(*ds).len()).sum();
    if holes.is_empty() {
        println!(
            "lake {}: {checked} partition(s) read whole, every stored chunk's partition present",
            lake.root().display()
        );
        return Ok(());
    }
    for h in &holes {
        lake.mark_hole(h)?;
        for mut rec in records.iter().filter(|r| r.dataset == h.dataset.name() && r.account == h.account).cloned() {
            let month = rec.from.map(|d| d.format("%Y-%m").to_string());
            if month.as_deref().is_some_and(|m| m != h.month) {
                continue;
            }
            if month.is_none() {
                // A stream is read again from its start (WB keeps 90 days of statistics).
                store.delete_stream(&mpetl::pipeline::plan::stream_key(&h.account, h.dataset))?;
            }
            rec.state = ChunkState::Failed;
            rec.error = Some(format!("lake verify: {}", h.what));
            store.put_chunk(&rec, None)?;
        }
        println!("hole: {h}");
    }
    let (first, last) = (holes.iter().map(|h| &h.month).min(), holes.iter().map(|h| &h.month).max());
    anyhow::bail!(
        "{} of {} partition(s) cannot be trusted (listed above); their chunks are marked to be fetched again, and metrics refuse those months until then. Fix: run `mpetl backfill` over {} … {} (WB statistics older than 90 days cannot be fetched again)",
        holes.len(),
        // Damaged files were set aside and missing ones never existed: neither is in `checked`.
        checked + holes.len(),
        first.map_or("", String::as_str),
        last.map_or("", String::as_str)
    )
}
