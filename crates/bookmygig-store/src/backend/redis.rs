//! Redis backend: every server process of a deployment shares one Redis.
//!
//! Each compound step of the [`Store`] contract is one Lua script (`redis/*.lua`, loaded with
//! EVALSHA and re-sent when the server does not know it), so it runs atomically however many
//! servers call it at once; plain reads are single commands or pipelines. Durability is Redis's
//! own (`appendonly yes` with `appendfsync always` loses nothing acknowledged).
//!
//! Scripts build key names from the prefix, so this backend wants one Redis (or a primary with
//! replicas), not Redis Cluster. Key layout, every key starting with the prefix (`bmg:`):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `account:{id}` | string | [`AccountRecord`] JSON |
//! | `handle:{handle}` | string | account id |
//! | `session:{hex hash}` | string | [`SessionRecord`] JSON, expiring at `expires_at` |
//! | `sessions:{account}` | zset | the account's session hashes (hex) scored by expiry (unix s); expires with the last |
//! | `gig:{id}` | hash | a gig: its details as JSON, and the fields scripts use |
//! | `gigs:by_start` | zset | gig ids scored by start (unix µs); ties in id order |
//! | `gigs:creator:{id}` | zset | a creator's gig ids, score 0, so in id (creation) order |
//! | `streamkey:{hex hash}` | string | gig id |
//! | `ticket:{id}` | hash | a ticket, with its creator share and commission |
//! | `holder:{account}:{gig}` | string | ticket id |
//! | `tickets:holder:{account}` | zset | ticket ids, score 0 (id order) |
//! | `tickets:gig:{gig}` | zset | ticket ids, score 0 (id order) |
//! | `idem:{owner}:{key}` | string | JSON: `{gig_id, ticket_id}` or `{entries}`, expiring after [`crate::IDEMPOTENCY_TTL`] |
//! | `balances` | hash | ledger account → balance (micro-USD) |
//! | `ledger:seq` | string | the last entry sequence number |
//! | `entries:{ledger account}` | zset | [`EntryRecord`] JSON scored by `seq` |
//! | `chat:{gig}` | zset | message ids, score 0 (id order: UUIDv7, so sending order) |
//! | `chatmsg:{gig}` | hash | message id → [`ChatRecord`] JSON |
//! | `chatbans:{gig}` | set | ids of the accounts banned from the gig's chat |
//! | `payment:{id}` | hash | a payment: `json` ([`PaymentRecord`] JSON), `version`, `kind`, `final` (`1` or `0`) |
//! | `paykey:{owner}:{key}` | string | the payment id an idempotency key names (no TTL: it lives as long as the payment) |
//! | `payments:{owner}:{kind}` | zset | an owner's payment ids of one kind, score 0 (id order: UUIDv7, so creation order) |
//! | `payments:unfinished` | zset | ids of the payments not in a final state, scored by next attempt (unix µs) |
//! | `setting:{name}` | hash | a platform setting: `json` (its value as JSON), `version`, `updated_at` (RFC 3339) |

use std::collections::HashMap;
use std::sync::LazyLock;

use async_trait::async_trait;
use bookmygig_api::{
    AccountId, EntryKind, GigId, MessageId, Money, Ticket, TicketStatus, TransactionId,
};
use redis::aio::ConnectionManager;
use redis::{Script, Value};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use time::format_description::well_known::Rfc3339;

use crate::query::unix_micros;
use crate::setting::{check_setting_name, encode_setting_value, next_setting_version};
use crate::{
    AccountRecord, Cancellation, ChatRecord, EntryRecord, GigCursor, GigDetails, GigQuery,
    GigRecord, GigState, LedgerAccount, PaymentKind, PaymentRecord, Purchase, PurchaseOutcome,
    Purged, SessionRecord, SettingRecord, Store, StoreError, StoreResult, TokenHash, Transaction,
};

/// Key prefix used by [`RedisStore::connect`].
pub const DEFAULT_PREFIX: &str = "bmg:";

/// How long one command may take to answer before it counts as failed.
const RESPONSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// How long connecting may take.
const CONNECTION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// How often a read-modify-write of an account is retried when another writer got there first.
const CAS_ATTEMPTS: usize = 8;

/// How many gig ids one catalogue round trip reads.
const SCAN_BATCH: usize = 200;

/// Builds a script from the shared prelude, the ledger's rules (`ledger/ledger.lua`) and one
/// file of `redis/`.
macro_rules! script {
    ($file:literal) => {
        LazyLock::new(|| {
            Script::new(concat!(
                include_str!("redis/prelude.lua"),
                include_str!("../ledger/ledger.lua"),
                include_str!($file)
            ))
        })
    };
}

static CREATE_ACCOUNT: LazyLock<Script> = script!("redis/create_account.lua");
static CREATE_SESSION: LazyLock<Script> = script!("redis/create_session.lua");
static DELETE_SESSION: LazyLock<Script> = script!("redis/delete_session.lua");
static DELETE_SESSIONS_OF: LazyLock<Script> = script!("redis/delete_sessions_of.lua");
static CHANGE_PASSWORD: LazyLock<Script> = script!("redis/change_password.lua");
static CREATE_GIG: LazyLock<Script> = script!("redis/create_gig.lua");
static UPDATE_GIG: LazyLock<Script> = script!("redis/update_gig.lua");
static ROTATE_STREAM_KEY: LazyLock<Script> = script!("redis/rotate_stream_key.lua");
static SET_GIG_STATE: LazyLock<Script> = script!("redis/set_gig_state.lua");
static CANCEL_GIG: LazyLock<Script> = script!("redis/cancel_gig.lua");
static PURCHASE: LazyLock<Script> = script!("redis/purchase.lua");
static POST: LazyLock<Script> = script!("redis/post.lua");
static APPEND_CHAT: LazyLock<Script> = script!("redis/append_chat.lua");
static CHAT_HISTORY: LazyLock<Script> = script!("redis/chat_history.lua");
static DELETE_CHAT: LazyLock<Script> = script!("redis/delete_chat.lua");
static CREATE_PAYMENT: LazyLock<Script> = script!("redis/create_payment.lua");
static UPDATE_PAYMENT: LazyLock<Script> = script!("redis/update_payment.lua");
static UNFINISHED_PAYMENTS: LazyLock<Script> = script!("redis/unfinished_payments.lua");
static PUT_SETTING: LazyLock<Script> = script!("redis/put_setting.lua");
static DELETE_SETTING: LazyLock<Script> = script!("redis/delete_setting.lua");

/// The [`Store`] on a Redis server. Cheap to clone: clones share one reconnecting connection.
#[derive(Clone)]
pub struct RedisStore {
    /// Multiplexed and reconnecting; cloned per call.
    conn: ConnectionManager,
    /// Starts every key, so several deployments (or tests) can share one Redis.
    prefix: String,
}

