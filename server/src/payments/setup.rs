//! From the server's flags to the payment provider: the Open Payments settings (the key read,
//! the wallet address checked, the two kinds of money kept apart), and the host's one-time
//! approval of the payout grant (`bookmygig-server payouts authorize`).

use std::sync::Arc;

use crate::Config;
use crate::payments;

/// The Open Payments provider's settings, when `--open-payments-wallet` is given: the key
/// read and the wallet address checked.
///
/// # Errors
/// [`crate::ServerError::OpenPayments`] when the key file cannot be read or is not an Ed25519 PKCS#8
/// PEM, or the wallet address is not one.
pub fn open_payments_settings(
    config: &Config,
) -> Result<Option<payments::OpenPaymentsSettings>, crate::ServerError> {
    let Some(wallet) = &config.open_payments_wallet else {
        return Ok(None);
    };
    let fail = |what: String| crate::ServerError::OpenPayments(what);
    if config.dev_topups {
        return Err(fail(
            "--dev-topups (play money) and --open-payments-wallet (real money) exclude each \
             other"
                .into(),
        ));
    }
    let wallet = bookmygig_openpayments::pointer::wallet_address_url(
        wallet,
        config.open_payments_insecure_http,
    )
    .map_err(|err| fail(format!("--open-payments-wallet: {err}")))?;
    let (Some(key_id), Some(key_path)) = (&config.open_payments_key_id, &config.open_payments_key)
    else {
        return Err(fail(
            "--open-payments-wallet needs --open-payments-key-id and --open-payments-key".into(),
        ));
    };
    let pem = std::fs::read_to_string(key_path)
        .map_err(|err| fail(format!("cannot read {}: {err}", key_path.display())))?;
    let key = bookmygig_openpayments::ClientKey::from_pem(key_id.clone(), &pem)
        .map_err(|err| fail(format!("{}: {err}", key_path.display())))?;
    let http = reqwest::Client::builder()
        .user_agent(concat!("bookmygig-server/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| fail(format!("cannot set up the HTTP client: {err}")))?;
    if config.open_payments_insecure_http {
        tracing::warn!(
            "--open-payments-insecure-http: wallets may be reached over plain http://; for test wallets only, never in production"
        );
    }
    Ok(Some(payments::OpenPaymentsSettings {
        wallet,
        key,
        http,
        allow_http: config.open_payments_insecure_http,
        consent_timeout: time::Duration::seconds(
            i64::try_from(config.topup_consent_timeout).unwrap_or(i64::MAX),
        ),
    }))
}

/// `bookmygig-server payouts authorize`: asks the platform's wallet for the payout grant,
/// prints where to approve it, waits, and keeps it in `store` for every node.
///
/// # Errors
/// [`crate::ServerError::OpenPayments`] without Open Payments settings, or when the grant is not
/// approved.
pub async fn authorize_payouts(
    config: &Config,
    store: Arc<dyn bookmygig_store::Store>,
    limit: bookmygig_api::Money,
    interval: &str,
    patience: std::time::Duration,
) -> Result<(), crate::ServerError> {
    let Some(settings) = open_payments_settings(config)? else {
        return Err(crate::ServerError::OpenPayments(
            "payouts need --open-payments-wallet, --open-payments-key-id and \
             --open-payments-key"
                .into(),
        ));
    };
    let provider = payments::OpenPayments::new(store, settings);
    let mut say = |line: &str| println!("{line}");
    provider
        .authorize_payouts(limit, interval, patience, &mut say)
        .await
        .map_err(|err| crate::ServerError::OpenPayments(err.to_string()))
}
