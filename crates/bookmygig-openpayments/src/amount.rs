//! Open Payments amounts (`{"value": "2500", "assetCode": "USD", "assetScale": 2}`) and their
//! exact conversion to and from BookMyGig's micro-units.

use serde::{Deserialize, Serialize};

/// The scale of BookMyGig's ledger: micro-units (6 decimal places).
pub const LEDGER_SCALE: u8 = 6;

/// An amount as Open Payments writes it: an unsigned integer in a string, at `asset_scale`
/// decimal places of `asset_code`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Amount {
    /// The integer amount, in units of 10^-asset_scale.
    pub value: String,
    /// The asset (an ISO 4217 code for currencies: `USD`).
    pub asset_code: String,
    /// Decimal places of `value`.
    pub asset_scale: u8,
}

/// Why an amount cannot cross between the ledger and a wallet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// The wallet counts in a coarser unit than the amount needs (e.g. $0.005 to a wallet in
    /// cents).
    #[error("{micros} micro-units cannot be expressed at asset scale {scale} without rounding")]
    NotRepresentable {
        /// The ledger amount.
        micros: i64,
        /// The wallet's scale.
        scale: u8,
    },
    /// Negative, too large, or not a number.
    #[error("not an amount this ledger can hold: {0}")]
    OutOfRange(String),
}

impl Amount {
    /// `micros` (micro-units of the ledger's asset) at `asset_code`/`asset_scale`, exactly.
    ///
    /// # Errors
    /// [`AmountError::NotRepresentable`] when rounding would be needed,
    /// [`AmountError::OutOfRange`] for a negative amount or a scale past 24.
    pub fn from_micros(
        micros: i64,
        asset_code: &str,
        asset_scale: u8,
    ) -> Result<Self, AmountError> {
        let micros_u = u128::try_from(micros)
            .map_err(|_| AmountError::OutOfRange(format!("{micros} is negative")))?;
        let value = if asset_scale >= LEDGER_SCALE {
            let factor = pow10(asset_scale - LEDGER_SCALE)?;
            micros_u.checked_mul(factor).ok_or_else(|| {
                AmountError::OutOfRange(format!("{micros} at scale {asset_scale}"))
            })?
        } else {
            let factor = pow10(LEDGER_SCALE - asset_scale)?;
            if micros_u % factor != 0 {
                return Err(AmountError::NotRepresentable {
                    micros,
                    scale: asset_scale,
                });
            }
            micros_u / factor
        };
        Ok(Amount {
            value: value.to_string(),
            asset_code: asset_code.to_owned(),
            asset_scale,
        })
    }

    /// This amount in ledger micro-units, exactly; a finer unit than micro-units rounds down
    /// (a wallet can owe less than a micro-unit, the ledger cannot hold it).
    ///
    /// # Errors
    /// [`AmountError::OutOfRange`] when `value` is not an unsigned integer or does not fit.
    pub fn to_micros(&self) -> Result<i64, AmountError> {
        let out_of_range = || AmountError::OutOfRange(self.value.clone());
        if self.value.is_empty()
            || self.value.len() > 39
            || !self.value.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(out_of_range());
        }
        let value: u128 = self.value.parse().map_err(|_| out_of_range())?;
        let micros = if self.asset_scale >= LEDGER_SCALE {
            value / pow10(self.asset_scale - LEDGER_SCALE)?
        } else {
            value
                .checked_mul(pow10(LEDGER_SCALE - self.asset_scale)?)
                .ok_or_else(out_of_range)?
        };
        i64::try_from(micros).map_err(|_| out_of_range())
    }
}

/// 10^exp, for the scales Open Payments allows that fit in `u128`.
fn pow10(exp: u8) -> Result<u128, AmountError> {
    10u128
        .checked_pow(u32::from(exp))
        .filter(|_| exp <= 24)
        .ok_or_else(|| AmountError::OutOfRange(format!("asset scale difference {exp}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn dollars_cross_to_cents_and_back_exactly() {
        let amount = Amount::from_micros(20_000_000, "USD", 2).unwrap();
        assert_eq!(amount.value, "2000");
        assert_eq!(amount.to_micros().unwrap(), 20_000_000);
    }

    #[test]
    fn a_fraction_of_a_cent_is_refused_not_rounded() {
        assert!(matches!(
            Amount::from_micros(20_005_000, "USD", 2),
            Err(AmountError::NotRepresentable { .. })
        ));
    }

    #[test]
    fn finer_scales_multiply_and_round_down_on_the_way_back() {
        let amount = Amount::from_micros(1, "USD", 9).unwrap();
        assert_eq!(amount.value, "1000");
        let odd = Amount {
            value: "1999".into(),
            asset_code: "USD".into(),
            asset_scale: 9,
        };
        assert_eq!(odd.to_micros().unwrap(), 1);
    }

    #[test]
    fn hostile_values_are_errors() {
        for value in ["", "-5", "1e9", "99999999999999999999999999999999999999999"] {
            let amount = Amount {
                value: value.into(),
                asset_code: "USD".into(),
                asset_scale: 2,
            };
            assert!(amount.to_micros().is_err(), "{value}");
        }
        assert!(Amount::from_micros(-1, "USD", 2).is_err());
    }
}
