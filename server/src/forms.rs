//! What people type, checked: the sign-up form and the gig registration form (and its patch).
//! Each refusal names the wire field and says what would be accepted.

use bookmygig_api::limits::{
    CAPACITY_MAX, CREATOR_NAME_MAX, DESCRIPTION_MAX, DISPLAY_NAME_MAX, GIG_HOURS_MAX, HANDLE_MAX,
    HANDLE_MIN, MICROPAYMENT_RATE_MAX, PASSWORD_MAX, PASSWORD_MIN, PRICE_MAX, REPLAY_HOURS_DEFAULT,
    REPLAY_HOURS_MAX, TITLE_MAX, is_valid_handle,
};
use bookmygig_api::{GigPatch, Money, NewAccount, NewGig, PaymentPointer};
use bookmygig_store::GigDetails;
use time::{Duration, OffsetDateTime};

/// Why a form was refused: the field at fault and what is wrong with it, in words a person
/// can act on. The HTTP layer answers it as a 422 problem naming the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {detail}")]
pub struct FormError {
    /// The field at fault, as the API names it.
    pub field: String,
    /// What is wrong with it.
    pub detail: String,
}

impl FormError {
    /// A refusal of `field` because of `detail`.
    pub fn new(field: impl Into<String>, detail: impl Into<String>) -> Self {
        FormError {
            field: field.into(),
            detail: detail.into(),
        }
    }
}

/// How far in the past a start may be (clock skew between a client and us).
const START_GRACE: Duration = Duration::minutes(1);
/// How far ahead a gig may be scheduled.
const SCHEDULE_HORIZON: Duration = Duration::days(2 * 366);

/// A checked sign-up.
pub struct SignUp {
    /// The handle.
    pub handle: String,
    /// The display name, trimmed.
    pub display_name: String,
    /// The password, as given.
    pub password: String,
}

/// Checks a sign-up form.
///
/// # Errors
/// The first field that is wrong.
pub fn sign_up(form: NewAccount) -> Result<SignUp, FormError> {
    if !is_valid_handle(&form.handle) {
        return Err(FormError::new(
            "handle",
            format!("a handle is {HANDLE_MIN}–{HANDLE_MAX} characters of a-z, 0-9 and _"),
        ));
    }
    let display_name = text("display_name", &form.display_name, 1, DISPLAY_NAME_MAX)?;
    password("password", &form.password)?;
    Ok(SignUp {
        handle: form.handle,
        display_name,
        password: form.password,
    })
}

/// Checks a new password (sign-up's `password`, a password change's `new_password`).
///
/// # Errors
/// When it is not 8–128 characters, naming `field`.
pub fn password(field: &str, value: &str) -> Result<(), FormError> {
    let length = value.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&length) {
        return Err(FormError::new(
            field,
            format!("a password is {PASSWORD_MIN}–{PASSWORD_MAX} characters"),
        ));
    }
    Ok(())
}

/// Checks `value`'s length as sent (at most `max` characters, as the OpenAPI document's
/// `maxLength` counts), trims it, checks that at least `min` characters remain and that they
/// hold no control characters (newlines and tabs are allowed only where `max` is the
/// description's). `bookmygig_api::limits::LINE_PATTERN` and `DESCRIPTION_PATTERN` say the same.
fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String, FormError> {
    let sent = value.chars().count();
    if sent > max {
        return Err(FormError::new(
            field,
            format!("at most {max} characters (got {sent})"),
        ));
    }
    let trimmed = value.trim();
    if trimmed.chars().count() < min {
        return Err(FormError::new(
            field,
            "must not be empty or only white space",
        ));
    }
    let multiline = max == DESCRIPTION_MAX;
    if trimmed
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t')))
    {
        return Err(FormError::new(field, "control characters are not allowed"));
    }
    Ok(trimmed.to_owned())
}

fn price(field: &str, value: Money, max: Money) -> Result<Money, FormError> {
    if value < Money::ZERO || value > max {
        return Err(FormError::new(
            field,
            format!(
                "must be between $0.00 and {max} (in micro-USD: 0 to {})",
                max.micros()
            ),
        ));
    }
    Ok(value)
}

fn capacity(value: Option<u32>) -> Result<Option<u32>, FormError> {
    match value {
        Some(seats) if !(1..=CAPACITY_MAX).contains(&seats) => Err(FormError::new(
            "capacity",
            format!("1 to {CAPACITY_MAX} seats, or null for unlimited"),
        )),
        other => Ok(other),
    }
}

