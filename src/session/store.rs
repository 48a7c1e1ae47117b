//! The outbox: the ordered store of outbound PUBLISH packets not yet
//! acknowledged, whether already sent or still waiting for the in-flight
//! window or a connection.
//!
//! A ring of variable-length entries in a caller-sized byte buffer. Entries
//! are appended in publish order and freed in any order; space is reclaimed
//! from the oldest end, so acknowledgements that arrive in order (the common
//! case) cost O(1) and the order needed for resending is the ring order.
//!
//! Entry layout: `[len: u32 LE][packet id: u16 LE][flags: u8][0]` then `len`
//! bytes of the encoded packet. Each entry is contiguous: one that does not
//! fit before the end of the buffer starts again at offset 0.

use crate::Error;

const HEADER: usize = 8;

/// The entry holds a message not yet acknowledged.
pub const LIVE: u8 = 0x01;
/// The packet has been written to a connection at least once (resends set DUP).
pub const SENT: u8 = 0x02;
/// QoS 2: PUBREC arrived; only PUBREL remains to be (re)sent.
pub const RELEASED: u8 = 0x04;
/// Written on the current connection (counts against the in-flight window);
/// cleared when the connection closes.
pub const WIRE: u8 = 0x08;
/// MQTT 5: the server's limits refuse it (never sent; reported and freed
/// by `Session::take_refused`); the header's last byte holds the reason.
#[cfg(feature = "mqtt5")]
pub const REFUSED: u8 = 0x10;

/// True for an entry the server's limits refused (never without `mqtt5`).
#[inline(always)]
pub fn refused(flags: u8) -> bool {
    #[cfg(feature = "mqtt5")]
    return flags & REFUSED != 0;
    #[cfg(not(feature = "mqtt5"))]
    {
        let _ = flags;
        false
    }
}

/// Positions within the byte buffer. Unwrapped (`wrap_end` 0) the entries
/// lie in `[head, tail)`; wrapped in `[head, wrap_end)` then `[0, tail)`,
/// and `tail < head` always holds, so `cursor == tail` means the end.
/// (`wrap_end` doubles as the flag: an entry never ends at 0, and a `bool`
/// would pad the ring by 4 bytes.) Empty, the ring is all zeroes: `tail`
/// 0 means empty, as an entry never ends at 0 (no count of entries kept).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ring {
    head: usize,
    tail: usize,
    wrap_end: usize,
}

/// What an entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub packet_id: u16,
    pub flags: u8,
    /// Offset of the packet bytes.
    pub data: usize,
    pub len: usize,
}

impl Ring {
    /// True when no entry (live or awaiting reclaim) is stored.
    pub fn is_empty(&self) -> bool {
        self.tail == 0
    }

    /// Finds room for a packet of `len` bytes, or says why there is none.
    /// Offset 0 means the ring is empty or the entry wraps to the start
    /// (an entry of a non-empty ring never starts at the tail when that is
    /// 0: the tail is 0 only when empty).
    fn place(&self, capacity: usize, len: usize) -> Result<usize, Error> {
        let size = HEADER + len;
        if size > capacity {
            return Err(Error::PacketTooLarge);
        }
        if self.is_empty() {
            return Ok(0);
        }
        if self.wrap_end != 0 {
            if self.tail + size < self.head {
                return Ok(self.tail);
            }
        } else if self.tail + size <= capacity {
            return Ok(self.tail);
        } else if size < self.head {
            return Ok(0);
        }
        Err(Error::StoreFull)
    }

