//! `bookmygig-testwallet`: the Open Payments test wallet for manual runs. Starts the server,
//! creates the wallets named on the command line, prints the base URL and every wallet
//! address, and serves until Ctrl-C. Drive it with the `/_test` routes (see the crate README).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use bookmygig_testwallet::{Config, NewWallet, SignatureMode, TestWallet};
use clap::Parser;

/// An Open Payments server for tests (wallet addresses, GNAP auth, resource server).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Where to listen (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0", env = "BOOKMYGIG_TESTWALLET_ADDR")]
    addr: SocketAddr,
    /// The directory of the three OpenAPI YAML documents (default: the copy in the crate).
    #[arg(long, env = "BOOKMYGIG_OPEN_PAYMENTS_SPEC_DIR")]
    spec_dir: Option<PathBuf>,
    /// Wallets to create, as NAME or NAME=BALANCE (smallest unit, USD at scale 2).
    #[arg(long = "wallet", value_name = "NAME[=BALANCE]")]
    wallets: Vec<String>,
    /// Accept what Rafiki accepts (unquoted component names, bare base64 signatures), as the
    /// `open-payments` Rust crate 0.2 sends.
    #[arg(long)]
    lenient_signatures: bool,
    /// The `wait` of pending grants' continuation, in seconds.
    #[arg(long, default_value_t = 1)]
    continue_wait: u32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut config = Config {
        bind: args.addr,
        continue_wait_secs: args.continue_wait,
        ..Config::default()
    };
    if let Some(dir) = args.spec_dir {
        config.spec_dir = dir;
    }
    if args.lenient_signatures {
        config.signature_mode = SignatureMode::Lenient;
    }
    let wallet = TestWallet::start(config)
        .await
        .context("starting the test wallet")?;
    println!("base {}", wallet.base_url());
    for spec in &args.wallets {
        let (name, balance) = match spec.split_once('=') {
            Some((n, b)) => (n, b.parse().context("a balance is an integer")?),
            None => (spec.as_str(), 0),
        };
        let info = wallet
            .create_wallet(NewWallet::new(name).balance(balance))
            .with_context(|| format!("creating wallet {name}"))?;
        println!("wallet {} balance {}", info.id, info.balance);
    }
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    wallet.shutdown().await;
    Ok(())
}