impl RedisStore {
    /// Connects to `url` (`redis://…`, `rediss://…` or `redis+unix://…`) with the default key
    /// prefix `bmg:` and checks the server answers.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the URL is invalid or the server cannot be reached. The
    /// message never contains the URL, which may hold a password.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with_prefix(url, DEFAULT_PREFIX).await
    }

    /// Like [`RedisStore::connect`], with every key starting with `prefix`.
    ///
    /// # Errors
    /// As [`RedisStore::connect`].
    pub async fn connect_with_prefix(url: &str, prefix: &str) -> StoreResult<Self> {
        let client = redis::Client::open(url)
            .map_err(|e| StoreError::Backend(format!("invalid Redis URL: {:?}", e.kind())))?;
        // redis-rs gives up on an answer after 500 ms by default; a busy host can take longer,
        // and a timed-out money step leaves the caller unsure whether it ran.
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECTION_TIMEOUT));
        let mut conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| StoreError::Backend(format!("cannot connect to Redis: {e}")))?;
        let _: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(|e| StoreError::Backend(format!("Redis does not answer PING: {e}")))?;
        Ok(RedisStore {
            conn,
            prefix: prefix.to_owned(),
        })
    }

    /// The full name of a key without an id, such as `balances`.
    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The full name of a key with an id, such as `gig:{id}`: `kind` ends with its colon.
    fn key_of(&self, kind: &str, id: impl std::fmt::Display) -> String {
        format!("{}{kind}{id}", self.prefix)
    }

    /// Runs one command.
    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> StoreResult<T> {
        cmd.query_async(&mut self.conn.clone())
            .await
            .map_err(StoreError::backend)
    }

    /// Runs a script with the prefix as `ARGV[1]` and `args` after it.
    async fn run(&self, script: &Script, args: Args) -> StoreResult<Reply> {
        let mut invocation = script.prepare_invoke();
        invocation.arg(&self.prefix);
        for arg in args.0 {
            invocation.arg(arg);
        }
        let values: Vec<Value> = invocation
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(StoreError::backend)?;
        Reply::parse(values)
    }

    /// Runs a script that answers `ok` with a gig.
    async fn run_for_gig(&self, script: &Script, args: Args) -> StoreResult<GigRecord> {
        let reply = self.run(script, args).await?;
        match reply.status.as_str() {
            "ok" => gig_from_fields(&reply.fields(0)?),
            _ => Err(reply.into_error()),
        }
    }

    /// Loads gigs by id in one round trip, skipping any that vanished.
    async fn load_gigs(&self, ids: &[String]) -> StoreResult<Vec<GigRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new()); // Redis refuses an empty pipeline.
        }
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.cmd("HGETALL").arg(self.key_of("gig:", id));
        }
        let all: Vec<HashMap<String, String>> = pipe
            .query_async(&mut self.conn.clone())
            .await
            .map_err(StoreError::backend)?;
        all.iter()
            .filter(|fields| !fields.is_empty())
            .map(gig_from_fields)
            .collect()
    }

    /// Loads tickets by id in one round trip.
    async fn load_tickets(&self, ids: &[String]) -> StoreResult<Vec<Ticket>> {
        if ids.is_empty() {
            return Ok(Vec::new()); // Redis refuses an empty pipeline.
        }
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.cmd("HGETALL").arg(self.key_of("ticket:", id));
        }
        let all: Vec<HashMap<String, String>> = pipe
            .query_async(&mut self.conn.clone())
            .await
            .map_err(StoreError::backend)?;
        all.iter().map(ticket_from_fields).collect()
    }

    /// Loads payments by id in one round trip, skipping any that vanished.
    async fn load_payments(&self, ids: &[String]) -> StoreResult<Vec<PaymentRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new()); // Redis refuses an empty pipeline.
        }
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.cmd("HGET")
                .arg(self.key_of("payment:", id))
                .arg("json");
        }
        let all: Vec<Option<String>> = pipe
            .query_async(&mut self.conn.clone())
            .await
            .map_err(StoreError::backend)?;
        all.iter().flatten().map(|json| decode(json)).collect()
    }

    /// The members of a zset, in index order or reversed.
    async fn members(&self, key: String, reverse: bool) -> StoreResult<Vec<String>> {
        let command = if reverse { "ZREVRANGE" } else { "ZRANGE" };
        self.query(redis::cmd(command).arg(key).arg(0).arg(-1))
            .await
    }
}

/// String arguments of a script, after the prefix.
#[derive(Default)]
struct Args(Vec<String>);

impl Args {
    fn push(mut self, arg: impl ToString) -> Self {
        self.0.push(arg.to_string());
        self
    }

    /// A count of field/value arguments, then the arguments.
    fn counted(mut self, fields: Vec<String>) -> Self {
        self.0.push(fields.len().to_string());
        self.0.extend(fields);
        self
    }

    /// The transaction's postings as (ledger account, amount) pairs.
    fn postings(mut self, transaction: &Transaction) -> Self {
        for posting in &transaction.postings {
            self.0.push(posting.account.to_string());
            self.0.push(posting.amount.0.to_string());
        }
        self
    }
}

/// A script's answer: `ok`, `replayed` or the name of a refusal, then its payload.
struct Reply {
    status: String,
    payload: Vec<Value>,
}

impl Reply {
    /// An `ok` reply whose payload is a list of JSON records, decoded; any other status is its
    /// error.
    fn into_records<T: serde::de::DeserializeOwned>(self) -> StoreResult<Vec<T>> {
        if self.status != "ok" {
            return Err(self.into_error());
        }
        let value = self.payload.first().ok_or_else(|| missing(&self.status))?;
        let records: Vec<String> =
            redis::from_redis_value_ref(value).map_err(StoreError::backend)?;
        records.iter().map(|json| decode(json)).collect()
    }

    fn parse(mut values: Vec<Value>) -> StoreResult<Self> {
        if values.is_empty() {
            return Err(StoreError::backend("empty script reply"));
        }
        let status = redis::from_redis_value(values.remove(0)).map_err(StoreError::backend)?;
        Ok(Reply {
            status,
            payload: values,
        })
    }

    fn text(&self, index: usize) -> StoreResult<String> {
        let value = self
            .payload
            .get(index)
            .ok_or_else(|| missing(&self.status))?;
        redis::from_redis_value_ref(value).map_err(StoreError::backend)
    }

    fn int<T: std::str::FromStr>(&self, index: usize) -> StoreResult<T> {
        self.text(index)?
            .parse()
            .map_err(|_| StoreError::Backend(format!("bad number in `{}` reply", self.status)))
    }

    /// A hash (HGETALL) in the payload.
    fn fields(&self, index: usize) -> StoreResult<HashMap<String, String>> {
        let value = self
            .payload
            .get(index)
            .ok_or_else(|| missing(&self.status))?;
        redis::from_redis_value_ref(value).map_err(StoreError::backend)
    }

    /// The refusal this reply stands for.
    fn into_error(self) -> StoreError {
        let refusal = match self.status.as_str() {
            "handle_taken" => Ok(StoreError::HandleTaken),
            "account_not_found" => Ok(StoreError::AccountNotFound),
            "gig_not_found" => Ok(StoreError::GigNotFound),
            "gig_closed" => Ok(StoreError::GigClosed),
            "sold_out" => Ok(StoreError::SoldOut),
            "own_gig" => Ok(StoreError::OwnGig),
            "idempotency_key_reused" => Ok(StoreError::IdempotencyKeyReused),
            "payment_conflict" => Ok(StoreError::PaymentConflict),
            "setting_conflict" => Ok(StoreError::SettingConflict),
            "already_holder" => self
                .fields(0)
                .and_then(|f| ticket_from_fields(&f))
                .map(|ticket| StoreError::AlreadyHolder(Box::new(ticket))),
            "insufficient_funds" => self.int(0).and_then(|balance| {
                let needed = self.int(1)?;
                Ok(StoreError::InsufficientFunds {
                    balance: Money(balance),
                    needed: Money(needed),
                })
            }),
            "capacity_below_sold" => self
                .int(0)
                .map(|sold| StoreError::CapacityBelowSold { sold }),
            other => Err(StoreError::Backend(format!(
                "unexpected script reply `{other}`"
            ))),
        };
        refusal.unwrap_or_else(|e| e)
    }
}

fn missing(status: &str) -> StoreError {
    StoreError::Backend(format!("`{status}` reply without its payload"))
}

/// The fields every entry of one transaction shares, as the JSON object a script extends with
/// `seq`, `amount`, `balance_after` (and `memo` when the script writes it).
#[derive(Serialize)]
struct EntryHead<'a> {
    transaction_id: TransactionId,
    kind: EntryKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    memo: Option<&'a str>,
    gig_id: Option<GigId>,
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
}

impl EntryHead<'_> {
    fn json(&self) -> StoreResult<String> {
        serde_json::to_string(self).map_err(StoreError::backend)
    }
}

fn head_of(transaction: &Transaction) -> StoreResult<String> {
    EntryHead {
        transaction_id: transaction.id,
        kind: transaction.kind,
        memo: Some(&transaction.memo),
        gig_id: transaction.gig_id,
        at: transaction.at,
    }
    .json()
}

/// What an idempotency key remembers, as `post.lua` reads it back.
#[derive(Deserialize)]
#[serde(untagged)]
enum Remembered {
    /// The entries of the first booking.
    Post { entries: Vec<EntryRecord> },
    /// A purchase's `{gig_id, ticket_id}`, which only `purchase.lua` reads.
    Purchase(serde::de::IgnoredAny),
}

/// The hash fields of a new gig, as field/value pairs. The details are kept as their Rust JSON,
/// which Lua never re-encodes; the values scripts read or change are fields of their own.
fn gig_fields(gig: &GigRecord) -> StoreResult<Vec<String>> {
    let mut fields = vec![
        "id".to_owned(),
        gig.id.to_string(),
        "creator".to_owned(),
        gig.creator_id.to_string(),
        "created_at".to_owned(),
        rfc3339(gig.created_at)?,
        "stream_key".to_owned(),
        gig.stream_key.clone(),
        "stream_key_hash".to_owned(),
        gig.stream_key_hash.to_hex(),
        "sold".to_owned(),
        gig.tickets_sold.to_string(),
        "state".to_owned(),
        gig.state.as_str().to_owned(),
    ];
    fields.extend(detail_fields(&gig.details)?);
    Ok(fields)
}

