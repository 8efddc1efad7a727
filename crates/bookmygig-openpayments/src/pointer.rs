//! Payment pointers (`$wallet.example/alice`) and the wallet address URLs they stand for.

/// Why a text is not a wallet address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{text}` is not a payment pointer ($wallet.example/alice) or a wallet address URL (https://wallet.example/alice): {reason}"
)]
pub struct PointerError {
    /// What was given.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// The wallet address URL of `text`: a payment pointer `$host/path` is `https://host/path`, and
/// `$host` alone is `https://host/.well-known/pay`; an `https://` URL is itself. With
/// `allow_http` (test wallets on loopback only) `http://` URLs are taken and pointers resolve
/// to `http://`.
///
/// # Errors
/// [`PointerError`] for anything else.
pub fn wallet_address_url(text: &str, allow_http: bool) -> Result<String, PointerError> {
    let text = text.trim();
    let error = |reason| PointerError {
        text: text.to_owned(),
        reason,
    };
    let url = if let Some(rest) = text.strip_prefix('$') {
        if rest.contains("://") {
            return Err(error("a pointer has no scheme"));
        }
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let scheme = if allow_http { "http" } else { "https" };
        if path.is_empty() {
            format!("{scheme}://{host}/.well-known/pay")
        } else {
            format!("{scheme}://{host}/{path}")
        }
    } else {
        text.to_owned()
    };
    let parsed = url::Url::parse(&url).map_err(|_| error("not a URL"))?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => return Err(error("a wallet address must use https")),
        _ => return Err(error("a wallet address must use https")),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(error("a host is required"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() || !parsed.username().is_empty() {
        return Err(error("no query, fragment or user part"));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn pointers_resolve_as_the_standard_says() {
        assert_eq!(
            wallet_address_url("$wallet.example/alice", false).unwrap(),
            "https://wallet.example/alice"
        );
        assert_eq!(
            wallet_address_url("$wallet.example", false).unwrap(),
            "https://wallet.example/.well-known/pay"
        );
        assert_eq!(
            wallet_address_url("https://wallet.example/bob/", false).unwrap(),
            "https://wallet.example/bob"
        );
    }

    #[test]
    fn plain_http_only_where_allowed() {
        assert!(wallet_address_url("http://127.0.0.1:9/bob", false).is_err());
        assert!(wallet_address_url("http://127.0.0.1:9/bob", true).is_ok());
        for bad in [
            "ftp://x/y",
            "$https://x/y",
            "https://",
            "https://x/y?z=1",
            "bob",
        ] {
            assert!(wallet_address_url(bad, true).is_err(), "{bad}");
        }
    }
}
