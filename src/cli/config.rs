//! `mpetl config show`: the effective configuration, secrets redacted, each value's source.

use std::path::Path;

use anyhow::Result;
use mpetl::config::Config;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Print every key in effect as `key = value  # source` (the file, an environment variable,
    /// or the default); secrets show as "***" when set.
    Show {
        /// One JSON array of {key, value, source} instead.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(config: &Path, args: Args) -> Result<()> {
    match args.action {
        Action::Show { json } => {
            let settings = Config::load(config)?.effective();
            if json {
                println!("{}", serde_json::to_string_pretty(&settings)?);
            } else {
                print!("{}", mpetl::config::render(&settings));
            }
            Ok(())
        }
    }
}