/// The fields `update_gig` replaces. `capacity` is -1 for unlimited; the end is split into
/// seconds and nanoseconds so Lua compares it exactly.
fn detail_fields(details: &GigDetails) -> StoreResult<Vec<String>> {
    let pairs = [
        (
            "details",
            serde_json::to_string(details).map_err(StoreError::backend)?,
        ),
        ("title", details.title.clone()),
        ("price", details.price.0.to_string()),
        (
            "capacity",
            details.capacity.map_or(-1, i64::from).to_string(),
        ),
        ("starts_at_us", unix_micros(details.starts_at).to_string()),
        ("ends_at_s", details.ends_at.unix_timestamp().to_string()),
        ("ends_at_ns", details.ends_at.nanosecond().to_string()),
    ];
    Ok(pairs
        .into_iter()
        .flat_map(|(k, v)| [k.to_owned(), v])
        .collect())
}

fn gig_from_fields(fields: &HashMap<String, String>) -> StoreResult<GigRecord> {
    let state = field(fields, "state")?;
    Ok(GigRecord {
        id: parse(fields, "id")?,
        creator_id: parse(fields, "creator")?,
        details: serde_json::from_str(field(fields, "details")?).map_err(StoreError::backend)?,
        stream_key: field(fields, "stream_key")?.to_owned(),
        stream_key_hash: token_hash_from_hex(field(fields, "stream_key_hash")?)?,
        created_at: parse_time(field(fields, "created_at")?)?,
        tickets_sold: parse(fields, "sold")?,
        state: GigState::parse(state)
            .ok_or_else(|| StoreError::Backend(format!("unknown gig state `{state}`")))?,
    })
}

fn ticket_from_fields(fields: &HashMap<String, String>) -> StoreResult<Ticket> {
    let status = match field(fields, "status")? {
        "valid" => TicketStatus::Valid,
        "refunded" => TicketStatus::Refunded,
        other => {
            return Err(StoreError::Backend(format!(
                "unknown ticket status `{other}`"
            )));
        }
    };
    Ok(Ticket {
        id: parse(fields, "id")?,
        gig_id: parse(fields, "gig_id")?,
        holder_id: parse(fields, "holder_id")?,
        price: Money(parse(fields, "price")?),
        purchased_at: parse_time(field(fields, "purchased_at")?)?,
        status,
    })
}

fn field<'a>(fields: &'a HashMap<String, String>, name: &str) -> StoreResult<&'a str> {
    fields
        .get(name)
        .map(String::as_str)
        .ok_or_else(|| StoreError::Backend(format!("stored record lacks `{name}`")))
}

fn parse<T: std::str::FromStr>(fields: &HashMap<String, String>, name: &str) -> StoreResult<T> {
    field(fields, name)?
        .parse()
        .map_err(|_| StoreError::Backend(format!("stored record has a bad `{name}`")))
}

fn rfc3339(at: OffsetDateTime) -> StoreResult<String> {
    at.format(&Rfc3339).map_err(StoreError::backend)
}

fn parse_time(text: &str) -> StoreResult<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(StoreError::backend)
}

fn token_hash_from_hex(hex: &str) -> StoreResult<TokenHash> {
    let bad = || StoreError::Backend("stored stream key hash is not 64 hex digits".to_owned());
    if hex.len() != 64 {
        return Err(bad());
    }
    let mut hash = [0u8; 32];
    for (i, byte) in hash.iter_mut().enumerate() {
        let digits = hex.get(2 * i..2 * i + 2).ok_or_else(bad)?;
        *byte = u8::from_str_radix(digits, 16).map_err(|_| bad())?;
    }
    Ok(TokenHash(hash))
}

/// The arguments a payment script takes after its own: the record as JSON, whether its state
/// is final, its next attempt (unix µs), then the booking's entry head and postings (an empty
/// head and none without a booking).
fn payment_args(
    args: Args,
    record: &PaymentRecord,
    booking: Option<&Transaction>,
) -> StoreResult<Args> {
    let args = args
        .push(encode(record)?)
        .push(if record.state.is_final() { "1" } else { "0" })
        .push(unix_micros(record.next_attempt_at))
        .push(booking.map(head_of).transpose()?.unwrap_or_default());
    Ok(match booking {
        Some(booking) => args.postings(booking),
        None => args,
    })
}

/// The last index of a ZRANGE that reads `limit` (at least 1) members.
fn last_index(limit: usize) -> i64 {
    i64::try_from(limit.saturating_sub(1)).unwrap_or(i64::MAX)
}

fn decode<T: serde::de::DeserializeOwned>(json: &str) -> StoreResult<T> {
    serde_json::from_str(json).map_err(StoreError::backend)
}

fn encode<T: Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(StoreError::backend)
}

