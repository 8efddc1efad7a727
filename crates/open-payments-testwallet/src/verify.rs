//! The server side of HTTP message signatures: parses `Signature-Input` and `Signature`,
//! checks that the components Open Payments requires are covered, checks `Content-Digest`
//! against the body, rebuilds the signature base and verifies it with the client's JWKs.
//!
//! Sans-IO: it is given the request's parts and the client's keys; finding those keys (the
//! grant's client wallet, its `jwks.json`) is the HTTP layer's business.
//!
//! Two modes ([`SignatureMode`]): `Rfc9421` parses the headers as RFC 8941 structured fields
//! and rebuilds `@signature-params` from what it parsed, as the standard says; `Lenient`
//! accepts what the Interledger Foundation's own server (Rafiki, through
//! `http-signature-utils`) accepts, which includes the unquoted component names and bare
//! base64 signature the `open-payments` Rust crate 0.2 sends.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::Signature;
use http::HeaderMap;

use crate::signing::{Jwk, content_digest, signature_base};

/// How strictly signatures are parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignatureMode {
    /// RFC 9421 and RFC 8941 as written: quoted component names, `label=:base64:` signatures,
    /// `@signature-params` serialized from the parsed parameters.
    #[default]
    Rfc9421,
    /// Also what Rafiki accepts: unquoted component names, a bare base64 signature, and the
    /// `Signature-Input` text after `label=` used verbatim as `@signature-params`.
    Lenient,
}

/// Why a request's signature was refused (each answers 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// `Signature` or `Signature-Input` is absent.
    #[error("the request is not signed (Signature and Signature-Input are required)")]
    Missing,
    /// A header does not parse.
    #[error("malformed {header}: {reason}")]
    Malformed {
        /// Which header.
        header: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A component Open Payments requires is not covered.
    #[error("the signature does not cover {0}")]
    NotCovered(&'static str),
    /// A covered component is one this server does not derive.
    #[error("unsupported covered component {0}")]
    UnsupportedComponent(String),
    /// A covered header is absent from the request.
    #[error("covered header {0} is absent")]
    AbsentHeader(String),
    /// `Content-Digest` does not match the body.
    #[error("Content-Digest does not match the body (sha-512 required)")]
    DigestMismatch,
    /// No key of the client has the signature's `keyid`.
    #[error("no key {0} in the client's JWKS")]
    UnknownKey(String),
    /// The client's key is unusable.
    #[error("the client's key {0} is not an Ed25519 key")]
    BadKey(String),
    /// The signature does not verify.
    #[error("the signature does not verify")]
    Invalid,
}

/// The signature of a request, parsed.
#[derive(Debug, Clone)]
pub struct ParsedSignature {
    /// The covered components, in order, without quotes.
    pub components: Vec<String>,
    /// `keyid`.
    pub keyid: String,
    /// `created`, when given.
    pub created: Option<i64>,
    /// The `@signature-params` value to sign over.
    signature_params: String,
    /// The signature bytes.
    signature: Vec<u8>,
}

/// The request as the server saw it.
#[derive(Debug, Clone, Copy)]
pub struct ReceivedRequest<'a> {
    /// The method.
    pub method: &'a str,
    /// `http://{Host}{path and query}`: the target URI the client addressed.
    pub target_uri: &'a str,
    /// Its headers.
    pub headers: &'a HeaderMap,
    /// Its body (empty when none).
    pub body: &'a [u8],
}

fn malformed(header: &'static str, reason: impl Into<String>) -> SignatureError {
    SignatureError::Malformed {
        header,
        reason: reason.into(),
    }
}

fn header<'a>(
    headers: &'a HeaderMap,
    name: &'static str,
) -> Result<Option<&'a str>, SignatureError> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(|s| Some(s.trim()))
            .map_err(|_| malformed(name, "not visible ASCII")),
    }
}

/// Whether the request carries signature headers at all.
pub fn is_signed(headers: &HeaderMap) -> bool {
    headers.contains_key("signature") || headers.contains_key("signature-input")
}