fn pointer(value: &str) -> Result<PaymentPointer, FormError> {
    PaymentPointer::parse(value).map_err(|e| FormError::new("payment_pointer", e.to_string()))
}

/// Checks the time window. `start_changed` is false for a patch that keeps the start, so an
/// unchanged start already in the past is not held against the creator.
fn window(
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
    start_changed: bool,
    now: OffsetDateTime,
) -> Result<(), FormError> {
    if start_changed && starts_at < now - START_GRACE {
        return Err(FormError::new("starts_at", "the start is in the past"));
    }
    if starts_at > now + SCHEDULE_HORIZON {
        return Err(FormError::new(
            "starts_at",
            "gigs can be scheduled at most two years ahead",
        ));
    }
    if ends_at <= starts_at {
        return Err(FormError::new("ends_at", "the end must be after the start"));
    }
    if ends_at - starts_at > Duration::hours(GIG_HOURS_MAX) {
        return Err(FormError::new(
            "ends_at",
            format!("a gig lasts at most {GIG_HOURS_MAX} hours"),
        ));
    }
    Ok(())
}

/// A replay window: 0 (no replay) to [`REPLAY_HOURS_MAX`] hours.
fn replay_hours(hours: u32) -> Result<u32, FormError> {
    if hours > REPLAY_HOURS_MAX {
        return Err(FormError::new(
            "replay_hours",
            format!("a replay window is at most {REPLAY_HOURS_MAX} hours (a year)"),
        ));
    }
    Ok(hours)
}

/// Checks a registration form into the details to store.
///
/// # Errors
/// The first field that is wrong.
pub fn new_gig(
    form: NewGig,
    default_rate: Money,
    now: OffsetDateTime,
) -> Result<GigDetails, FormError> {
    let details = GigDetails {
        creator_name: text("creator_name", &form.creator_name, 1, CREATOR_NAME_MAX)?,
        title: text("title", &form.title, 1, TITLE_MAX)?,
        description: text("description", &form.description, 0, DESCRIPTION_MAX)?,
        category: form.category,
        price: price("price", form.price, PRICE_MAX)?,
        starts_at: form.starts_at,
        ends_at: form.ends_at,
        capacity: capacity(form.capacity)?,
        payment_pointer: pointer(&form.payment_pointer)?,
        micropayment_rate: price(
            "micropayment_rate",
            form.micropayment_rate.unwrap_or(default_rate),
            MICROPAYMENT_RATE_MAX,
        )?,
        replay_hours: replay_hours(form.replay_hours.unwrap_or(REPLAY_HOURS_DEFAULT))?,
    };
    window(details.starts_at, details.ends_at, true, now)?;
    Ok(details)
}

/// Applies a patch to `current`, checking every changed field and the resulting window.
///
/// # Errors
/// The first field that is wrong.
pub fn patched(
    current: &GigDetails,
    patch: GigPatch,
    now: OffsetDateTime,
) -> Result<GigDetails, FormError> {
    let mut next = current.clone();
    if let Some(v) = patch.creator_name {
        next.creator_name = text("creator_name", &v, 1, CREATOR_NAME_MAX)?;
    }
    if let Some(v) = patch.title {
        next.title = text("title", &v, 1, TITLE_MAX)?;
    }
    if let Some(v) = patch.description {
        next.description = text("description", &v, 0, DESCRIPTION_MAX)?;
    }
    if let Some(v) = patch.category {
        next.category = v;
    }
    if let Some(v) = patch.price {
        next.price = price("price", v, PRICE_MAX)?;
    }
    if let Some(v) = patch.starts_at {
        next.starts_at = v;
    }
    if let Some(v) = patch.ends_at {
        next.ends_at = v;
    }
    if let Some(v) = patch.capacity {
        next.capacity = capacity(v)?;
    }
    if let Some(v) = patch.payment_pointer {
        next.payment_pointer = pointer(&v)?;
    }
    if let Some(v) = patch.micropayment_rate {
        next.micropayment_rate = price("micropayment_rate", v, MICROPAYMENT_RATE_MAX)?;
    }
    if let Some(v) = patch.replay_hours {
        next.replay_hours = replay_hours(v)?;
    }
    window(
        next.starts_at,
        next.ends_at,
        next.starts_at != current.starts_at,
        now,
    )?;
    Ok(next)
}

/// Truncates a timestamp to whole microseconds, the precision both stores keep.
pub fn to_micros(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_nanosecond(at.nanosecond() / 1_000 * 1_000)
        .unwrap_or(at)
}