#[async_trait]
impl Store for RedisStore {
    fn backend_name(&self) -> &'static str {
        "redis"
    }

    async fn create_account(&self, account: &AccountRecord) -> StoreResult<()> {
        let args = Args::default()
            .push(account.id)
            .push(&account.handle)
            .push(encode(account)?);
        let reply = self.run(&CREATE_ACCOUNT, args).await?;
        match reply.status.as_str() {
            "ok" => Ok(()),
            _ => Err(reply.into_error()),
        }
    }

    async fn account(&self, id: AccountId) -> StoreResult<Option<AccountRecord>> {
        let json: Option<String> = self
            .query(redis::cmd("GET").arg(self.key_of("account:", id)))
            .await?;
        json.as_deref().map(decode).transpose()
    }

    async fn account_by_handle(&self, handle: &str) -> StoreResult<Option<AccountRecord>> {
        let id: Option<String> = self
            .query(redis::cmd("GET").arg(self.key_of("handle:", handle)))
            .await?;
        match id {
            Some(id) => {
                let id = id.parse().map_err(StoreError::backend)?;
                self.account(id).await
            }
            None => Ok(None),
        }
    }

    async fn create_session(&self, session: &SessionRecord) -> StoreResult<()> {
        // EXAT takes whole seconds: round up so the key never vanishes before `expires_at`
        // (reads check the exact instant), and stay positive, which EXAT requires.
        let expires = session.expires_at;
        let exat = expires.unix_timestamp() + i64::from(expires.nanosecond() > 0);
        let args = Args::default()
            .push(session.token_hash.to_hex())
            .push(session.account_id)
            .push(encode(session)?)
            .push(exat.max(1))
            .push(OffsetDateTime::now_utc().unix_timestamp());
        let reply = self.run(&CREATE_SESSION, args).await?;
        match reply.status.as_str() {
            "ok" => Ok(()),
            _ => Err(reply.into_error()),
        }
    }

    async fn session(
        &self,
        token_hash: &TokenHash,
        now: OffsetDateTime,
    ) -> StoreResult<Option<SessionRecord>> {
        let key = self.key_of("session:", token_hash.to_hex());
        let json: Option<String> = self.query(redis::cmd("GET").arg(key)).await?;
        let session: Option<SessionRecord> = json.as_deref().map(decode).transpose()?;
        Ok(session.filter(|s| s.expires_at > now))
    }

    async fn delete_session(&self, token_hash: &TokenHash) -> StoreResult<()> {
        let args = Args::default().push(token_hash.to_hex());
        let reply = self.run(&DELETE_SESSION, args).await?;
        match reply.status.as_str() {
            "ok" => Ok(()),
            _ => Err(reply.into_error()),
        }
    }

    async fn delete_sessions_of(&self, account: AccountId) -> StoreResult<usize> {
        let reply = self
            .run(&DELETE_SESSIONS_OF, Args::default().push(account))
            .await?;
        match reply.status.as_str() {
            "ok" => reply.int(0),
            _ => Err(reply.into_error()),
        }
    }

    async fn change_password(
        &self,
        account: AccountId,
        password_hash: &str,
        keep: &TokenHash,
    ) -> StoreResult<usize> {
        // The record is JSON that Lua does not re-encode: read it, change it here, and let the
        // script write it only if nobody changed it meanwhile (else read again).
        for _ in 0..CAS_ATTEMPTS {
            let read: Option<String> = self
                .query(redis::cmd("GET").arg(self.key_of("account:", account)))
                .await?;
            let read = read.ok_or(StoreError::AccountNotFound)?;
            let mut record: AccountRecord = decode(&read)?;
            record.password_hash = password_hash.to_owned();
            let args = Args::default()
                .push(account)
                .push(&read)
                .push(encode(&record)?)
                .push(keep.to_hex());
            let reply = self.run(&CHANGE_PASSWORD, args).await?;
            match reply.status.as_str() {
                "ok" => return reply.int(0),
                "changed" => continue,
                _ => return Err(reply.into_error()),
            }
        }
        Err(StoreError::backend(
            "the account kept changing while its password was being replaced",
        ))
    }

    async fn purge_expired(&self, _now: OffsetDateTime) -> StoreResult<Purged> {
        // Sessions and idempotency records carry key TTLs, and each account's session index
        // drops expired members whenever a session is added and lapses with its last one.
        Ok(Purged::default())
    }

    async fn create_gig(&self, gig: &GigRecord, listing_fee: &Transaction) -> StoreResult<()> {
        if !listing_fee.is_balanced() {
            return Err(StoreError::Unbalanced);
        }
        let args = Args::default()
            .push(gig.id)
            .push(head_of(listing_fee)?)
            .counted(gig_fields(gig)?)
            .postings(listing_fee);
        let reply = self.run(&CREATE_GIG, args).await?;
        match reply.status.as_str() {
            "ok" => Ok(()),
            _ => Err(reply.into_error()),
        }
    }

    async fn gig(&self, id: GigId) -> StoreResult<Option<GigRecord>> {
        Ok(self.load_gigs(&[id.to_string()]).await?.pop())
    }

    async fn gig_by_stream_key(&self, key_hash: &TokenHash) -> StoreResult<Option<GigRecord>> {
        let key = self.key_of("streamkey:", key_hash.to_hex());
        let id: Option<String> = self.query(redis::cmd("GET").arg(key)).await?;
        match id {
            Some(id) => Ok(self.load_gigs(&[id]).await?.pop()),
            None => Ok(None),
        }
    }

    async fn list_gigs(&self, query: &GigQuery) -> StoreResult<Vec<GigRecord>> {
        let mut found = Vec::new();
        if query.limit == 0 {
            return Ok(found);
        }
        let min = match query.scan_from_us() {
            i64::MIN => "-inf".to_owned(),
            from => from.to_string(),
        };
        // `(N` leaves N out: `to` is not part of the range.
        let max = match query.scan_until_us() {
            Some(until) => format!("({until}"),
            None => "+inf".to_owned(),
        };
        // Batches go by offset; a gig added or moved meanwhile can shift one in or out, so
        // `after` also advances with every gig returned: nothing comes back twice.
        let mut after = query.after;
        let mut offset = 0;
        loop {
            let ids: Vec<String> = self
                .query(
                    redis::cmd("ZRANGE")
                        .arg(self.key("gigs:by_start"))
                        .arg(&min)
                        .arg(&max)
                        .arg("BYSCORE")
                        .arg("LIMIT")
                        .arg(offset)
                        .arg(SCAN_BATCH),
                )
                .await?;
            offset += ids.len();
            for gig in self.load_gigs(&ids).await? {
                if after.is_some_and(|cursor| !cursor.precedes(&gig)) || !query.matches(&gig) {
                    continue;
                }
                after = Some(GigCursor::after(&gig));
                found.push(gig);
                if found.len() >= query.limit {
                    return Ok(found);
                }
            }
            if ids.len() < SCAN_BATCH {
                return Ok(found);
            }
        }
    }

    async fn gigs_by_creator(&self, creator: AccountId) -> StoreResult<Vec<GigRecord>> {
        let ids = self
            .members(self.key_of("gigs:creator:", creator), true)
            .await?;
        self.load_gigs(&ids).await
    }

    async fn update_gig(&self, id: GigId, details: &GigDetails) -> StoreResult<GigRecord> {
        let args = Args::default().push(id).counted(detail_fields(details)?);
        self.run_for_gig(&UPDATE_GIG, args).await
    }

    async fn rotate_stream_key(
        &self,
        id: GigId,
        key: &str,
        key_hash: &TokenHash,
    ) -> StoreResult<GigRecord> {
        let args = Args::default().push(id).push(key).push(key_hash.to_hex());
        self.run_for_gig(&ROTATE_STREAM_KEY, args).await
    }

    async fn set_gig_state(&self, id: GigId, state: GigState) -> StoreResult<GigRecord> {
        let args = Args::default().push(id).push(state.as_str());
        self.run_for_gig(&SET_GIG_STATE, args).await
    }

    async fn cancel_gig(&self, cancellation: &Cancellation) -> StoreResult<GigRecord> {
        let head = EntryHead {
            transaction_id: cancellation.transaction_id,
            kind: EntryKind::Refund,
            memo: None,
            gig_id: Some(cancellation.gig_id),
            at: cancellation.at,
        };
        let args = Args::default().push(cancellation.gig_id).push(head.json()?);
        self.run_for_gig(&CANCEL_GIG, args).await
    }

    async fn purchase_ticket(&self, purchase: &Purchase) -> StoreResult<PurchaseOutcome> {
        let head = EntryHead {
            transaction_id: purchase.transaction_id,
            kind: EntryKind::TicketSale,
            memo: None,
            gig_id: Some(purchase.gig_id),
            at: purchase.at,
        };
        let args = Args::default()
            .push(purchase.ticket_id)
            .push(purchase.gig_id)
            .push(purchase.buyer)
            .push(&purchase.idempotency_key)
            .push(purchase.commission_bps)
            .push(purchase.at.unix_timestamp())
            .push(purchase.at.nanosecond())
            .push(rfc3339(purchase.at)?)
            .push(head.json()?);
        let reply = self.run(&PURCHASE, args).await?;
        let replayed = match reply.status.as_str() {
            "ok" => false,
            "replayed" => true,
            _ => return Err(reply.into_error()),
        };
        let ticket = ticket_from_fields(&reply.fields(0)?)?;
        Ok(PurchaseOutcome { ticket, replayed })
    }

    async fn ticket_for(&self, holder: AccountId, gig: GigId) -> StoreResult<Option<Ticket>> {
        let key = self.key_of("holder:", format!("{holder}:{gig}"));
        let id: Option<String> = self.query(redis::cmd("GET").arg(key)).await?;
        match id {
            Some(id) => Ok(self.load_tickets(&[id]).await?.pop()),
            None => Ok(None),
        }
    }

    async fn tickets_of(&self, holder: AccountId) -> StoreResult<Vec<Ticket>> {
        let ids = self
            .members(self.key_of("tickets:holder:", holder), true)
            .await?;
        self.load_tickets(&ids).await
    }

    async fn tickets_of_gig(&self, gig: GigId) -> StoreResult<Vec<Ticket>> {
        let ids = self
            .members(self.key_of("tickets:gig:", gig), false)
            .await?;
        self.load_tickets(&ids).await
    }

    async fn post(
        &self,
        transaction: &Transaction,
        idempotency: Option<(AccountId, &str)>,
    ) -> StoreResult<Vec<EntryRecord>> {
        if !transaction.is_balanced() {
            return Err(StoreError::Unbalanced);
        }
        let (owner, key) = match idempotency {
            Some((owner, key)) => (owner.to_string(), key),
            None => (String::new(), ""),
        };
        let args = Args::default()
            .push(owner)
            .push(key)
            .push(head_of(transaction)?)
            .postings(transaction);
        let reply = self.run(&POST, args).await?;
        match reply.status.as_str() {
            "ok" => decode(&reply.text(0)?),
            "replayed" => match decode(&reply.text(0)?)? {
                Remembered::Post { entries } => Ok(entries),
                Remembered::Purchase { .. } => Err(StoreError::IdempotencyKeyReused),
            },
            _ => Err(reply.into_error()),
        }
    }

    async fn balance(&self, account: &LedgerAccount) -> StoreResult<Money> {
        let balance: Option<i64> = self
            .query(
                redis::cmd("HGET")
                    .arg(self.key("balances"))
                    .arg(account.to_string()),
            )
            .await?;
        Ok(Money(balance.unwrap_or(0)))
    }

    async fn entries(
        &self,
        account: &LedgerAccount,
        before: Option<u64>,
        limit: usize,
    ) -> StoreResult<Vec<EntryRecord>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let newest = before.map_or_else(|| "+inf".to_owned(), |seq| format!("({seq}"));
        let json: Vec<String> = self
            .query(
                redis::cmd("ZRANGE")
                    .arg(self.key_of("entries:", account))
                    .arg(newest)
                    .arg("-inf")
                    .arg("BYSCORE")
                    .arg("REV")
                    .arg("LIMIT")
                    .arg(0)
                    .arg(limit),
            )
            .await?;
        json.iter().map(|entry| decode(entry)).collect()
    }

    async fn balances(&self) -> StoreResult<Vec<(LedgerAccount, Money)>> {
        let all: HashMap<String, i64> = self
            .query(redis::cmd("HGETALL").arg(self.key("balances")))
            .await?;
        let mut balances = all
            .into_iter()
            .map(|(account, balance)| {
                Ok((
                    account.parse().map_err(StoreError::Backend)?,
                    Money(balance),
                ))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        balances.sort();
        Ok(balances)
    }

    async fn create_payment(
        &self,
        record: &PaymentRecord,
        booking: Option<&Transaction>,
    ) -> StoreResult<PaymentRecord> {
        if booking.is_some_and(|b| !b.is_balanced()) {
            return Err(StoreError::Unbalanced);
        }
        let stored = PaymentRecord {
            version: 1,
            ..record.clone()
        };
        let key = stored.idempotency_key.as_deref();
        let args = Args::default()
            .push(stored.id)
            .push(stored.owner)
            .push(stored.kind.as_str())
            .push(if key.is_some() { "1" } else { "0" })
            .push(key.unwrap_or_default());
        let reply = self
            .run(&CREATE_PAYMENT, payment_args(args, &stored, booking)?)
            .await?;
        match reply.status.as_str() {
            "ok" => Ok(stored),
            "replayed" => decode(&reply.text(0)?),
            _ => Err(reply.into_error()),
        }
    }

    async fn update_payment(
        &self,
        record: &PaymentRecord,
        booking: Option<&Transaction>,
    ) -> StoreResult<PaymentRecord> {
        if booking.is_some_and(|b| !b.is_balanced()) {
            return Err(StoreError::Unbalanced);
        }
        // The fields that never change are taken from the stored record; the script writes
        // the new one only if the version is still the one the caller read.
        let stored = self
            .payment(record.id)
            .await?
            .ok_or(StoreError::PaymentConflict)?;
        if stored.version != record.version || stored.state.is_final() {
            return Err(StoreError::PaymentConflict);
        }
        let version = stored
            .version
            .checked_add(1)
            .ok_or_else(|| StoreError::backend("payment version overflow"))?;
        let next = PaymentRecord {
            id: stored.id,
            owner: stored.owner,
            kind: stored.kind,
            created_at: stored.created_at,
            idempotency_key: stored.idempotency_key,
            version,
            ..record.clone()
        };
        let args = Args::default()
            .push(next.id)
            .push(record.version)
            .push(next.version);
        let reply = self
            .run(&UPDATE_PAYMENT, payment_args(args, &next, booking)?)
            .await?;
        match reply.status.as_str() {
            "ok" => Ok(next),
            _ => Err(reply.into_error()),
        }
    }

    async fn payment(&self, id: uuid::Uuid) -> StoreResult<Option<PaymentRecord>> {
        let json: Option<String> = self
            .query(
                redis::cmd("HGET")
                    .arg(self.key_of("payment:", id))
                    .arg("json"),
            )
            .await?;
        json.as_deref().map(decode).transpose()
    }

    async fn payments_of(
        &self,
        owner: AccountId,
        kind: PaymentKind,
        limit: usize,
    ) -> StoreResult<Vec<PaymentRecord>> {
        if limit == 0 {
            return Ok(Vec::new()); // ZREVRANGE to -1 would read everything.
        }
        let key = self.key_of("payments:", format!("{owner}:{}", kind.as_str()));
        let ids: Vec<String> = self
            .query(
                redis::cmd("ZREVRANGE")
                    .arg(key)
                    .arg(0)
                    .arg(last_index(limit)),
            )
            .await?;
        self.load_payments(&ids).await
    }

    async fn unfinished_payments(&self, limit: usize) -> StoreResult<Vec<PaymentRecord>> {
        if limit == 0 {
            return Ok(Vec::new()); // ZRANGE to -1 would read everything.
        }
        let reply = self
            .run(
                &UNFINISHED_PAYMENTS,
                Args::default().push(last_index(limit)),
            )
            .await?;
        reply.into_records()
    }

    async fn append_chat(&self, record: &ChatRecord, keep: usize) -> StoreResult<()> {
        let args = Args::default()
            .push(record.gig_id)
            .push(record.message.id)
            .push(encode(record)?)
            .push(keep);
        let reply = self.run(&APPEND_CHAT, args).await?;
        match reply.status.as_str() {
            "ok" => Ok(()),
            _ => Err(reply.into_error()),
        }
    }

    async fn chat_history(&self, gig: GigId, limit: usize) -> StoreResult<Vec<ChatRecord>> {
        if limit == 0 {
            return Ok(Vec::new()); // ZRANGE from -0 would read everything.
        }
        let reply = self
            .run(&CHAT_HISTORY, Args::default().push(gig).push(limit))
            .await?;
        reply.into_records()
    }

    async fn delete_chat(&self, gig: GigId, id: MessageId) -> StoreResult<Option<ChatRecord>> {
        let reply = self
            .run(&DELETE_CHAT, Args::default().push(gig).push(id))
            .await?;
        match reply.status.as_str() {
            "ok" => decode(&reply.text(0)?).map(Some),
            "not_found" => Ok(None),
            _ => Err(reply.into_error()),
        }
    }

    async fn set_chat_ban(&self, gig: GigId, account: AccountId, banned: bool) -> StoreResult<()> {
        let command = if banned { "SADD" } else { "SREM" };
        let key = self.key_of("chatbans:", gig);
        self.query::<()>(redis::cmd(command).arg(key).arg(account.to_string()))
            .await
    }

    async fn is_chat_banned(&self, gig: GigId, account: AccountId) -> StoreResult<bool> {
        let key = self.key_of("chatbans:", gig);
        self.query(redis::cmd("SISMEMBER").arg(key).arg(account.to_string()))
            .await
    }

    async fn setting(&self, name: &str) -> StoreResult<Option<SettingRecord>> {
        check_setting_name(name)?;
        let (json, version, updated_at): (Option<String>, Option<String>, Option<String>) = self
            .query(
                redis::cmd("HMGET")
                    .arg(self.key_of("setting:", name))
                    .arg("json")
                    .arg("version")
                    .arg("updated_at"),
            )
            .await?;
        let (Some(json), Some(version), Some(updated_at)) = (json, version, updated_at) else {
            return Ok(None);
        };
        Ok(Some(SettingRecord {
            name: name.to_owned(),
            value: decode(&json)?,
            version: version
                .parse()
                .map_err(|_| StoreError::backend("stored setting has a bad `version`"))?,
            updated_at: parse_time(&updated_at)?,
        }))
    }

    async fn put_setting(
        &self,
        name: &str,
        value: &serde_json::Value,
        expected_version: Option<u64>,
        now: OffsetDateTime,
    ) -> StoreResult<SettingRecord> {
        check_setting_name(name)?;
        let json = encode_setting_value(value)?;
        let record = SettingRecord {
            name: name.to_owned(),
            value: value.clone(),
            version: next_setting_version(expected_version)?,
            updated_at: now,
        };
        let args = Args::default()
            .push(name)
            .push(expected_version.map(|v| v.to_string()).unwrap_or_default())
            .push(record.version)
            .push(json)
            .push(rfc3339(now)?);
        let reply = self.run(&PUT_SETTING, args).await?;
        match reply.status.as_str() {
            "ok" => Ok(record),
            _ => Err(reply.into_error()),
        }
    }

    async fn delete_setting(&self, name: &str, expected_version: u64) -> StoreResult<()> {
        check_setting_name(name)?;
        let args = Args::default().push(name).push(expected_version);
        let reply = self.run(&DELETE_SETTING, args).await?;
        match reply.status.as_str() {
            "ok" => Ok(()),
            _ => Err(reply.into_error()),
        }
    }

    async fn flush(&self) -> StoreResult<()> {
        // Redis persists on its own schedule (`appendfsync always` or `everysec`); there is
        // nothing a client can force short of a blocking save.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bookmygig_api::{Category, GigStatus, PaymentPointer, TicketId};
    use bookmygig_testkit::RedisServer;
    use time::Duration;
    use time::macros::datetime;

    use crate::{GigBounds, Posting, StatusFilter};

    const NOW: OffsetDateTime = datetime!(2030-01-01 12:00 UTC);
    const FEE: Money = Money::from_dollars(1);
    /// Quotes, a backslash, a slash and non-ASCII text, which the scripts' JSON must keep.
    const TITLE: &str = "Late \"Night\" Laughs \\ A/B — café 🎤";

    async fn store() -> (RedisServer, RedisStore) {
        let server = RedisServer::start();
        let store = RedisStore::connect(&server.url()).await.unwrap();
        (server, store)
    }

    /// An account holding `dollars` topped up from outside.
    async fn account(store: &RedisStore, handle: &str, dollars: i64) -> AccountId {
        let id = AccountId::new();
        let record = AccountRecord {
            id,
            handle: handle.to_owned(),
            display_name: handle.to_owned(),
            password_hash: "x".to_owned(),
            created_at: NOW,
        };
        store.create_account(&record).await.unwrap();
        if dollars > 0 {
            store
                .post(&top_up(id, Money::from_dollars(dollars)), None)
                .await
                .unwrap();
        }
        id
    }

    fn top_up(id: AccountId, amount: Money) -> Transaction {
        let (from, to) = (LedgerAccount::ExternalTopups, LedgerAccount::User(id));
        Transaction::transfer(EntryKind::TopUp, from, to, amount, "Top-up", None, NOW)
    }

    fn details(title: &str, starts_at: OffsetDateTime, capacity: Option<u32>) -> GigDetails {
        GigDetails {
            creator_name: "Ann".to_owned(),
            title: title.to_owned(),
            description: "A show".to_owned(),
            category: Category::Comedy,
            price: Money::from_dollars(10),
            starts_at,
            ends_at: starts_at + Duration::hours(2),
            capacity,
            payment_pointer: PaymentPointer::parse("$wallet.example/ann").unwrap(),
            micropayment_rate: Money(360_000),
            replay_hours: 48,
        }
    }

    /// Registers a gig, paying the listing fee.
    async fn gig(store: &RedisStore, creator: AccountId, details: GigDetails) -> GigRecord {
        let id = GigId::new();
        let record = GigRecord {
            id,
            creator_id: creator,
            details,
            stream_key: format!("key-{id}"),
            stream_key_hash: hash_of(id),
            created_at: NOW,
            tickets_sold: 0,
            state: GigState::Scheduled,
        };
        let (from, to) = (LedgerAccount::User(creator), LedgerAccount::PlatformRevenue);
        let fee = Transaction::transfer(EntryKind::ListingFee, from, to, FEE, "Fee", Some(id), NOW);
        store.create_gig(&record, &fee).await.unwrap();
        record
    }

    /// A distinct stream key hash for each gig.
    fn hash_of(id: GigId) -> TokenHash {
        let mut hash = [0u8; 32];
        hash[..16].copy_from_slice(id.as_bytes());
        TokenHash(hash)
    }

    fn purchase(gig: &GigRecord, buyer: AccountId, key: &str) -> Purchase {
        Purchase {
            ticket_id: TicketId::new(),
            transaction_id: TransactionId::new(),
            gig_id: gig.id,
            buyer,
            idempotency_key: key.to_owned(),
            commission_bps: 1_000,
            at: NOW,
        }
    }

    async fn wallet(store: &RedisStore, id: AccountId) -> Money {
        store.balance(&LedgerAccount::User(id)).await.unwrap()
    }

    async fn assert_books_balance(store: &RedisStore) {
        let sum: i64 = store
            .balances()
            .await
            .unwrap()
            .iter()
            .map(|(_, m)| m.0)
            .sum();
        assert_eq!(sum, 0);
    }

    /// The TTL of `key` in seconds (-1: none, -2: no such key).
    async fn ttl(store: &RedisStore, key: String) -> i64 {
        store.query(redis::cmd("TTL").arg(key)).await.unwrap()
    }

    #[tokio::test]
    async fn idempotency_keys_and_session_indexes_expire_by_themselves() {
        let (_server, store) = store().await;
        let creator = account(&store, "ann", 5).await;
        let buyer = account(&store, "bob", 100).await;
        store
            .post(&top_up(buyer, Money(1)), Some((buyer, "t1")))
            .await
            .unwrap();
        let show = gig(&store, creator, details(TITLE, NOW, None)).await;
        store
            .purchase_ticket(&purchase(&show, buyer, "p1"))
            .await
            .unwrap();
        let day = crate::IDEMPOTENCY_TTL.whole_seconds();
        for key in ["t1", "p1"] {
            let left = ttl(&store, store.key_of("idem:", format!("{buyer}:{key}"))).await;
            assert!((day - 60..=day).contains(&left), "{key}: TTL {left}");
        }
        let expires_at = OffsetDateTime::now_utc() + Duration::hours(1);
        let session = SessionRecord {
            token_hash: TokenHash([7; 32]),
            account_id: buyer,
            created_at: OffsetDateTime::now_utc(),
            expires_at,
        };
        store.create_session(&session).await.unwrap();
        let index = ttl(&store, store.key_of("sessions:", buyer)).await;
        assert!((3_500..=3_601).contains(&index), "index TTL {index}");
        let longer = SessionRecord {
            token_hash: TokenHash([8; 32]),
            expires_at: expires_at + Duration::hours(1),
            ..session.clone()
        };
        store.create_session(&longer).await.unwrap();
        let index = ttl(&store, store.key_of("sessions:", buyer)).await;
        assert!((7_100..=7_201).contains(&index), "index TTL {index}");
        // A shorter session never shortens the index.
        store.create_session(&session).await.unwrap();
        let index = ttl(&store, store.key_of("sessions:", buyer)).await;
        assert!((7_100..=7_201).contains(&index), "index TTL {index}");
    }

    #[tokio::test]
    async fn purchase_is_idempotent_and_moves_money_once() {
        let (_server, store) = store().await;
        let creator = account(&store, "ann", 5).await;
        let buyer = account(&store, "bob", 100).await;
        let show = gig(&store, creator, details(TITLE, NOW, None)).await;
        let other = gig(&store, creator, details("Other", NOW, None)).await;

        let first = store
            .purchase_ticket(&purchase(&show, buyer, "k1"))
            .await
            .unwrap();
        assert!(!first.replayed);
        assert_eq!(first.ticket.status, TicketStatus::Valid);
        assert_eq!(first.ticket.purchased_at, NOW);
        assert_eq!(wallet(&store, buyer).await, Money::from_dollars(90));
        assert_eq!(
            wallet(&store, creator).await,
            Money::from_dollars(5 - 2 + 9)
        );
        let platform = store
            .balance(&LedgerAccount::PlatformRevenue)
            .await
            .unwrap();
        assert_eq!(platform, Money::from_dollars(2 + 1));

        let retry = store
            .purchase_ticket(&purchase(&show, buyer, "k1"))
            .await
            .unwrap();
        assert!(retry.replayed);
        assert_eq!(retry.ticket, first.ticket);
        assert_eq!(wallet(&store, buyer).await, Money::from_dollars(90));

        let reused = store.purchase_ticket(&purchase(&other, buyer, "k1")).await;
        assert!(matches!(reused, Err(StoreError::IdempotencyKeyReused)));
        match store.purchase_ticket(&purchase(&show, buyer, "k2")).await {
            Err(StoreError::AlreadyHolder(ticket)) => assert_eq!(*ticket, first.ticket),
            other => panic!("expected AlreadyHolder, got {other:?}"),
        }
        let own = store.purchase_ticket(&purchase(&show, creator, "k3")).await;
        assert!(matches!(own, Err(StoreError::OwnGig)));
        let unknown = GigRecord {
            id: GigId::new(),
            ..show.clone()
        };
        let missing = store
            .purchase_ticket(&purchase(&unknown, buyer, "k4"))
            .await;
        assert!(matches!(missing, Err(StoreError::GigNotFound)));

        let entries = store
            .entries(&LedgerAccount::User(buyer), None, 10)
            .await
            .unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].entry.memo, format!("Ticket: {TITLE}"));
        assert_eq!(entries[0].entry.amount, Money::from_dollars(-10));
        assert_eq!(entries[0].entry.balance_after, Money::from_dollars(90));
        assert_eq!(entries[0].entry.gig_id, Some(show.id));
        assert_eq!(entries[0].entry.kind, EntryKind::TicketSale);
        assert!(entries[0].seq > entries[1].seq);
        let older = store
            .entries(&LedgerAccount::User(buyer), Some(entries[0].seq), 10)
            .await;
        assert_eq!(older.unwrap(), entries[1..]);

        assert_eq!(
            store.ticket_for(buyer, show.id).await.unwrap(),
            Some(first.ticket.clone())
        );
        assert_eq!(
            store.tickets_of(buyer).await.unwrap(),
            vec![first.ticket.clone()]
        );
        assert_eq!(
            store.tickets_of_gig(show.id).await.unwrap(),
            vec![first.ticket]
        );
        assert_eq!(store.gig(show.id).await.unwrap().unwrap().tickets_sold, 1);
        assert_books_balance(&store).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn capacity_is_never_oversold_under_concurrent_purchases() {
        let (_server, store) = store().await;
        let creator = account(&store, "ann", 5).await;
        let show = gig(&store, creator, details("Small Room", NOW, Some(3))).await;
        let mut buyers = Vec::new();
        for i in 0..10 {
            buyers.push(account(&store, &format!("buyer{i}"), 20).await);
        }
        let tasks: Vec<_> = buyers
            .iter()
            .map(|&buyer| {
                let (store, request) = (store.clone(), purchase(&show, buyer, "k"));
                tokio::spawn(async move { store.purchase_ticket(&request).await })
            })
            .collect();
        let (mut sold, mut sold_out) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => sold += 1,
                Err(StoreError::SoldOut) => sold_out += 1,
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!((sold, sold_out), (3, 7));
        assert_eq!(store.gig(show.id).await.unwrap().unwrap().tickets_sold, 3);
        assert_eq!(store.tickets_of_gig(show.id).await.unwrap().len(), 3);

        let smaller = details("Small Room", NOW, Some(2));
        let refused = store.update_gig(show.id, &smaller).await;
        assert!(matches!(
            refused,
            Err(StoreError::CapacityBelowSold { sold: 3 })
        ));
        let bigger = details("Bigger Room", NOW + Duration::hours(1), Some(4));
        let updated = store.update_gig(show.id, &bigger).await.unwrap();
        assert_eq!(updated.details, bigger);
        assert_eq!(updated.tickets_sold, 3);
        assert_books_balance(&store).await;
    }

    #[tokio::test]
    async fn purchases_refuse_closed_gigs_and_empty_wallets() {
        let (_server, store) = store().await;
        let creator = account(&store, "ann", 5).await;
        let poor = account(&store, "bob", 4).await;
        let show = gig(&store, creator, details("Show", NOW, None)).await;
        match store.purchase_ticket(&purchase(&show, poor, "k")).await {
            Err(StoreError::InsufficientFunds { balance, needed }) => {
                assert_eq!(
                    (balance, needed),
                    (Money::from_dollars(4), Money::from_dollars(10))
                );
            }
            other => panic!("expected InsufficientFunds, got {other:?}"),
        }
        let mut late = purchase(&show, poor, "k");
        late.at = show.details.ends_at;
        assert!(matches!(
            store.purchase_ticket(&late).await,
            Err(StoreError::GigClosed)
        ));
        late.at = show.details.ends_at - Duration::nanoseconds(1);
        assert!(matches!(
            store.purchase_ticket(&late).await,
            Err(StoreError::InsufficientFunds { .. })
        ));

        // A listing fee the creator cannot pay writes nothing.
        let broke = account(&store, "cid", 0).await;
        let record = GigRecord {
            id: GigId::new(),
            creator_id: broke,
            ..show.clone()
        };
        let (from, to) = (LedgerAccount::User(broke), LedgerAccount::PlatformRevenue);
        let fee = Transaction::transfer(EntryKind::ListingFee, from, to, FEE, "Fee", None, NOW);
        match store.create_gig(&record, &fee).await {
            Err(StoreError::InsufficientFunds { balance, needed }) => {
                assert_eq!((balance, needed), (Money::ZERO, FEE));
            }
            other => panic!("expected InsufficientFunds, got {other:?}"),
        }
        assert_eq!(store.gig(record.id).await.unwrap(), None);
        assert!(store.gigs_by_creator(broke).await.unwrap().is_empty());
        assert_books_balance(&store).await;
    }

    #[tokio::test]
    async fn cancel_refunds_every_ticket_in_one_transaction() {
        let (_server, store) = store().await;
        let creator = account(&store, "ann", 5).await;
        let bob = account(&store, "bob", 30).await;
        let cid = account(&store, "cid", 30).await;
        let show = gig(&store, creator, details("Doomed", NOW, Some(10))).await;
        store
            .purchase_ticket(&purchase(&show, bob, "k"))
            .await
            .unwrap();
        store
            .purchase_ticket(&purchase(&show, cid, "k"))
            .await
            .unwrap();
        let platform_before_cancel = Money::from_dollars(1 + 2);
        assert_eq!(
            store
                .balance(&LedgerAccount::PlatformRevenue)
                .await
                .unwrap(),
            platform_before_cancel
        );

        let cancellation = Cancellation {
            gig_id: show.id,
            transaction_id: TransactionId::new(),
            at: NOW,
        };
        let cancelled = store.cancel_gig(&cancellation).await.unwrap();
        assert_eq!(cancelled.state, GigState::Cancelled);
        assert_eq!(cancelled.tickets_sold, 0);
        assert_eq!(wallet(&store, bob).await, Money::from_dollars(30));
        assert_eq!(wallet(&store, cid).await, Money::from_dollars(30));
        assert_eq!(wallet(&store, creator).await, Money::from_dollars(4));
        assert_eq!(
            store
                .balance(&LedgerAccount::PlatformRevenue)
                .await
                .unwrap(),
            FEE
        );
        for ticket in store.tickets_of_gig(show.id).await.unwrap() {
            assert_eq!(ticket.status, TicketStatus::Refunded);
        }
        let refund = &store
            .entries(&LedgerAccount::User(bob), None, 1)
            .await
            .unwrap()[0];
        assert_eq!(refund.entry.transaction_id, cancellation.transaction_id);
        assert_eq!(refund.entry.kind, EntryKind::Refund);
        assert_eq!(refund.entry.memo, "Refund: Doomed (cancelled)");
        let creator_refund = &store
            .entries(&LedgerAccount::User(creator), None, 1)
            .await
            .unwrap();
        assert_eq!(creator_refund[0].entry.amount, Money::from_dollars(-18));

        let again = Cancellation {
            transaction_id: TransactionId::new(),
            ..cancellation
        };
        assert_eq!(store.cancel_gig(&again).await.unwrap(), cancelled);
        let closed = store.purchase_ticket(&purchase(&show, bob, "k2")).await;
        assert!(matches!(closed, Err(StoreError::GigClosed)));
        let revived = store.set_gig_state(show.id, GigState::Live).await;
        assert!(matches!(revived, Err(StoreError::GigClosed)));
        let edited = store.update_gig(show.id, &show.details).await;
        assert!(matches!(edited, Err(StoreError::GigClosed)));
        assert_books_balance(&store).await;
    }

    #[tokio::test]
    async fn cancel_is_refused_when_the_creator_spent_the_earnings() {
        let (_server, store) = store().await;
        let creator = account(&store, "ann", 1).await;
        let bob = account(&store, "bob", 10).await;
        let show = gig(&store, creator, details("Show", NOW, None)).await;
        store
            .purchase_ticket(&purchase(&show, bob, "k"))
            .await
            .unwrap();
        let (from, to) = (LedgerAccount::User(creator), LedgerAccount::PlatformRevenue);
        let spend =
            Transaction::transfer(EntryKind::Micropayment, from, to, Money(5), "x", None, NOW);
        store.post(&spend, None).await.unwrap();

        let cancellation = Cancellation {
            gig_id: show.id,
            transaction_id: TransactionId::new(),
            at: NOW,
        };
        match store.cancel_gig(&cancellation).await {
            Err(StoreError::InsufficientFunds { balance, needed }) => {
                assert_eq!(balance, Money(9_000_000 - 5));
                assert_eq!(needed, Money(9_000_000));
            }
            other => panic!("expected InsufficientFunds, got {other:?}"),
        }
        let unchanged = store.gig(show.id).await.unwrap().unwrap();
        assert_eq!(
            (unchanged.state, unchanged.tickets_sold),
            (GigState::Scheduled, 1)
        );
        let ticket = store.ticket_for(bob, show.id).await.unwrap().unwrap();
        assert_eq!(ticket.status, TicketStatus::Valid);
        assert_eq!(wallet(&store, bob).await, Money::ZERO);
    }

    #[tokio::test]
    async fn catalogue_is_ordered_by_start_then_id_and_pages_by_cursor() {
        let (_server, store) = store().await;
        let creator = account(&store, "ann", 50).await;
        let at = |hours: i64| NOW + Duration::hours(hours);
        let mut gigs = Vec::new();
        for (title, start) in [
            ("c", 3),
            ("a", 1),
            ("b1", 2),
            ("b2", 2),
            ("b3", 2),
            ("old", -30),
        ] {
            gigs.push(gig(&store, creator, details(title, at(start), None)).await);
        }
        let mut expected: Vec<_> = gigs.iter().filter(|g| g.details.title != "old").collect();
        expected.sort_by_key(|g| GigCursor::after(g));

        let mut query = GigQuery {
            category: None,
            status: StatusFilter::Upcoming,
            text: None,
            after: None,
            limit: 2,
            now: NOW,
            bounds: GigBounds::default(),
        };
        let mut seen = Vec::new();
        loop {
            let page = store.list_gigs(&query).await.unwrap();
            let Some(last) = page.last() else { break };
            query.after = Some(GigCursor::after(last));
            seen.extend(page);
        }
        let seen_ids: Vec<_> = seen.iter().map(|g| g.id).collect();
        let expected_ids: Vec<_> = expected.iter().map(|g| g.id).collect();
        assert_eq!(seen_ids, expected_ids);

        query.after = None;
        query.limit = 10;
        query.text = Some("B2".to_owned());
        let found = store.list_gigs(&query).await.unwrap();
        assert_eq!(
            found
                .iter()
                .map(|g| g.details.title.as_str())
                .collect::<Vec<_>>(),
            ["b2"]
        );

        query.text = None;
        query.status = StatusFilter::Is(GigStatus::Ended);
        let ended = store.list_gigs(&query).await.unwrap();
        assert_eq!(
            ended
                .iter()
                .map(|g| g.details.title.as_str())
                .collect::<Vec<_>>(),
            ["old"]
        );

        // Moving a gig re-files it.
        let moved = details("c", at(-1), None);
        store.update_gig(gigs[0].id, &moved).await.unwrap();
        query.status = StatusFilter::Upcoming;
        let first = &store.list_gigs(&query).await.unwrap()[0];
        assert_eq!(first.id, gigs[0].id);

        let newest_first: Vec<_> = gigs.iter().rev().map(|g| g.id).collect();
        let by_creator = store.gigs_by_creator(creator).await.unwrap();
        assert_eq!(
            by_creator.iter().map(|g| g.id).collect::<Vec<_>>(),
            newest_first
        );
    }

    #[tokio::test]
    async fn post_replays_with_its_key_and_keeps_wallets_above_zero() {
        let (_server, store) = store().await;
        let bob = account(&store, "bob", 0).await;
        let big = Money(5_000_000_000_000_000);
        let first = store
            .post(&top_up(bob, big), Some((bob, "t1")))
            .await
            .unwrap();
        assert_eq!(first.len(), 2);
        assert_eq!(first[1].entry.balance_after, big);
        assert_eq!(first[0].entry.balance_after, Money(-big.0));
        let retry = store
            .post(&top_up(bob, Money(1)), Some((bob, "t1")))
            .await
            .unwrap();
        assert_eq!(retry, first);
        assert_eq!(wallet(&store, bob).await, big);
        let stored = store
            .entries(&LedgerAccount::User(bob), None, 5)
            .await
            .unwrap();
        assert_eq!(stored, first[1..]);

        let mut unbalanced = top_up(bob, Money(1));
        unbalanced.postings.push(Posting {
            account: LedgerAccount::PlatformRevenue,
            amount: Money(1),
        });
        assert!(matches!(
            store.post(&unbalanced, None).await,
            Err(StoreError::Unbalanced)
        ));

        let (from, to) = (LedgerAccount::User(bob), LedgerAccount::PlatformRevenue);
        let too_much = Money(big.0 + 1);
        let spend =
            Transaction::transfer(EntryKind::Micropayment, from, to, too_much, "x", None, NOW);
        match store.post(&spend, None).await {
            Err(StoreError::InsufficientFunds { balance, needed }) => {
                assert_eq!((balance, needed), (big, too_much));
            }
            other => panic!("expected InsufficientFunds, got {other:?}"),
        }
        assert_eq!(wallet(&store, bob).await, big);
        assert!(
            store
                .entries(&LedgerAccount::User(bob), None, 0)
                .await
                .unwrap()
                .is_empty()
        );
        assert_books_balance(&store).await;
    }

    #[tokio::test]
    async fn payment_keys_never_expire_and_stay_apart_from_post_keys() {
        let (_server, store) = store().await;
        let bob = account(&store, "bob", 0).await;
        let record = PaymentRecord {
            id: uuid::Uuid::now_v7(),
            owner: bob,
            kind: PaymentKind::TopUp,
            amount: Money(5),
            state: crate::PaymentState::Requested,
            version: 0,
            created_at: NOW,
            updated_at: NOW,
            next_attempt_at: NOW,
            attempts: 0,
            idempotency_key: Some("k".to_owned()),
            details: serde_json::Value::Null,
            error: None,
        };
        store
            .create_payment(&record, Some(&top_up(bob, Money(5))))
            .await
            .unwrap();
        store
            .post(&top_up(bob, Money(1)), Some((bob, "k")))
            .await
            .unwrap();
        let paykey = store.key_of("paykey:", format!("{bob}:k"));
        let ttl: i64 = store.query(redis::cmd("TTL").arg(paykey)).await.unwrap();
        assert_eq!(ttl, -1, "a payment key lives as long as its payment");
        let idem = store.key_of("idem:", format!("{bob}:k"));
        let ttl: i64 = store.query(redis::cmd("TTL").arg(idem)).await.unwrap();
        assert!(ttl > 0, "the post's key is its own, with its TTL");
        let score: Option<f64> = store
            .query(
                redis::cmd("ZSCORE")
                    .arg(store.key("payments:unfinished"))
                    .arg(record.id.to_string()),
            )
            .await
            .unwrap();
        assert_eq!(score, Some(unix_micros(NOW) as f64));
    }

    #[tokio::test]
    async fn accounts_sessions_and_stream_keys() {
        let (_server, store) = store().await;
        let ann = account(&store, "ann", 5).await;
        let clash = AccountRecord {
            id: AccountId::new(),
            handle: "ann".to_owned(),
            display_name: "Other Ann".to_owned(),
            password_hash: "y".to_owned(),
            created_at: NOW,
        };
        assert!(matches!(
            store.create_account(&clash).await,
            Err(StoreError::HandleTaken)
        ));
        let found = store.account_by_handle("ann").await.unwrap().unwrap();
        assert_eq!(found.id, ann);
        assert_eq!(store.account(ann).await.unwrap(), Some(found));
        assert_eq!(store.account_by_handle("nobody").await.unwrap(), None);

        let now = OffsetDateTime::now_utc();
        let session = SessionRecord {
            token_hash: TokenHash([7; 32]),
            account_id: ann,
            created_at: now,
            expires_at: now + Duration::hours(1),
        };
        store.create_session(&session).await.unwrap();
        let hash = session.token_hash;
        assert_eq!(
            store.session(&hash, now).await.unwrap(),
            Some(session.clone())
        );
        assert_eq!(
            store
                .session(&hash, now + Duration::hours(2))
                .await
                .unwrap(),
            None
        );
        store.delete_session(&hash).await.unwrap();
        assert_eq!(store.session(&hash, now).await.unwrap(), None);
        store.delete_session(&hash).await.unwrap();

        let show = gig(&store, ann, details("Show", NOW, None)).await;
        let by_key = store
            .gig_by_stream_key(&show.stream_key_hash)
            .await
            .unwrap();
        assert_eq!(by_key, Some(show.clone()));
        let rotated = store
            .rotate_stream_key(show.id, "fresh", &TokenHash([9; 32]))
            .await
            .unwrap();
        assert_eq!(rotated.stream_key, "fresh");
        assert_eq!(
            store
                .gig_by_stream_key(&show.stream_key_hash)
                .await
                .unwrap(),
            None
        );
        let by_new = store.gig_by_stream_key(&TokenHash([9; 32])).await.unwrap();
        assert_eq!(by_new, Some(rotated));
        let live = store.set_gig_state(show.id, GigState::Live).await.unwrap();
        assert_eq!(live.state, GigState::Live);
        let nowhere = store.set_gig_state(GigId::new(), GigState::Live).await;
        assert!(matches!(nowhere, Err(StoreError::GigNotFound)));
        assert_eq!(store.backend_name(), "redis");
        store.flush().await.unwrap();
    }

    #[tokio::test]
    async fn a_setting_is_one_hash_under_its_name_with_no_ttl() {
        let (_server, store) = store().await;
        let value =
            serde_json::json!({ "access_token": "tok \"1\" — é", "n": 12_345_678_901_234_567u64 });
        store
            .put_setting("open-payments.payout-grant", &value, None, NOW)
            .await
            .unwrap();
        let key = store.key("setting:open-payments.payout-grant");
        let fields: HashMap<String, String> =
            store.query(redis::cmd("HGETALL").arg(&key)).await.unwrap();
        assert_eq!(fields.len(), 3);
        assert_eq!(fields["version"], "1");
        assert_eq!(fields["updated_at"], "2030-01-01T12:00:00Z");
        assert_eq!(decode::<serde_json::Value>(&fields["json"]).unwrap(), value);
        assert_eq!(
            ttl(&store, key.clone()).await,
            -1,
            "a setting never expires"
        );
        store
            .delete_setting("open-payments.payout-grant", 1)
            .await
            .unwrap();
        assert_eq!(ttl(&store, key).await, -2, "deleting removes the key");
    }
}
