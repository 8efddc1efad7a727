//! `ClientIp`: the address a request comes from, for per-IP limits. It is the TCP peer's
//! address, unless that peer is a configured trusted proxy (`--trusted-proxies`): then it is
//! the last address in `X-Forwarded-For` that is not itself a trusted proxy (the one the
//! outermost trusted proxy saw). Earlier entries are whatever the client wrote, so they are
//! never believed.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use super::problem::ApiError;
use crate::net::tcp::PeerSocket;
use crate::state::AppState;

/// The TCP peer of a request's connection, put in the request's extensions by the listener.
#[derive(Clone, Copy, Debug)]
pub struct PeerAddr(pub SocketAddr);

/// The client's address as far as this server can trust it (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// Most `X-Forwarded-For` entries looked at (from the right); a longer chain is a client
/// writing its own, and only the right end is trusted anyway.
const MAX_FORWARDED_HOPS: usize = 16;

/// The client's address for a request from `peer` carrying `headers`, trusting `proxies`.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, proxies: &[IpNet]) -> IpAddr {
    let trusted = |ip: &IpAddr| proxies.iter().any(|net| net.contains(ip));
    if !trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    // Every header line, in order, as one comma-separated list; walked from the right.
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect();
    for hop in hops.iter().rev().take(MAX_FORWARDED_HOPS) {
        match parse_hop(hop) {
            Some(ip) => {
                client = ip;
                if !trusted(&ip) {
                    break;
                }
            }
            // A garbled entry: the proxy chain cannot be followed past it.
            None => break,
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, maybe with a port (`1.2.3.4:5678`, `[::1]:80`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
}

/// The peer address of a request: from the listener's [`PeerAddr`], or from the socket axum
/// hands over as connect info.
pub fn peer_of(parts: &Parts) -> Option<IpAddr> {
    if let Some(PeerAddr(addr)) = parts.extensions.get::<PeerAddr>() {
        return Some(addr.ip());
    }
    parts
        .extensions
        .get::<ConnectInfo<PeerSocket>>()
        .and_then(|ConnectInfo(PeerSocket(socket))| socket.peer_addr().ok())
        .map(|addr| addr.ip())
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = peer_of(parts)
            .ok_or_else(|| ApiError::internal("the request carries no peer address"))?;
        Ok(ClientIp(resolve(
            peer,
            &parts.headers,
            &state.settings.trusted_proxies,
        )))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let headers = forwarded(&["9.9.9.9"]);
        assert_eq!(resolve(ip("1.2.3.4"), &headers, &[]), ip("1.2.3.4"));
        let proxies = ["10.0.0.0/8".parse().unwrap()];
        assert_eq!(resolve(ip("1.2.3.4"), &headers, &proxies), ip("1.2.3.4"));
    }

    #[test]
    fn behind_trusted_proxies_the_first_untrusted_hop_from_the_right_is_the_client() {
        let proxies = ["10.0.0.0/8".parse().unwrap()];
        // The client wrote 6.6.6.6 itself; the proxy appended the address it saw.
        let headers = forwarded(&["6.6.6.6, 5.5.5.5", "10.1.1.1"]);
        assert_eq!(resolve(ip("10.0.0.2"), &headers, &proxies), ip("5.5.5.5"));
        let with_port = forwarded(&["[2001:db8::1]:4000"]);
        assert_eq!(
            resolve(ip("10.0.0.2"), &with_port, &proxies),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn a_trusted_peer_without_a_usable_header_is_the_client() {
        let proxies = ["10.0.0.2/32".parse().unwrap()];
        assert_eq!(
            resolve(ip("10.0.0.2"), &HeaderMap::new(), &proxies),
            ip("10.0.0.2")
        );
        let garbled = forwarded(&["not-an-address"]);
        assert_eq!(resolve(ip("10.0.0.2"), &garbled, &proxies), ip("10.0.0.2"));
    }
}
