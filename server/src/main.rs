//! `bookmygig-server`: parses flags, sets up logging, binds, serves until SIGTERM/Ctrl-C.

use std::io::IsTerminal as _;

use anyhow::Context as _;
use bookmygig_server::{Config, Listeners, open_store, serve, shutdown};
use clap::Parser as _;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| config.log.clone());
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&filter).context("invalid log filter")?)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let store = open_store(&config).await.context("opening the store")?;
    let listeners = Listeners::bind(&config)
        .await
        .with_context(|| format!("binding HTTP {} and RTMP {}", config.http, config.rtmp))?;
    serve(config, store, listeners, shutdown::signal()).await?;
    Ok(())
}