/// Parses the request's `Signature-Input` and `Signature`: the first signature of
/// `Signature-Input` and the member of `Signature` with the same label.
///
/// # Errors
///
/// [`SignatureError::Missing`] or [`SignatureError::Malformed`].
pub fn parse(headers: &HeaderMap, mode: SignatureMode) -> Result<ParsedSignature, SignatureError> {
    let (Some(input), Some(sig)) = (
        header(headers, "signature-input")?,
        header(headers, "signature")?,
    ) else {
        return Err(SignatureError::Missing);
    };
    let (label, rest) = input
        .split_once('=')
        .ok_or_else(|| malformed("Signature-Input", "no label="))?;
    let label = label.trim();
    if label.is_empty()
        || !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.*".contains(&b))
    {
        return Err(malformed("Signature-Input", "bad label"));
    }
    let mut p = Cursor {
        s: rest.trim_start(),
        mode,
    };
    let components = p.inner_list()?;
    let params = p.params()?;
    // Only the first signature is used; a second member, if any, starts after a comma.
    let consumed = rest.trim_start().len() - p.s.len();
    let raw_params = rest.trim_start()[..consumed].trim_end();
    let p_rest = p.s.trim_start();
    if !p_rest.is_empty() && !p_rest.starts_with(',') {
        return Err(malformed("Signature-Input", "trailing characters"));
    }
    let mut keyid = None;
    let mut created = None;
    for (name, value) in &params {
        match (name.as_str(), value) {
            ("keyid", Param::String(s)) => keyid = Some(s.clone()),
            ("created", Param::Integer(i)) => created = Some(*i),
            ("keyid" | "created", _) => {
                return Err(malformed(
                    "Signature-Input",
                    format!("{name} has the wrong type"),
                ));
            }
            _ => {}
        }
    }
    let keyid = keyid.ok_or_else(|| malformed("Signature-Input", "no keyid"))?;
    let signature_params = match mode {
        SignatureMode::Rfc9421 => serialize(&components, &params),
        SignatureMode::Lenient => raw_params.to_string(),
    };
    let signature = signature_bytes(sig, label, mode)?;
    Ok(ParsedSignature {
        components,
        keyid,
        created,
        signature_params,
        signature,
    })
}

fn signature_bytes(sig: &str, label: &str, mode: SignatureMode) -> Result<Vec<u8>, SignatureError> {
    let member = sig.split(',').map(str::trim).find_map(|m| {
        m.split_once('=')
            .filter(|(l, _)| l.trim() == label)
            .map(|(_, v)| v.trim())
    });
    let encoded = match (member, mode) {
        (Some(v), _) if v.starts_with(':') && v.ends_with(':') && v.len() >= 2 => {
            &v[1..v.len() - 1]
        }
        (Some(v), SignatureMode::Lenient) => v,
        (None, SignatureMode::Lenient) => sig,
        (Some(_), SignatureMode::Rfc9421) => {
            return Err(malformed("Signature", "not a byte sequence (:base64:)"));
        }
        (None, SignatureMode::Rfc9421) => {
            return Err(malformed("Signature", format!("no member {label}")));
        }
    };
    STANDARD
        .decode(encoded)
        .map_err(|_| malformed("Signature", "not base64"))
}

