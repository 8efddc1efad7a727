//! `bookmygig-server`: parses flags, sets up logging, binds, serves until SIGTERM/Ctrl-C.

use std::io::IsTerminal as _;

use anyhow::Context as _;
use bookmygig_server::config::{PayoutsCommand, ServerCommand};
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
    // A panic ends only the task it happens in (a connection, a room): tokio catches it at the
    // task's edge and the node serves on. Say so in the log, where operators look, not as a
    // bare line on stderr. The release profile keeps unwinding (never `panic = "abort"`).
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(%location, %message, "panic contained: only its connection or task ends");
    }));
    let store = open_store(&config).await.context("opening the store")?;
    if let Some(ServerCommand::Payouts(PayoutsCommand::Authorize {
        limit,
        interval,
        wait,
    })) = &config.command
    {
        bookmygig_server::authorize_payouts(
            &config,
            std::sync::Arc::clone(&store),
            *limit,
            interval,
            std::time::Duration::from_secs(*wait),
        )
        .await?;
        store.flush().await.context("flushing the store")?;
        return Ok(());
    }
    let listeners = Listeners::bind(&config)
        .await
        .with_context(|| format!("binding HTTP {} and RTMP {}", config.http, config.rtmp))?;
    serve(config, store, listeners, shutdown::signal()).await?;
    Ok(())
}
