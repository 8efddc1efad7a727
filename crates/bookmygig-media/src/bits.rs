//! Bit-level reading for codec headers: an MSB-first [`BitReader`] with Exp-Golomb codes, and the
//! removal of H.264 emulation-prevention bytes. Crate-internal.

use crate::MediaError;

/// Reads bits most-significant first from a byte slice; running out is [`MediaError::Truncated`].
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    /// Position in bits from the start of `data`.
    pos: usize,
    /// Names the structure in errors.
    what: &'static str,
}

impl<'a> BitReader<'a> {
    /// Starts reading `data`; `what` names it in errors.
    pub(crate) fn new(data: &'a [u8], what: &'static str) -> Self {
        Self { data, pos: 0, what }
    }

    /// Reads one bit.
    pub(crate) fn bit(&mut self) -> Result<bool, MediaError> {
        let byte = self
            .data
            .get(self.pos / 8)
            .ok_or(MediaError::Truncated(self.what))?;
        let bit = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Ok(bit == 1)
    }

    /// Reads `n` bits (at most 32) as an unsigned number.
    pub(crate) fn bits(&mut self, n: u32) -> Result<u32, MediaError> {
        debug_assert!(n <= 32);
        let mut value: u64 = 0;
        for _ in 0..n {
            value = (value << 1) | u64::from(self.bit()?);
        }
        // At most 32 bits were shifted in.
        u32::try_from(value).map_err(|_| MediaError::Invalid {
            what: self.what,
            reason: "bit field wider than 32 bits",
        })
    }

    /// Skips `n` bits.
    pub(crate) fn skip(&mut self, n: usize) -> Result<(), MediaError> {
        let end = self.pos.saturating_add(n);
        if end > self.data.len().saturating_mul(8) {
            return Err(MediaError::Truncated(self.what));
        }
        self.pos = end;
        Ok(())
    }

    /// Reads an unsigned Exp-Golomb code, `ue(v)`.
    pub(crate) fn ue(&mut self) -> Result<u32, MediaError> {
        let mut leading_zeros = 0;
        while !self.bit()? {
            leading_zeros += 1;
            if leading_zeros > 31 {
                return Err(MediaError::Invalid {
                    what: self.what,
                    reason: "Exp-Golomb code longer than 32 bits",
                });
            }
        }
        let suffix = self.bits(leading_zeros)?;
        // (2^lz - 1) + suffix <= 2^32 - 2 for lz <= 31.
        let value = (1u64 << leading_zeros) - 1 + u64::from(suffix);
        u32::try_from(value).map_err(|_| MediaError::Invalid {
            what: self.what,
            reason: "Exp-Golomb value out of range",
        })
    }

    /// Reads a signed Exp-Golomb code, `se(v)`.
    pub(crate) fn se(&mut self) -> Result<i64, MediaError> {
        let k = i64::from(self.ue()?);
        Ok(if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) })
    }
}

/// Turns a NAL unit payload into its RBSP by dropping each `03` that follows two zero bytes.
pub(crate) fn unescape_rbsp(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len());
    let mut zeros = 0;
    for &byte in nal {
        if zeros >= 2 && byte == 3 {
            zeros = 0;
            continue;
        }
        zeros = if byte == 0 { zeros + 1 } else { 0 };
        out.push(byte);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bits_msb_first() {
        let mut r = BitReader::new(&[0b1010_0000, 0xFF], "t");
        assert!(r.bit().unwrap());
        assert_eq!(r.bits(3).unwrap(), 0b010);
        assert_eq!(r.bits(8).unwrap(), 0b0000_1111);
        assert_eq!(r.bits(4).unwrap(), 0b1111);
        assert_eq!(r.bit(), Err(MediaError::Truncated("t")));
    }

    #[test]
    fn exp_golomb_codes_decode() {
        // 1 | 010 | 011 | 00100 | 00101 -> 0, 1, 2, 3, 4
        let mut r = BitReader::new(&[0b1010_0110, 0b0100_0010, 0b1000_0000], "t");
        assert_eq!(r.ue().unwrap(), 0);
        assert_eq!(r.ue().unwrap(), 1);
        assert_eq!(r.ue().unwrap(), 2);
        assert_eq!(r.ue().unwrap(), 3);
        assert_eq!(r.ue().unwrap(), 4);
        // se: 010 -> 1, 011 -> -1
        let mut r = BitReader::new(&[0b0100_1100], "t");
        assert_eq!(r.se().unwrap(), 1);
        assert_eq!(r.se().unwrap(), -1);
    }

    #[test]
    fn overlong_exp_golomb_is_an_error_not_a_panic() {
        let mut r = BitReader::new(&[0; 8], "t");
        assert!(matches!(r.ue(), Err(MediaError::Invalid { .. })));
        let mut r = BitReader::new(&[0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF], "t");
        assert_eq!(r.ue().unwrap(), u32::MAX - 1);
    }

    #[test]
    fn emulation_prevention_bytes_are_removed() {
        assert_eq!(
            unescape_rbsp(&[0, 0, 3, 1, 0, 0, 3, 0, 0, 3]),
            vec![0, 0, 1, 0, 0, 0, 0]
        );
        assert_eq!(unescape_rbsp(&[0, 3, 0, 0, 0, 3]), vec![0, 3, 0, 0, 0]);
    }
}
