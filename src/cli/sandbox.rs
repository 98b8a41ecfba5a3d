//! `mpetl sandbox`: the emulators on 127.0.0.1 until Ctrl-C, and how to point mpetl at them.

use anyhow::{Context, Result};
use mpetl_sandbox::{self as sandbox, ProfileName, Sandbox, SandboxConfig};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = "medium")]
    profile: ProfileName,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Rows per WB statistics page.
    #[arg(long, default_value_t = 80_000)]
    page_cap: usize,
    /// Serve this many sellers behind the one address (mostly small, every twentieth medium;
    /// `--profile` is ignored), each with its own credentials, data and rate-limit buckets.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    sellers: Option<u32>,
    /// Enforce the marketplaces' real rate limits, their periods divided by this.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    limits: Option<u32>,
    /// Days of history each seller has, up to today.
    #[arg(long, default_value_t = 400, value_parser = clap::value_parser!(i64).range(1..=4000))]
    history_days: i64,
}

pub async fn run(args: Args) -> Result<()> {
    let Args { profile, seed, port, page_cap, sellers, limits, history_days } = args;
    let mix = sellers.map(|n| sandbox::seller_mix(n as usize));
    let sb = Sandbox::start(SandboxConfig {
        profile: mix.as_ref().map_or(profile, |m| m[0]),
        more_sellers: mix.as_ref().map_or_else(Vec::new, |m| m[1..].to_vec()),
        seed,
        port,
        wb_page_cap: page_cap,
        enforce_limits: limits,
        history_days,
        ..Default::default()
    })
    .await
    .context("starting the sandbox")?;
    let u = &sb.base_url;
    // The first line says where it listens: `mpetl bench` reads it.
    match sellers {
        Some(n) => println!("Sandbox of {n} sellers (seeds {seed}…) on {u}"),
        None => println!("Sandbox seller '{profile:?}' (seed {seed}) on {u}"),
    }
    if let Some(n) = sellers.filter(|n| *n > 1) {
        let last = sandbox::credentials(n as usize - 1);
        println!(
            "  seller k's credentials: WB token {}-k, Client-Id 100500+k, Api-Key {}-k (seller 0: the ones below; seller {}: {}, {}, {})",
            sandbox::WB_TOKEN,
            sandbox::OZON_API_KEY,
            n - 1,
            last.wb_token,
            last.ozon_client_id,
            last.ozon_api_key
        );
    }
    println!("  WB statistics: {u}/api/v1/supplier/orders, {u}/api/v1/supplier/sales (token {})", sandbox::WB_TOKEN);
    println!(
        "  Ozon:          {u}/v3/posting/fbo/list, {u}/v4/posting/fbs/list (Client-Id {}, Api-Key {})",
        sandbox::OZON_CLIENT_ID,
        sandbox::OZON_API_KEY
    );
    println!(
        "  WB finance:    {u}/api/finance/v1/sales-reports/detailed, …/list; ads: {u}/adv/v1/promotion/count, /adv/v3/fullstats, /adv/v1/upd"
    );
    println!("  Ozon finance:  {u}/v1/finance/accrual/by-day, …/types");
    println!("  Ground truth:  {u}/__sandbox/truth?from=YYYY-MM-DD&to=YYYY-MM-DD");
    println!("Point a backfill at it:");
    println!(
        "  MPETL_FETCH__TIME_SCALE=600 MPETL_ENDPOINTS__WB_STATISTICS={u} MPETL_ENDPOINTS__WB_FINANCE={u} MPETL_ENDPOINTS__WB_ADVERT={u} MPETL_ENDPOINTS__OZON={u} MPETL_ACCOUNTS__MAIN__WB__TOKEN={} MPETL_ACCOUNTS__MAIN__OZON__CLIENT_ID={} MPETL_ACCOUNTS__MAIN__OZON__API_KEY={} mpetl backfill --from 2026-01-01 --to 2026-01-31",
        sandbox::WB_TOKEN,
        sandbox::OZON_CLIENT_ID,
        sandbox::OZON_API_KEY
    );
    println!("Ctrl-C stops it.");
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    Ok(())
}
