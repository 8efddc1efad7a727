//! Shared by the targets: splitting one input into the reads a socket would deliver.

#![allow(dead_code)]

/// Largest read of each split pattern (chosen by the low three bits of the mode byte): the
/// whole input at once, single bytes, small reads, one handshake packet, a typical socket read.
const MAX_READ: [usize; 8] = [usize::MAX, 1, 7, 64, 1537, 4096, 65_536, 13];

/// Splits `data` into reads at points chosen by `mode` (the input's first byte, so the fuzzer
/// chooses them): pattern `mode & 7`, sizes drawn from a generator seeded by `mode`.
pub fn reads(mode: u8, data: &[u8]) -> Vec<&[u8]> {
    let max = MAX_READ[usize::from(mode & 7)];
    let mut state = u32::from(mode).wrapping_mul(0x9E37_79B9) | 1;
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        // xorshift32
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let size = if max == usize::MAX {
            rest.len()
        } else {
            1 + (state as usize) % max
        };
        let (read, tail) = rest.split_at(size.min(rest.len()));
        out.push(read);
        rest = tail;
    }
    out
}

/// A socket that delivers `reads` one per `read` call, then end of stream; writes vanish.
pub struct Socket<'a> {
    reads: std::vec::IntoIter<&'a [u8]>,
    current: &'a [u8],
}

impl<'a> Socket<'a> {
    /// A socket delivering `reads` in order.
    pub fn new(reads: Vec<&'a [u8]>) -> Self {
        Socket {
            reads: reads.into_iter(),
            current: &[],
        }
    }
}

impl std::io::Read for Socket<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.current.is_empty() {
            match self.reads.next() {
                Some(next) => self.current = next,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = &self.current[n..];
        Ok(n)
    }
}

impl std::io::Write for Socket<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