    /// Room for an entry of `len` packet bytes, its header written there
    /// (free space until [`commit`](Self::commit)): where it goes and its
    /// packet bytes. The header goes in first so that nothing of it is
    /// kept across the write of the packet (a smaller frame there).
    #[inline(always)]
    pub fn reserve<'b>(
        &self,
        buf: &'b mut [u8],
        packet_id: u16,
        flags: u8,
        len: usize,
    ) -> Result<(usize, &'b mut [u8]), Error> {
        let at = self.place(buf.len(), len)?;
        // One bounds check for the whole entry, no panic path (`place`
        // found room for it: never `None`). `..HEADER + len` of the rest,
        // not `at..at + HEADER + len`: a slice the compiler knows is that
        // long, so the header split needs no test of its own.
        let Some((header, data)) = buf
            .get_mut(at..)
            .and_then(|rest| rest.get_mut(..HEADER + len))
            .and_then(|entry| entry.split_first_chunk_mut::<HEADER>())
        else {
            return Err(Error::StoreFull);
        };
        let [l0, l1, l2, l3] = (len as u32).to_le_bytes();
        let [i0, i1] = packet_id.to_le_bytes();
        *header = [l0, l1, l2, l3, i0, i1, flags, 0];
        Ok((at, data))
    }

    /// Adds the entry [`reserve`](Self::reserve) found room for at `at`,
    /// its packet bytes written. Returns `at`.
    #[inline(always)]
    pub fn commit(&mut self, at: usize, len: usize) -> usize {
        if at == 0 {
            // Wrapped: the old tail (never 0, the ring holds an entry)
            // ends the entries before the start. Or empty: the ring is all
            // zeroes (see `free`), so this writes 0 over 0. Only the offset
            // is kept across the packet's write, not a flag beside it.
            self.wrap_end = self.tail;
        }
        self.tail = at + HEADER + len;
        at
    }

    /// Appends an entry and lets `write` fill its `len` packet bytes.
    /// Returns the entry's offset.
    pub fn push(
        &mut self,
        buf: &mut [u8],
        packet_id: u16,
        flags: u8,
        len: usize,
        write: impl FnOnce(&mut [u8]) -> Result<usize, Error>,
    ) -> Result<usize, Error> {
        let (at, data) = self.reserve(buf, packet_id, flags, len)?;
        let written = write(data)?;
        debug_assert_eq!(written, len);
        Ok(self.commit(at, len))
    }

    /// Reads the entry at `at`.
    // Inline: built in registers, not in the caller's frame (`pump`, under
    // the decoder's frame: 8 B of the deepest stack).
    #[inline(always)]
    pub fn entry(&self, buf: &[u8], at: usize) -> Entry {
        // Zeroes when not in `buf` (never), as `header` gives.
        self.get(buf, at).unwrap_or(Entry {
            packet_id: 0,
            flags: 0,
            data: at + HEADER,
            len: 0,
        })
    }

    /// Reads the entry at `at`; `None` only if it is not in `buf`, which
    /// never happens (`pump` builds no zeroed entry for that case).
    #[inline(always)]
    pub fn get(&self, buf: &[u8], at: usize) -> Option<Entry> {
        let [l0, l1, l2, l3, i0, i1, flags, _] = *buf.get(at..)?.first_chunk::<HEADER>()?;
        Some(Entry {
            packet_id: u16::from_le_bytes([i0, i1]),
            flags,
            data: at + HEADER,
            len: u32::from_le_bytes([l0, l1, l2, l3]) as usize,
        })
    }

    /// The flags of the entry at `at`, read in place (no `Entry` in memory:
    /// a smaller frame in `free`, `next_live` and their callers).
    pub fn flags(&self, buf: &[u8], at: usize) -> u8 {
        header(buf, at)[6]
    }

    /// Changes the flags of the entry at `at`.
    pub fn set_flags(&self, buf: &mut [u8], at: usize, flags: u8) {
        if let Some(byte) = buf.get_mut(at + 6) {
            *byte = flags;
        }
    }

    /// Clears `flag` in the entry at `at`: read and written through one
    /// bounds check (`flags` then `set_flags` took two).
    pub fn clear_flag(&self, buf: &mut [u8], at: usize, flag: u8) {
        if let Some(byte) = buf.get_mut(at + 6) {
            *byte &= !flag;
        }
    }

    /// MQTT 5: marks the entry at `at` refused, with `reason`.
    #[cfg(feature = "mqtt5")]
    pub fn refuse(&self, buf: &mut [u8], at: usize, reason: u8) {
        buf[at + 6] |= REFUSED;
        buf[at + 7] = reason;
    }

    /// MQTT 5: the reason the entry at `at` was refused with.
    #[cfg(feature = "mqtt5")]
    pub fn refusal(&self, buf: &[u8], at: usize) -> u8 {
        buf[at + 7]
    }

    /// The oldest entry, if any.
    pub fn first(&self) -> Option<usize> {
        (!self.is_empty()).then_some(self.head)
    }

    /// The entry after the one at `at`, if any.
    #[inline(always)]
    pub fn next(&self, buf: &[u8], at: usize) -> Option<usize> {
        self.after(buf, at, false)
    }

    /// The first live entry after the one at `at`, if any.
    #[inline(always)]
    pub fn next_live(&self, buf: &[u8], at: usize) -> Option<usize> {
        self.after(buf, at, true)
    }

    /// The first entry after the one at `at` (with `live`, the first live
    /// one), if any: one out-of-line walk for both, not a `next_live`
    /// that calls `next`.
    #[inline(never)]
    fn after(&self, buf: &[u8], mut at: usize, live: bool) -> Option<usize> {
        loop {
            // Only the length, read in place: an `Entry` built in memory
            // would give this a frame.
            let [l0, l1, l2, l3, ..] = header(buf, at);
            let mut next = at + HEADER + u32::from_le_bytes([l0, l1, l2, l3]) as usize;
            // `next` is never 0, so an unwrapped ring never matches.
            if next == self.wrap_end {
                next = 0;
            }
            if next == self.tail {
                return None;
            }
            if !live || self.flags(buf, next) & LIVE != 0 {
                return Some(next);
            }
            at = next;
        }
    }

    /// Marks the entry at `at` dead and reclaims dead entries at the head.
    pub fn free(&mut self, buf: &mut [u8], at: usize) {
        self.set_flags(buf, at, 0);
        if self.is_empty() || self.flags(buf, self.head) & LIVE != 0 {
            return;
        }
        // The head is dead: the first live entry after it is the new head
        // (one walk over the dead ones between).
        match self.next_live(buf, self.head) {
            Some(next) => {
                // Found past the wrap: the entries before it are gone.
                if next < self.head {
                    self.wrap_end = 0;
                }
                self.head = next;
            }
            // None live: empty, all zeroes again.
            None => *self = Ring::default(),
        }
    }
}

