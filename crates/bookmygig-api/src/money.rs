//! Money as an integer count of micro-USD: exact, and never a float.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Micro-units of USD per dollar.
pub const MICROS_PER_DOLLAR: i64 = 1_000_000;

/// An amount of USD in micro-units (1 USD = 1,000,000). Signed, so a ledger movement can be
/// written as one number; a balance of a user wallet is never below zero.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Money(pub i64);

/// Why a dollar amount could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyParseError {
    /// The text is not a decimal number such as `7.50`.
    #[error("expected an amount in dollars such as 7.50")]
    NotANumber,
    /// More than six digits after the point.
    #[error("at most six decimal places (micro-dollars)")]
    TooPrecise,
    /// The amount does not fit.
    #[error("amount is too large")]
    TooLarge,
}

impl Money {
    /// Nothing.
    pub const ZERO: Money = Money(0);

    /// A whole number of dollars.
    pub const fn from_dollars(dollars: i64) -> Self {
        Money(dollars * MICROS_PER_DOLLAR)
    }

    /// A number of micro-dollars.
    pub const fn from_micros(micros: i64) -> Self {
        Money(micros)
    }

    /// The amount in micro-dollars.
    pub const fn micros(self) -> i64 {
        self.0
    }

    /// Sum, or `None` on overflow.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// Difference, or `None` on overflow.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    /// The share of `self` given by `basis_points` (1/100 of a percent), rounded down, so the
    /// remainder always stays with the payee.
    pub fn basis_points(self, basis_points: u32) -> Money {
        // i128 cannot overflow here: |i64| * 10_000 < 2^127.
        Money((i128::from(self.0) * i128::from(basis_points) / 10_000) as i64)
    }
}

impl fmt::Display for Money {
    /// `$7.50`, `-$0.000360`: cents always, micro-dollars only when present.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let dollars = abs / MICROS_PER_DOLLAR as u64;
        let micros = abs % MICROS_PER_DOLLAR as u64;
        if micros.is_multiple_of(10_000) {
            write!(f, "{sign}${dollars}.{:02}", micros / 10_000)
        } else {
            let digits = format!("{micros:06}");
            write!(f, "{sign}${dollars}.{}", digits.trim_end_matches('0'))
        }
    }
}

impl FromStr for Money {
    type Err = MoneyParseError;

    /// Reads dollars as people write them: `7`, `7.5`, `$7.50`, `0.000360`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (negative, s) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let s = s.strip_prefix('$').unwrap_or(s);
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        if whole.is_empty() && frac.is_empty() {
            return Err(MoneyParseError::NotANumber);
        }
        let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(whole) || !all_digits(frac) {
            return Err(MoneyParseError::NotANumber);
        }
        if frac.len() > 6 {
            return Err(MoneyParseError::TooPrecise);
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| MoneyParseError::TooLarge)?
        };
        let frac_micros: i64 = if frac.is_empty() {
            0
        } else {
            let padded = format!("{frac:0<6}");
            padded.parse().map_err(|_| MoneyParseError::NotANumber)?
        };
        let micros = whole
            .checked_mul(MICROS_PER_DOLLAR)
            .and_then(|m| m.checked_add(frac_micros))
            .ok_or(MoneyParseError::TooLarge)?;
        Ok(Money(if negative { -micros } else { micros }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn displays_cents_and_micros() {
        assert_eq!(Money::from_dollars(99).to_string(), "$99.00");
        assert_eq!(Money(7_500_000).to_string(), "$7.50");
        assert_eq!(Money(360).to_string(), "$0.00036");
        assert_eq!(Money(-1_250_000).to_string(), "-$1.25");
    }

    #[test]
    fn parses_what_people_type() {
        assert_eq!("7.50".parse(), Ok(Money(7_500_000)));
        assert_eq!("$7".parse(), Ok(Money(7_000_000)));
        assert_eq!(".5".parse(), Ok(Money(500_000)));
        assert_eq!("0.36".parse(), Ok(Money(360_000)));
        assert_eq!(
            "1.2345678".parse::<Money>(),
            Err(MoneyParseError::TooPrecise)
        );
        assert_eq!("seven".parse::<Money>(), Err(MoneyParseError::NotANumber));
        assert_eq!("".parse::<Money>(), Err(MoneyParseError::NotANumber));
        assert_eq!(
            "99999999999999999".parse::<Money>(),
            Err(MoneyParseError::TooLarge)
        );
    }

    #[test]
    fn commission_rounds_down_and_never_exceeds_amount() {
        assert_eq!(Money(1_000_001).basis_points(1_000), Money(100_000));
        assert_eq!(Money(5).basis_points(10_000), Money(5));
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(micros in -10_000_000_000_000i64..10_000_000_000_000) {
            let money = Money(micros);
            prop_assert_eq!(money.to_string().parse::<Money>(), Ok(money));
        }

        #[test]
        fn parse_never_panics(text in ".{0,40}") {
            let _ = text.parse::<Money>();
        }
    }
}