/// Checks coverage and `Content-Digest`, then verifies the signature with the key of `jwks`
/// whose `kid` is the signature's `keyid`.
///
/// # Errors
///
/// Any [`SignatureError`] but `Missing` and `Malformed`.
pub fn verify(
    parsed: &ParsedSignature,
    request: &ReceivedRequest<'_>,
    jwks: &[Jwk],
) -> Result<(), SignatureError> {
    let covers = |name: &str| parsed.components.iter().any(|c| c == name);
    if !covers("@method") {
        return Err(SignatureError::NotCovered("@method"));
    }
    if !covers("@target-uri") {
        return Err(SignatureError::NotCovered("@target-uri"));
    }
    if request.headers.contains_key("authorization") && !covers("authorization") {
        return Err(SignatureError::NotCovered("authorization"));
    }
    if !request.body.is_empty() {
        for name in ["content-digest", "content-length", "content-type"] {
            if !covers(name) {
                return Err(SignatureError::NotCovered(name));
            }
        }
    }
    if covers("content-digest") {
        let given = header(request.headers, "content-digest")?
            .ok_or_else(|| SignatureError::AbsentHeader("content-digest".into()))?;
        let ours = content_digest(request.body);
        let ours_value = ours.trim_start_matches("sha-512=");
        let matches = given.split(',').map(str::trim).any(|member| {
            member
                .split_once('=')
                .is_some_and(|(alg, v)| alg.trim() == "sha-512" && v.trim() == ours_value)
        });
        if !matches {
            return Err(SignatureError::DigestMismatch);
        }
    }
    let mut values = Vec::with_capacity(parsed.components.len());
    for name in &parsed.components {
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(SignatureError::UnsupportedComponent(name.clone()));
        }
        let value = match name.as_str() {
            "@method" => request.method.to_ascii_uppercase(),
            "@target-uri" => request.target_uri.to_string(),
            "@authority" | "@path" | "@query" | "@scheme" => derived(name, request.target_uri)
                .ok_or_else(|| SignatureError::UnsupportedComponent(name.clone()))?,
            n if n.starts_with('@') => {
                return Err(SignatureError::UnsupportedComponent(name.clone()));
            }
            n => {
                let all: Vec<&str> = request
                    .headers
                    .get_all(n)
                    .iter()
                    .map(|v| v.to_str().map(str::trim))
                    .collect::<Result<_, _>>()
                    .map_err(|_| SignatureError::AbsentHeader(n.to_string()))?;
                if all.is_empty() {
                    return Err(SignatureError::AbsentHeader(n.to_string()));
                }
                all.join(", ")
            }
        };
        values.push((name.as_str(), value));
    }
    let base = signature_base(
        values.iter().map(|(n, v)| (*n, v.as_str())),
        &parsed.signature_params,
    );
    let jwk = jwks
        .iter()
        .find(|k| k.kid == parsed.keyid)
        .ok_or_else(|| SignatureError::UnknownKey(parsed.keyid.clone()))?;
    let key = jwk
        .verifying_key()
        .map_err(|_| SignatureError::BadKey(parsed.keyid.clone()))?;
    let bytes: [u8; 64] = parsed
        .signature
        .as_slice()
        .try_into()
        .map_err(|_| SignatureError::Invalid)?;
    key.verify_strict(base.as_bytes(), &Signature::from_bytes(&bytes))
        .map_err(|_| SignatureError::Invalid)
}

fn derived(name: &str, target_uri: &str) -> Option<String> {
    let url = url::Url::parse(target_uri).ok()?;
    Some(match name {
        "@authority" => match url.port() {
            Some(p) => format!("{}:{p}", url.host_str()?),
            None => url.host_str()?.to_string(),
        },
        "@path" => url.path().to_string(),
        "@query" => format!("?{}", url.query().unwrap_or("")),
        "@scheme" => url.scheme().to_string(),
        _ => return None,
    })
}

/// A signature parameter value (the RFC 8941 bare items Signature-Input uses).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Param {
    Integer(i64),
    String(String),
    Token(String),
    Boolean(bool),
}

fn serialize(components: &[String], params: &[(String, Param)]) -> String {
    let names: Vec<String> = components.iter().map(|c| format!("\"{c}\"")).collect();
    let mut out = format!("({})", names.join(" "));
    for (name, value) in params {
        match value {
            Param::Integer(i) => out.push_str(&format!(";{name}={i}")),
            Param::String(s) => out.push_str(&format!(
                ";{name}=\"{}\"",
                s.replace('\\', "\\\\").replace('"', "\\\"")
            )),
            Param::Token(t) => out.push_str(&format!(";{name}={t}")),
            Param::Boolean(true) => out.push_str(&format!(";{name}")),
            Param::Boolean(false) => out.push_str(&format!(";{name}=?0")),
        }
    }
    out
}

/// A tiny RFC 8941 reader for the one shape `Signature-Input` members have: an inner list of
/// strings followed by parameters.
struct Cursor<'a> {
    s: &'a str,
    mode: SignatureMode,
}