/// The header of the entry at `at`. One bounds check for all of it (this
/// runs several times per message), and no panic path: an entry always lies
/// in the buffer (zeroes otherwise, as for `set_flags`, which then writes
/// nothing).
#[inline(always)]
fn header(buf: &[u8], at: usize) -> [u8; HEADER] {
    buf.get(at..)
        .and_then(<[u8]>::first_chunk)
        .copied()
        .unwrap_or([0; HEADER])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(ring: &mut Ring, buf: &mut [u8], id: u16, len: usize) -> Result<usize, Error> {
        ring.push(buf, id, LIVE, len, |out| {
            out.fill(id as u8);
            Ok(out.len())
        })
    }

    fn ids(ring: &Ring, buf: &[u8]) -> Vec<u16> {
        let mut out = Vec::new();
        let mut at = ring.first();
        while let Some(pos) = at {
            let entry = ring.entry(buf, pos);
            if entry.flags & LIVE != 0 {
                out.push(entry.packet_id);
            }
            at = ring.next(buf, pos);
        }
        out
    }

    #[test]
    fn keeps_order_across_wrap_and_out_of_order_frees() {
        let mut buf = [0u8; 100];
        let mut ring = Ring::default();
        let a = push(&mut ring, &mut buf, 1, 22).unwrap(); // 30 bytes
        let b = push(&mut ring, &mut buf, 2, 22).unwrap();
        let c = push(&mut ring, &mut buf, 3, 22).unwrap(); // tail at 90
        assert_eq!(push(&mut ring, &mut buf, 4, 22), Err(Error::StoreFull));
        ring.free(&mut buf, b); // hole in the middle: no space reclaimed yet
        assert_eq!(push(&mut ring, &mut buf, 4, 22), Err(Error::StoreFull));
        ring.free(&mut buf, a); // head jumps over a and b
        let d = push(&mut ring, &mut buf, 4, 22).unwrap();
        assert_eq!(d, 0, "wraps to the start");
        assert_eq!(ids(&ring, &buf), vec![3, 4]);
        ring.free(&mut buf, c);
        assert_eq!(ids(&ring, &buf), vec![4]);
        let e = push(&mut ring, &mut buf, 5, 50).unwrap();
        assert_eq!(ids(&ring, &buf), vec![4, 5]);
        assert_eq!(ring.entry(&buf, e).len, 50);
        assert!(buf[ring.entry(&buf, e).data..][..50]
            .iter()
            .all(|&b| b == 5));
        ring.free(&mut buf, d);
        ring.free(&mut buf, e);
        assert!(ring.is_empty());
        assert_eq!(push(&mut ring, &mut buf, 6, 92).unwrap(), 0);
    }

    #[test]
    fn refuses_an_entry_larger_than_the_buffer() {
        let mut buf = [0u8; 64];
        let mut ring = Ring::default();
        assert_eq!(push(&mut ring, &mut buf, 1, 57), Err(Error::PacketTooLarge));
        assert!(push(&mut ring, &mut buf, 1, 56).is_ok());
    }

    #[test]
    fn many_cycles_never_lose_order() {
        let mut buf = [0u8; 256];
        let mut ring = Ring::default();
        let mut live: std::collections::VecDeque<(u16, usize)> = Default::default();
        let mut next_id = 1u16;
        for round in 0..5_000usize {
            let len = (round * 7) % 40;
            match push(&mut ring, &mut buf, next_id, len) {
                Ok(at) => {
                    live.push_back((next_id, at));
                    next_id = next_id.wrapping_add(1).max(1);
                }
                Err(Error::StoreFull) => {
                    // Free the second-oldest first now and then: out of order.
                    let index = if round % 3 == 0 && live.len() > 1 {
                        1
                    } else {
                        0
                    };
                    let (_, at) = live.remove(index).unwrap();
                    ring.free(&mut buf, at);
                }
                Err(other) => panic!("unexpected {other:?}"),
            }
            let expected: Vec<u16> = live.iter().map(|&(id, _)| id).collect();
            assert_eq!(ids(&ring, &buf), expected, "round {round}");
        }
    }
}
