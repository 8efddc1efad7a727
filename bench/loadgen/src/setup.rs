//! Getting a BookMyGig server ready to be measured, through its REST API as a creator would:
//! sign up, top up for the listing fee, list a gig that starts in five minutes (inside the
//! publish window), and once it is live, ask for a playback URL that every viewer shares.
//!
//! Bodies are `serde_json::Value`s so the load generator does not move with every change of
//! the wire types it does not measure.

use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::publish::RtmpTarget;

/// $1,000 in micro-USD: more than the default $99 listing fee.
const TOP_UP: u64 = 1_000_000_000;

/// A creator session on a BookMyGig server, with the gig being benchmarked.
pub struct BookMyGig {
    http: reqwest::Client,
    base: String,
    token: String,
    /// The gig's id.
    pub gig_id: String,
    /// Where to publish it.
    pub rtmp: RtmpTarget,
}

impl BookMyGig {
    /// Signs up a creator with a random handle and lists a gig.
    ///
    /// # Errors
    /// When any call fails.
    pub async fn prepare(base: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        let base = base.trim_end_matches('/').to_owned();
        let handle = format!("bench_{:016x}", rand::random::<u64>());
        let signed_up = call(
            &http,
            &base,
            None,
            Method::POST,
            "/accounts",
            json!({
                "handle": handle,
                "display_name": "Benchmark Creator",
                "password": "bench-password-123",
            }),
            None,
        )
        .await?;
        let token = text(&signed_up, "token")?;
        call(
            &http,
            &base,
            Some(&token),
            Method::POST,
            "/wallet/topups",
            json!({ "amount": TOP_UP }),
            None,
        )
        .await?;
        let now = OffsetDateTime::now_utc();
        let starts_at = (now + time::Duration::minutes(5)).format(&Rfc3339)?;
        let ends_at = (now + time::Duration::minutes(125)).format(&Rfc3339)?;
        let gig = call(
            &http,
            &base,
            Some(&token),
            Method::POST,
            "/gigs",
            json!({
                "creator_name": "Benchmark Creator",
                "title": "HTTP-FLV fan-out benchmark",
                "description": "Published by bookmygig-loadgen.",
                "category": "music",
                "price": 1_000_000,
                "starts_at": starts_at,
                "ends_at": ends_at,
                "capacity": null,
                "payment_pointer": "$wallet.example/bench",
            }),
            None,
        )
        .await?;
        let rtmp_url = text(&gig, "rtmp_url")?;
        let stream_key = text(&gig, "stream_key")?;
        let mut rtmp = RtmpTarget::parse(&format!("{rtmp_url}/{stream_key}"))
            .with_context(|| format!("the gig's rtmp_url `{rtmp_url}`"))?;
        rtmp.stream_key = stream_key;
        Ok(Self {
            gig_id: text(&gig, "id")?,
            http,
            base,
            token,
            rtmp,
        })
    }

    /// A playback URL for the gig over `protocol` (the creator may watch without a ticket).
    ///
    /// # Errors
    /// When the call fails.
    pub async fn playback_url(&self, protocol: Protocol) -> anyhow::Result<String> {
        let playback = call(
            &self.http,
            &self.base,
            Some(&self.token),
            Method::POST,
            &format!("/gigs/{}/playback", self.gig_id),
            Value::Null,
            None,
        )
        .await?;
        match protocol {
            Protocol::Flv => text(&playback, "flv_url"),
            Protocol::Rtmp => text(&playback, "rtmp_url"),
        }
    }
}

/// How viewers play a BookMyGig stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// `GET /live/{gig}.flv`.
    Flv,
    /// `rtmp://HOST/live/{gig}?token=…`.
    Rtmp,
}

/// `METHOD /api/v1{path}` with an optional JSON body and `Idempotency-Key`; the answer's JSON.
pub(crate) async fn call(
    http: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Value,
    idempotency_key: Option<&str>,
) -> anyhow::Result<Value> {
    let mut request = http.request(method.clone(), format!("{base}/api/v1{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(key) = idempotency_key {
        request = request.header("Idempotency-Key", key);
    }
    if !body.is_null() {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("{method} {path}"))?;
    let status = response.status();
    let answer = response.text().await.unwrap_or_default();
    if !status.is_success() {
        bail!("{method} {path} answered {status}: {answer}");
    }
    serde_json::from_str(&answer).with_context(|| format!("{method} {path}: not JSON"))
}

pub(crate) fn text(value: &Value, field: &str) -> anyhow::Result<String> {
    value
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("the answer has no `{field}`"))
}