impl Cursor<'_> {
    fn err(&self, reason: &str) -> SignatureError {
        malformed("Signature-Input", reason)
    }

    fn inner_list(&mut self) -> Result<Vec<String>, SignatureError> {
        self.s = self
            .s
            .strip_prefix('(')
            .ok_or_else(|| self.err("expected ( starting the covered components"))?;
        let mut items = Vec::new();
        loop {
            self.s = self.s.trim_start_matches(' ');
            if let Some(rest) = self.s.strip_prefix(')') {
                self.s = rest;
                return Ok(items);
            }
            if self.s.starts_with('"') {
                items.push(self.string()?);
            } else if self.mode == SignatureMode::Lenient {
                let end = self
                    .s
                    .find([' ', ')'])
                    .ok_or_else(|| self.err("unterminated component list"))?;
                items.push(self.s[..end].to_string());
                self.s = &self.s[end..];
            } else {
                return Err(self.err("component names must be quoted strings"));
            }
            if !(self.s.starts_with(' ') || self.s.starts_with(')')) {
                return Err(self.err("expected space or ) after a component"));
            }
        }
    }

    fn string(&mut self) -> Result<String, SignatureError> {
        let mut out = String::new();
        let mut chars = self.s.char_indices().skip(1);
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.s = &self.s[i + 1..];
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, e @ ('"' | '\\'))) => out.push(e),
                    _ => return Err(self.err("bad escape in string")),
                },
                c if (' '..='~').contains(&c) => out.push(c),
                _ => return Err(self.err("bad character in string")),
            }
        }
        Err(self.err("unterminated string"))
    }

    fn params(&mut self) -> Result<Vec<(String, Param)>, SignatureError> {
        let mut params = Vec::new();
        while let Some(rest) = self.s.strip_prefix(';') {
            self.s = rest.trim_start_matches(' ');
            let end = self
                .s
                .find(|c: char| {
                    !(c.is_ascii_lowercase() || c.is_ascii_digit() || "_-.*".contains(c))
                })
                .unwrap_or(self.s.len());
            if end == 0 {
                return Err(self.err("empty parameter name"));
            }
            let name = self.s[..end].to_string();
            self.s = &self.s[end..];
            let value = match self.s.strip_prefix('=') {
                None => Param::Boolean(true),
                Some(rest) => {
                    self.s = rest;
                    self.bare_item()?
                }
            };
            params.push((name, value));
        }
        Ok(params)
    }

    fn bare_item(&mut self) -> Result<Param, SignatureError> {
        if self.s.starts_with('"') {
            return Ok(Param::String(self.string()?));
        }
        if let Some(rest) = self.s.strip_prefix("?1") {
            self.s = rest;
            return Ok(Param::Boolean(true));
        }
        if let Some(rest) = self.s.strip_prefix("?0") {
            self.s = rest;
            return Ok(Param::Boolean(false));
        }
        let end = self.s.find([';', ',', ' ']).unwrap_or(self.s.len());
        let raw = &self.s[..end];
        self.s = &self.s[end..];
        if raw.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
            raw.parse()
                .map(Param::Integer)
                .map_err(|_| self.err("bad integer"))
        } else if raw.starts_with(|c: char| c.is_ascii_alphabetic() || c == '*') {
            Ok(Param::Token(raw.to_string()))
        } else {
            Err(self.err("bad parameter value"))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used)]
    use super::*;
    use crate::signing::{ClientKey, RequestToSign};

    fn signed(key: &ClientKey, body: &[u8]) -> (HeaderMap, String) {
        let url = "http://127.0.0.1:9/op/incoming-payments";
        let h = key.sign(&RequestToSign {
            method: "POST",
            url,
            authorization: Some("GNAP t"),
            body: Some(body),
            content_type: None,
        });
        let mut headers = HeaderMap::new();
        headers.insert("signature", h.signature.parse().unwrap());
        headers.insert("signature-input", h.signature_input.parse().unwrap());
        headers.insert("authorization", "GNAP t".parse().unwrap());
        headers.insert("content-type", "application/json".parse().unwrap());
        headers.insert("content-length", body.len().to_string().parse().unwrap());
        headers.insert("content-digest", h.content_digest.unwrap().parse().unwrap());
        (headers, url.to_string())
    }

    #[test]
    fn a_signature_of_ours_verifies_in_both_modes() {
        let key = ClientKey::generate("k");
        let (headers, url) = signed(&key, b"{\"a\":1}");
        for mode in [SignatureMode::Rfc9421, SignatureMode::Lenient] {
            let parsed = parse(&headers, mode).unwrap();
            let req = ReceivedRequest {
                method: "POST",
                target_uri: &url,
                headers: &headers,
                body: b"{\"a\":1}",
            };
            verify(&parsed, &req, &[key.public_jwk()]).unwrap();
        }
    }

    #[test]
    fn a_changed_body_fails_the_digest() {
        let key = ClientKey::generate("k");
        let (headers, url) = signed(&key, b"{\"a\":1}");
        let parsed = parse(&headers, SignatureMode::Rfc9421).unwrap();
        let req = ReceivedRequest {
            method: "POST",
            target_uri: &url,
            headers: &headers,
            body: b"{\"a\":2}",
        };
        assert_eq!(
            verify(&parsed, &req, &[key.public_jwk()]),
            Err(SignatureError::DigestMismatch)
        );
    }

    #[test]
    fn another_key_with_the_same_kid_does_not_verify() {
        let key = ClientKey::generate("k");
        let (headers, url) = signed(&key, b"{}");
        let parsed = parse(&headers, SignatureMode::Rfc9421).unwrap();
        let req = ReceivedRequest {
            method: "POST",
            target_uri: &url,
            headers: &headers,
            body: b"{}",
        };
        let other = ClientKey::generate("k");
        assert_eq!(
            verify(&parsed, &req, &[other.public_jwk()]),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn the_open_payments_crate_dialect_is_refused_strictly_and_accepted_leniently() {
        // What open-payments 0.2 sends: unquoted names, a bare base64 signature, and the
        // @signature-params line written the same unquoted way.
        let key = ClientKey::generate("k");
        let url = "http://127.0.0.1:9/op/quotes/1";
        let params = "(@method @target-uri content-type);created=1;keyid=\"k\"";
        let base = signature_base(
            [
                ("@method", "GET"),
                ("@target-uri", url),
                ("content-type", "application/json"),
            ],
            params,
        );
        let sig = ed25519_dalek::Signer::sign(
            &ed25519_dalek::SigningKey::from_bytes(&[3; 32]),
            base.as_bytes(),
        );
        let key3 = ClientKey::from_seed("k", [3; 32]);
        let mut headers = HeaderMap::new();
        headers.insert(
            "signature",
            STANDARD.encode(sig.to_bytes()).parse().unwrap(),
        );
        headers.insert("signature-input", format!("sig1={params}").parse().unwrap());
        headers.insert("content-type", "application/json".parse().unwrap());
        assert!(parse(&headers, SignatureMode::Rfc9421).is_err());
        let parsed = parse(&headers, SignatureMode::Lenient).unwrap();
        let req = ReceivedRequest {
            method: "GET",
            target_uri: url,
            headers: &headers,
            body: b"",
        };
        verify(&parsed, &req, &[key3.public_jwk()]).unwrap();
        assert!(verify(&parsed, &req, &[key.public_jwk()]).is_err());
    }

    #[test]
    fn authorization_must_be_covered_when_present() {
        let key = ClientKey::generate("k");
        let url = "http://127.0.0.1:9/op/quotes/1";
        let h = key.sign(&RequestToSign {
            method: "GET",
            url,
            authorization: None,
            body: None,
            content_type: None,
        });
        let mut headers = HeaderMap::new();
        headers.insert("signature", h.signature.parse().unwrap());
        headers.insert("signature-input", h.signature_input.parse().unwrap());
        headers.insert("authorization", "GNAP sneaky".parse().unwrap());
        let parsed = parse(&headers, SignatureMode::Rfc9421).unwrap();
        let req = ReceivedRequest {
            method: "GET",
            target_uri: url,
            headers: &headers,
            body: b"",
        };
        assert_eq!(
            verify(&parsed, &req, &[key.public_jwk()]),
            Err(SignatureError::NotCovered("authorization"))
        );
    }
}
