//! The subscriptions a client remembers: filter, QoS and an optional
//! handler per entry, so that it can subscribe again when the broker lost
//! the session, and route received messages to per-filter handlers.
//!
//! Like the session, the table never allocates: it lives in a fixed-size
//! array (firmware), a caller's slices (firmware that places everything
//! itself) or boxed slices sized at run time (hosts). The filters lie back
//! to back in a byte pool, in entry order, and each entry keeps only its
//! filter's length: no per-entry maximum wastes memory, and offsets are
//! summed while walking the entries (tables are short, and matching a topic
//! walks them all anyway).

use core::marker::PhantomData;

use crate::codec::{QoS, SubscribeTopic};
use crate::topic;
use crate::Error;

/// What remains to be sent for an entry made while offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Pending {
    /// Nothing: the broker has it (or had it before a session loss).
    None,
    /// Subscribed while offline: SUBSCRIBE goes out after the next CONNACK.
    Subscribe,
    /// Unsubscribed while offline: UNSUBSCRIBE goes out after the next
    /// CONNACK if the broker kept the session; the entry then goes.
    Unsubscribe,
}

/// What an MQTT 5 subscription asked for beyond its QoS, resent when it
/// is made again after a reconnect: the options (No Local, Retain As
/// Published, Retain Handling; their `qos` is the entry's) and the
/// Subscription Identifier (0: none).
#[cfg(feature = "mqtt5")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct V5Subscription {
    pub options: crate::codec::v5::SubscriptionOptions,
    pub identifier: u32,
}

/// One remembered subscription; the filter bytes live in the table's byte pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<H> {
    /// Length of the filter in the pool (MQTT strings fit in 16 bits).
    len: u16,
    qos: QoS,
    pending: Pending,
    handler: Option<H>,
    #[cfg(feature = "mqtt5")]
    v5: V5Subscription,
}

impl<H> Entry<H> {
    /// An unused entry, for array initialisers.
    pub const EMPTY: Self = Entry {
        len: 0,
        qos: QoS::AtMostOnce,
        pending: Pending::None,
        handler: None,
        #[cfg(feature = "mqtt5")]
        v5: V5Subscription {
            options: crate::codec::v5::SubscriptionOptions {
                qos: QoS::AtMostOnce,
                no_local: false,
                retain_as_published: false,
                retain_handling: crate::codec::v5::RetainHandling::SendAtSubscribe,
            },
            identifier: 0,
        },
    };
}

impl<H> Default for Entry<H> {
    fn default() -> Self {
        Self::EMPTY
    }
}

/// Memory a subscription table lives in: entries and a byte pool for the
/// filters. The two slices must be the same on every call.
pub trait TableMemory<H> {
    /// Entries and pool, mutably.
    fn parts(&mut self) -> (&mut [Entry<H>], &mut [u8]);
    /// Entries and pool, read-only.
    fn view(&self) -> (&[Entry<H>], &[u8]);
}

/// A table in fixed-size arrays: for firmware, as a `static` or on the stack.
pub struct ArrayTable<H, const ENTRIES: usize, const BYTES: usize> {
    entries: [Entry<H>; ENTRIES],
    bytes: [u8; BYTES],
}

impl<H, const ENTRIES: usize, const BYTES: usize> ArrayTable<H, ENTRIES, BYTES> {
    /// Empty memory, usable in a `static` initializer.
    pub const fn new() -> Self {
        ArrayTable {
            entries: [Entry::EMPTY; ENTRIES],
            bytes: [0; BYTES],
        }
    }
}

impl<H, const ENTRIES: usize, const BYTES: usize> Default for ArrayTable<H, ENTRIES, BYTES> {
    fn default() -> Self {
        Self::new()
    }
}

impl<H, const ENTRIES: usize, const BYTES: usize> TableMemory<H> for ArrayTable<H, ENTRIES, BYTES> {
    fn parts(&mut self) -> (&mut [Entry<H>], &mut [u8]) {
        (&mut self.entries, &mut self.bytes)
    }

    fn view(&self) -> (&[Entry<H>], &[u8]) {
        (&self.entries, &self.bytes)
    }
}

/// A table in memory the caller lends as slices. Their contents need no
/// initialising: the table starts empty whatever they hold.
pub struct SliceTable<'a, H> {
    pub entries: &'a mut [Entry<H>],
    pub bytes: &'a mut [u8],
}

impl<H> TableMemory<H> for SliceTable<'_, H> {
    fn parts(&mut self) -> (&mut [Entry<H>], &mut [u8]) {
        (self.entries, self.bytes)
    }

    fn view(&self) -> (&[Entry<H>], &[u8]) {
        (self.entries, self.bytes)
    }
}

/// A table sized at run time, on the heap (hosts). It is allocated once
/// and never grows.
#[cfg(feature = "std")]
pub struct HeapTable<H> {
    entries: Box<[Entry<H>]>,
    bytes: crate::session::Zeroed<u8>,
}

#[cfg(feature = "std")]
impl<H> HeapTable<H> {
    /// Room for `entries` subscriptions whose filters total at most `bytes`
    /// bytes, or [`Error::NoMemory`] when the allocation fails.
    pub fn try_new(entries: usize, bytes: usize) -> Result<Self, Error> {
        Ok(HeapTable {
            entries: try_boxed(entries, || Entry::EMPTY)?,
            bytes: crate::session::Zeroed::try_new(bytes)?,
        })
    }
}

/// A boxed slice of `len` items, without the abort `vec!` gives when the
/// memory is not there.
#[cfg(feature = "std")]
fn try_boxed<T>(len: usize, item: impl FnMut() -> T) -> Result<Box<[T]>, Error> {
    let mut items = Vec::new();
    items.try_reserve_exact(len).map_err(|_| Error::NoMemory)?;
    items.resize_with(len, item);
    Ok(items.into_boxed_slice())
}

#[cfg(feature = "std")]
impl<H> TableMemory<H> for HeapTable<H> {
    fn parts(&mut self) -> (&mut [Entry<H>], &mut [u8]) {
        (&mut self.entries, &mut self.bytes)
    }

    fn view(&self) -> (&[Entry<H>], &[u8]) {
        (&self.entries, &self.bytes)
    }
}

/// The remembered subscriptions, in the order they were first made.
///
/// `H` is whatever identifies a handler: a function pointer, an index, a
/// C callback and its context.
pub struct Subscriptions<M, H> {
    memory: M,
    fill: Fill,
    _handler: PhantomData<H>,
}

/// How much of the table is in use: the first `count` of the memory's
/// entries, and the first `used` pool bytes (the sum of those entries'
/// lengths). 16 bits each: a table holds at most 65,535 filters and 65,535
/// filter bytes, and costs firmware 4 bytes of client.
#[cfg(feature = "subscriptions")]
#[derive(Clone, Copy)]
struct Fill {
    count: u16,
    used: u16,
}

/// Without the `subscriptions` feature there is no table: it stays empty
/// and costs no bytes of client.
#[cfg(not(feature = "subscriptions"))]
#[derive(Clone, Copy)]
struct Fill;

impl Fill {
    /// Whether a table can hold anything (the feature is on).
    const HOLDS: bool = cfg!(feature = "subscriptions");

    const EMPTY: Fill = {
        #[cfg(feature = "subscriptions")]
        let empty = Fill { count: 0, used: 0 };
        #[cfg(not(feature = "subscriptions"))]
        let empty = Fill;
        empty
    };

    fn count(self) -> u16 {
        #[cfg(feature = "subscriptions")]
        return self.count;
        #[cfg(not(feature = "subscriptions"))]
        0
    }

    fn used(self) -> u16 {
        #[cfg(feature = "subscriptions")]
        return self.used;
        #[cfg(not(feature = "subscriptions"))]
        0
    }

    #[cfg_attr(not(feature = "subscriptions"), allow(unused_variables))]
    fn set(&mut self, count: u16, used: u16) {
        #[cfg(feature = "subscriptions")]
        {
            *self = Fill { count, used };
        }
    }
}

impl<H: Copy, M: TableMemory<H>> Subscriptions<M, H> {
    /// An empty table in `memory` (whatever `memory` holds is ignored).
    #[inline(always)]
    pub const fn new(memory: M) -> Self {
        Subscriptions {
            memory,
            fill: Fill::EMPTY,
            _handler: PhantomData,
        }
    }

    /// How many subscriptions are remembered.
    pub fn len(&self) -> usize {
        usize::from(self.fill.count())
    }

    /// Pool bytes in use.
    fn used(&self) -> usize {
        usize::from(self.fill.used())
    }

    /// True when no subscription is remembered.
    pub fn is_empty(&self) -> bool {
        self.fill.count() == 0
    }

    /// Most entries and filter bytes it can hold: none without the
    /// `subscriptions` feature, whatever memory it was given (nothing is
    /// remembered there, so no caller may count on room).
    pub fn capacity(&self) -> (usize, usize) {
        if !Fill::HOLDS {
            return (0, 0);
        }
        let (entries, bytes) = self.memory.view();
        let most = usize::from(u16::MAX);
        (entries.len().min(most), bytes.len().min(most))
    }

    /// Adds `filter` with `qos`, or updates the QoS of an existing equal
    /// filter (keeping its place, so resubscribing keeps the original order).
    /// `handler`: `Some` replaces the entry's handler; `None` keeps whatever
    /// handler it had (a new entry gets none), so a plain re-subscribe does
    /// not lose the routing set up earlier.
    ///
    /// No entry slot or not enough pool bytes left:
    /// [`Error::SubscriptionsFull`], and nothing changes. A filter longer
    /// than 65,535 bytes (no MQTT string is): [`Error::StringTooLong`].
    pub fn remember(&mut self, filter: &str, qos: QoS, handler: Option<H>) -> Result<(), Error> {
        self.remember_as(filter, qos, handler, Pending::None)
    }

    /// Like [`remember`](Self::remember), for a subscription made while
    /// offline: its SUBSCRIBE is still to be sent
    /// ([`fill_pending`](Self::fill_pending)).
    pub fn remember_offline(
        &mut self,
        filter: &str,
        qos: QoS,
        handler: Option<H>,
    ) -> Result<(), Error> {
        self.remember_as(filter, qos, handler, Pending::Subscribe)
    }

    /// Unsubscribes from `filter` while offline: one still to be sent is
    /// simply forgotten; any other (or one not remembered) is marked for an
    /// UNSUBSCRIBE after the next CONNACK, and routes nothing meanwhile.
    pub fn forget_offline(&mut self, filter: &str) -> Result<(), Error> {
        let pending = self.find(filter).and_then(|(index, _, _)| {
            let (entries, _) = self.memory.view();
            entries.get(index).map(|entry| entry.pending)
        });
        if pending == Some(Pending::Subscribe) {
            self.forget(filter);
            return Ok(());
        }
        self.remember_as(filter, QoS::AtMostOnce, None, Pending::Unsubscribe)?;
        if let Some((index, _, _)) = self.find(filter) {
            if let Some(entry) = self.memory.parts().0.get_mut(index) {
                entry.handler = None;
            }
        }
        Ok(())
    }

    fn remember_as(
        &mut self,
        filter: &str,
        qos: QoS,
        handler: Option<H>,
        pending: Pending,
    ) -> Result<(), Error> {
        let len = u16::try_from(filter.len()).map_err(|_| Error::StringTooLong)?;
        let found = self.find(filter);
        let (count, used) = (self.len(), self.used());
        let (entries, bytes) = self.memory.parts();
        if let Some((index, _, _)) = found {
            if let Some(entry) = entries.get_mut(index) {
                entry.qos = qos;
                // A plain subscribe replaces what an MQTT 5 one asked for.
                #[cfg(feature = "mqtt5")]
                {
                    entry.v5 = Entry::<H>::EMPTY.v5;
                }
                if handler.is_some() {
                    entry.handler = handler;
                }
                // Subscribed again after an offline unsubscribe: the
                // broker may still have it, so SUBSCRIBE (idempotent) again.
                if pending != Pending::None || entry.pending == Pending::Unsubscribe {
                    entry.pending = if pending == Pending::None {
                        Pending::Subscribe
                    } else {
                        pending
                    };
                }
            }
            return Ok(());
        }
        let end = used + filter.len();
        let (Ok(new_used), Ok(new_count), true) =
            (u16::try_from(end), u16::try_from(count + 1), Fill::HOLDS)
        else {
            return Err(Error::SubscriptionsFull);
        };
        match (entries.get_mut(count), bytes.get_mut(used..end)) {
            (Some(entry), Some(pool)) => {
                pool.copy_from_slice(filter.as_bytes());
                *entry = Entry {
                    len,
                    qos,
                    pending,
                    handler,
                    #[cfg(feature = "mqtt5")]
                    v5: Entry::<H>::EMPTY.v5,
                };
            }
            _ => return Err(Error::SubscriptionsFull),
        }
        self.fill.set(new_count, new_used);
        Ok(())
    }

    /// Records what the MQTT 5 subscription to `filter` (remembered) asked
    /// for beyond its QoS.
    #[cfg(feature = "mqtt5")]
    pub fn set_v5(&mut self, filter: &str, v5: V5Subscription) {
        if let Some((index, _, _)) = self.find(filter) {
            if let Some(entry) = self.memory.parts().0.get_mut(index) {
                entry.v5 = v5;
            }
        }
    }

    /// What the subscription to `filter` asked for beyond its QoS (the
    /// defaults for one not made over MQTT 5 or not remembered).
    #[cfg(feature = "mqtt5")]
    pub fn v5_of(&self, filter: &str) -> V5Subscription {
        self.find(filter)
            .and_then(|(index, _, _)| self.live_entries().get(index))
            .map_or(Entry::<H>::EMPTY.v5, |entry| entry.v5)
    }

    /// Removes the entry with exactly this filter (and its handler); no-op
    /// if there is none. Returns true if one was removed. Later entries move
    /// down, so the order stays that of the subscriptions.
    pub fn forget(&mut self, filter: &str) -> bool {
        let Some((index, offset, len)) = self.find(filter) else {
            return false;
        };
        self.remove_at(index, offset, len);
        true
    }

    /// Removes entry `index`, whose filter lies at `offset` in the pool.
    fn remove_at(&mut self, index: usize, offset: usize, len: usize) {
        let (count, used) = (self.len(), self.used());
        let (entries, bytes) = self.memory.parts();
        // `find` saw the filter inside the used pool and entries, so both
        // checks hold; they only let the compiler drop the panic paths.
        if let Some(tail) = bytes.get_mut(offset..used) {
            if len <= tail.len() {
                tail.copy_within(len.., 0);
            }
        }
        if let Some(rest) = entries.get_mut(index..count) {
            if !rest.is_empty() {
                rest.copy_within(1.., 0);
            }
        }
        // `len` came from an entry, so it is at most `used` (a u16).
        self.fill.set(
            self.fill.count().wrapping_sub(1),
            self.fill.used().wrapping_sub(len as u16),
        );
    }

    /// Forgets every subscription.
    pub fn clear(&mut self) {
        self.fill = Fill::EMPTY;
    }

    /// True when SUBSCRIBEs or UNSUBSCRIBEs made offline wait to be sent.
    pub fn has_pending(&self) -> bool {
        self.live_entries()
            .iter()
            .any(|entry| entry.pending != Pending::None)
    }

    /// Fills `out` with the filters (and QoS) of entries whose `pending` is
    /// `kind`, from the `start`th such entry on; returns how many.
    pub fn fill_pending<'s>(
        &'s self,
        kind: Pending,
        start: usize,
        out: &mut [SubscribeTopic<'s>],
    ) -> usize {
        let matching = self
            .entries_with_pending()
            .filter(|(_, _, _, pending)| *pending == kind)
            .skip(start);
        let mut written = 0;
        for ((filter, qos, _, _), slot) in matching.zip(out.iter_mut()) {
            *slot = SubscribeTopic { filter, qos };
            written += 1;
        }
        written
    }

    /// After offline changes were sent (or made moot by a lost session):
    /// subscriptions count as made, unsubscribed entries go.
    pub fn settle_pending(&mut self) {
        // Bounded by the entries: each turn removes one or stops.
        loop {
            let unsubscribed = self
                .live_entries()
                .iter()
                .position(|entry| entry.pending == Pending::Unsubscribe);
            let Some((index, offset, len)) = unsubscribed.and_then(|at| self.nth_span(at)) else {
                break;
            };
            self.remove_at(index, offset, len);
        }
        let count = self.len();
        for entry in self.memory.parts().0.iter_mut().take(count) {
            entry.pending = Pending::None;
        }
    }

    /// The handler of the first entry, in insertion order, that has a
    /// handler and whose filter matches `topic`.
    pub fn handler_for(&self, topic: &str) -> Option<H> {
        self.iter().find_map(|(filter, _, handler)| match handler {
            Some(handler) if topic::matches(filter, topic) => Some(handler),
            _ => None,
        })
    }

    /// Calls `each` with the handler of every entry (in order) that has one
    /// and whose filter matches `topic`; returns how many were called (0: the
    /// message has no handler, and goes to the client's default one).
    pub fn each_handler_for(&self, topic: &str, mut each: impl FnMut(H)) -> usize {
        let mut called = 0;
        for (filter, _, handler) in self.iter() {
            if let Some(handler) = handler {
                if topic::matches(filter, topic) {
                    each(handler);
                    called += 1;
                }
            }
        }
        called
    }

    /// True when some entry has a handler, so callers can skip routing (and
    /// the UTF-8 check of topics it needs) when none does.
    pub fn has_handlers(&self) -> bool {
        self.live_entries()
            .iter()
            .any(|entry| entry.handler.is_some())
    }

    /// Fills `out` with entries from index `start` on (filter and QoS), as
    /// many as fit; returns how many were written. Resubscribing sends one
    /// SUBSCRIBE per chunk, from a caller-sized `out`, so no packet has to
    /// hold the whole table.
    pub fn fill_topics<'s>(&'s self, start: usize, out: &mut [SubscribeTopic<'s>]) -> usize {
        let mut written = 0;
        for ((filter, qos, _), slot) in self.iter().skip(start).zip(out.iter_mut()) {
            *slot = SubscribeTopic { filter, qos };
            written += 1;
        }
        written
    }

    /// Iterates over (filter, QoS, handler) of the subscriptions in force
    /// (not those unsubscribed offline), in the order they were first made.
    pub fn iter(&self) -> impl Iterator<Item = (&str, QoS, Option<H>)> + '_ {
        self.entries_with_pending()
            .filter(|(_, _, _, pending)| *pending != Pending::Unsubscribe)
            .map(|(filter, qos, handler, _)| (filter, qos, handler))
    }

    /// Every entry: (filter, QoS, handler, what is pending).
    #[allow(clippy::type_complexity)]
    fn entries_with_pending(&self) -> impl Iterator<Item = (&str, QoS, Option<H>, Pending)> + '_ {
        let (_, bytes) = self.memory.view();
        let mut pool = bytes.get(..self.used()).unwrap_or_default();
        self.live_entries().iter().map(move |entry| {
            let (filter, rest) = pool
                .split_at_checked(usize::from(entry.len))
                .unwrap_or((pool, &[]));
            pool = rest;
            // The bytes came from a `&str` and are split where its
            // filter ends, so this only fails if the memory is changed
            // behind the table's back; an empty filter then matches nothing.
            (
                crate::codec::from_utf8(filter).unwrap_or_default(),
                entry.qos,
                entry.handler,
                entry.pending,
            )
        })
    }

    /// Pool offset and length of entry `index`.
    fn nth_span(&self, index: usize) -> Option<(usize, usize, usize)> {
        let entries = self.live_entries();
        let offset = entries
            .get(..index)?
            .iter()
            .map(|e| usize::from(e.len))
            .sum();
        Some((index, offset, usize::from(entries.get(index)?.len)))
    }

    /// The entries in use.
    fn live_entries(&self) -> &[Entry<H>] {
        let (entries, _) = self.memory.view();
        entries.get(..self.len()).unwrap_or_default()
    }

    /// Index, pool offset and length of the entry whose filter is exactly
    /// `filter`.
    fn find(&self, filter: &str) -> Option<(usize, usize, usize)> {
        let (_, bytes) = self.memory.view();
        let pool = bytes.get(..self.used())?;
        let mut offset = 0;
        for (index, entry) in self.live_entries().iter().enumerate() {
            let len = usize::from(entry.len);
            if pool.get(offset..offset + len) == Some(filter.as_bytes()) {
                return Some((index, offset, len));
            }
            offset += len;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::RngSeed;
    use std::string::{String, ToString};
    use std::vec;
    use std::vec::Vec;

    type Table<const E: usize, const B: usize> = Subscriptions<ArrayTable<u32, E, B>, u32>;

    fn table<const E: usize, const B: usize>() -> Table<E, B> {
        Subscriptions::new(ArrayTable::new())
    }

    /// (filter, QoS, handler) of every entry, in order.
    fn contents<M: TableMemory<u32>>(
        subs: &Subscriptions<M, u32>,
    ) -> Vec<(String, QoS, Option<u32>)> {
        subs.iter()
            .map(|(filter, qos, handler)| (filter.to_string(), qos, handler))
            .collect()
    }

    /// The used part of the pool: the filters back to back.
    fn pool<M: TableMemory<u32>>(subs: &Subscriptions<M, u32>) -> &[u8] {
        &subs.memory.view().1[..subs.used()]
    }

    fn filters<M: TableMemory<u32>>(subs: &Subscriptions<M, u32>) -> Vec<String> {
        subs.iter()
            .map(|(filter, _, _)| filter.to_string())
            .collect()
    }

    const Q0: QoS = QoS::AtMostOnce;
    const Q1: QoS = QoS::AtLeastOnce;
    const Q2: QoS = QoS::ExactlyOnce;

    #[test]
    fn empty_entry_is_all_zero_bits() {
        // Firmware clears its table memory with one zero fill
        // (`ffi::firmware::carve_tables`), for entries with its handler type.
        type Handler = (unsafe extern "C" fn(*mut u8), *mut u8);
        // SAFETY: all zero bits are a valid entry (a zero length, the first
        // variant of each enum, no handler), which Miri checks.
        let zeroed: Entry<Handler> = unsafe { core::mem::zeroed() };
        assert_eq!(zeroed, Entry::EMPTY);
    }

    #[test]
    fn a_table_holds_at_most_65535_filter_bytes_whatever_its_memory() {
        let mut subs: Subscriptions<HeapTable<u32>, u32> =
            Subscriptions::new(HeapTable::try_new(4, 100_000).unwrap());
        assert_eq!(subs.capacity(), (4, 65_535));
        let long = "a".repeat(40_000);
        subs.remember(&long, Q1, Some(1)).unwrap();
        let longer = "b".repeat(25_535);
        subs.remember(&longer, Q1, Some(2)).unwrap();
        assert_eq!(
            subs.remember("c", Q1, Some(3)),
            Err(Error::SubscriptionsFull)
        );
        assert_eq!(filters(&subs), [long.clone(), longer]);
        assert!(subs.forget(&long));
        subs.remember("c", Q1, Some(3)).unwrap();
        assert_eq!(subs.len(), 2);
    }

    #[test]
    fn remember_update_forget_keep_order_and_bytes() {
        let mut subs = table::<8, 64>();
        assert!(subs.is_empty());
        assert_eq!(subs.capacity(), (8, 64));
        subs.remember("a/b", Q0, None).unwrap();
        subs.remember("sensors/#", Q1, Some(7)).unwrap();
        subs.remember("x", Q2, None).unwrap();
        assert_eq!(subs.len(), 3);
        assert_eq!(pool(&subs), b"a/bsensors/#x");

        // Updating keeps the place and the bytes.
        subs.remember("a/b", Q2, None).unwrap();
        assert_eq!(subs.len(), 3);
        assert_eq!(pool(&subs), b"a/bsensors/#x");
        assert_eq!(
            contents(&subs),
            vec![
                ("a/b".to_string(), Q2, None),
                ("sensors/#".to_string(), Q1, Some(7)),
                ("x".to_string(), Q2, None),
            ]
        );

        assert!(subs.forget("sensors/#"));
        assert!(!subs.forget("sensors/#"));
        assert!(!subs.forget("sensors"));
        assert_eq!(pool(&subs), b"a/bx");
        assert_eq!(
            contents(&subs),
            vec![("a/b".to_string(), Q2, None), ("x".to_string(), Q2, None)]
        );
        assert!(!subs.has_handlers());

        subs.clear();
        assert!(subs.is_empty());
        assert_eq!(subs.iter().count(), 0);
        assert_eq!(pool(&subs), b"");
        subs.remember("again", Q1, None).unwrap();
        assert_eq!(pool(&subs), b"again");
    }

    #[test]
    fn forget_first_middle_last_then_add_again() {
        let mut subs = table::<5, 32>();
        for filter in ["one", "two/2", "three", "f", "five/+"] {
            subs.remember(filter, Q1, None).unwrap();
        }
        assert_eq!(pool(&subs), b"onetwo/2threeffive/+");

        assert!(subs.forget("one"));
        assert_eq!(filters(&subs), ["two/2", "three", "f", "five/+"]);
        assert_eq!(pool(&subs), b"two/2threeffive/+");

        assert!(subs.forget("three"));
        assert_eq!(filters(&subs), ["two/2", "f", "five/+"]);
        assert_eq!(pool(&subs), b"two/2ffive/+");

        assert!(subs.forget("five/+"));
        assert_eq!(filters(&subs), ["two/2", "f"]);
        assert_eq!(pool(&subs), b"two/2f");

        subs.remember("one", Q2, Some(1)).unwrap();
        subs.remember("five/+", Q0, None).unwrap();
        subs.remember("three", Q1, None).unwrap();
        assert_eq!(filters(&subs), ["two/2", "f", "one", "five/+", "three"]);
        assert_eq!(pool(&subs), b"two/2fonefive/+three");
        assert_eq!(subs.handler_for("one"), Some(1));

        for filter in ["two/2", "f", "one", "five/+", "three"] {
            assert!(subs.forget(filter));
        }
        assert!(subs.is_empty());
        assert_eq!(subs.used(), 0);
    }

    #[test]
    fn full_by_entries_leaves_table_unchanged() {
        let mut subs = table::<2, 64>();
        subs.remember("a", Q0, Some(1)).unwrap();
        subs.remember("b", Q1, None).unwrap();
        let before = contents(&subs);
        assert_eq!(
            subs.remember("c", Q2, Some(3)),
            Err(Error::SubscriptionsFull)
        );
        assert_eq!(contents(&subs), before);
        assert_eq!(pool(&subs), b"ab");
        // An existing filter is still updated in a full table.
        subs.remember("b", Q2, Some(2)).unwrap();
        assert_eq!(subs.handler_for("b"), Some(2));
        assert_eq!(subs.len(), 2);
    }

    #[test]
    fn full_by_bytes_leaves_table_unchanged() {
        let mut subs = table::<8, 6>();
        subs.remember("abc", Q0, None).unwrap();
        let before = contents(&subs);
        assert_eq!(
            subs.remember("defg", Q1, Some(1)),
            Err(Error::SubscriptionsFull)
        );
        assert_eq!(contents(&subs), before);
        assert_eq!(pool(&subs), b"abc");
        // Exactly the rest of the pool fits.
        subs.remember("def", Q1, None).unwrap();
        assert_eq!(pool(&subs), b"abcdef");
        assert_eq!(subs.remember("g", Q1, None), Err(Error::SubscriptionsFull));
        assert_eq!(subs.len(), 2);
    }

    #[test]
    fn zero_capacity_table_is_always_full() {
        let mut subs = table::<0, 0>();
        assert_eq!(subs.capacity(), (0, 0));
        assert_eq!(subs.remember("a", Q0, None), Err(Error::SubscriptionsFull));
        assert_eq!(subs.remember("", Q0, None), Err(Error::SubscriptionsFull));
        assert!(!subs.forget("a"));
        assert_eq!(subs.handler_for("a"), None);
        assert_eq!(
            subs.fill_topics(
                0,
                &mut [SubscribeTopic {
                    filter: "",
                    qos: Q0
                }]
            ),
            0
        );

        let mut no_entries = table::<0, 16>();
        assert_eq!(
            no_entries.remember("a", Q0, None),
            Err(Error::SubscriptionsFull)
        );
        let mut no_bytes = table::<4, 0>();
        assert_eq!(
            no_bytes.remember("a", Q0, None),
            Err(Error::SubscriptionsFull)
        );
    }

    #[test]
    fn filter_longer_than_an_mqtt_string_is_refused() {
        let mut subs = table::<2, 8>();
        let long = "a".repeat(usize::from(u16::MAX) + 1);
        assert_eq!(subs.remember(&long, Q0, None), Err(Error::StringTooLong));
        assert!(subs.is_empty());
    }

    #[test]
    fn handler_replaced_or_kept() {
        let mut subs = table::<4, 32>();
        subs.remember("a/#", Q0, None).unwrap();
        assert!(!subs.has_handlers());
        assert_eq!(subs.handler_for("a/b"), None);

        subs.remember("a/#", Q1, Some(1)).unwrap();
        assert!(subs.has_handlers());
        assert_eq!(subs.handler_for("a/b"), Some(1));

        // None keeps the handler, Some replaces it; the QoS always changes.
        subs.remember("a/#", Q2, None).unwrap();
        assert_eq!(contents(&subs), vec![("a/#".to_string(), Q2, Some(1))]);
        subs.remember("a/#", Q0, Some(2)).unwrap();
        assert_eq!(contents(&subs), vec![("a/#".to_string(), Q0, Some(2))]);

        // Forgetting drops the handler with the entry.
        assert!(subs.forget("a/#"));
        assert!(!subs.has_handlers());
        subs.remember("a/#", Q0, None).unwrap();
        assert_eq!(subs.handler_for("a/b"), None);
    }

    #[test]
    fn handler_for_first_match_with_wildcards() {
        let mut subs = table::<8, 64>();
        subs.remember("a/x/c", Q0, None).unwrap(); // no handler: skipped
        subs.remember("a/+/c", Q0, Some(1)).unwrap();
        subs.remember("a/#", Q0, Some(2)).unwrap();
        subs.remember("#", Q0, Some(3)).unwrap();
        assert_eq!(subs.handler_for("a/x/c"), Some(1));
        assert_eq!(subs.handler_for("a/b/c"), Some(1));
        assert_eq!(subs.handler_for("a/b/d"), Some(2));
        assert_eq!(subs.handler_for("a"), Some(2));
        assert_eq!(subs.handler_for("b"), Some(3));
        // Wildcards at the first level never match `$` topics.
        assert_eq!(subs.handler_for("$SYS/x"), None);

        // Order is insertion order, not specificity.
        assert!(subs.forget("a/+/c"));
        subs.remember("a/+/c", Q0, Some(1)).unwrap();
        assert_eq!(subs.handler_for("a/b/c"), Some(2));
    }

    #[test]
    fn each_handler_for_counts_all_matches() {
        let mut subs = table::<8, 64>();
        subs.remember("a/+/c", Q0, Some(1)).unwrap();
        subs.remember("a/b/c", Q0, None).unwrap();
        subs.remember("a/#", Q0, Some(2)).unwrap();
        subs.remember("#", Q0, Some(3)).unwrap();
        subs.remember("z", Q0, Some(4)).unwrap();
        let mut seen = Vec::new();
        assert_eq!(subs.each_handler_for("a/b/c", |h| seen.push(h)), 3);
        assert_eq!(seen, [1, 2, 3]);
        seen.clear();
        assert_eq!(subs.each_handler_for("z", |h| seen.push(h)), 2);
        assert_eq!(seen, [3, 4]);
        assert_eq!(subs.each_handler_for("$SYS/x", |_| unreachable!()), 0);
    }

    #[test]
    fn fill_topics_in_chunks() {
        let mut subs = table::<8, 64>();
        let all = [
            ("t/0", Q0),
            ("t/1", Q1),
            ("t/2", Q2),
            ("t/3", Q0),
            ("t/4", Q1),
        ];
        for (filter, qos) in all {
            subs.remember(filter, qos, None).unwrap();
        }
        let mut got = Vec::new();
        let mut chunks = Vec::new();
        let mut start = 0;
        loop {
            let mut out = [SubscribeTopic {
                filter: "",
                qos: Q0,
            }; 2];
            let n = subs.fill_topics(start, &mut out);
            if n == 0 {
                break;
            }
            chunks.push(n);
            got.extend(out[..n].iter().map(|t| (t.filter, t.qos)));
            start += n;
        }
        assert_eq!(chunks, [2, 2, 1]);
        assert_eq!(got, all);
        assert_eq!(
            subs.fill_topics(
                99,
                &mut [SubscribeTopic {
                    filter: "",
                    qos: Q0
                }]
            ),
            0
        );
        assert_eq!(subs.fill_topics(0, &mut []), 0);
    }

    #[test]
    fn slice_table_ignores_what_its_memory_held() {
        let mut entries = [Entry {
            len: 9,
            qos: Q2,
            pending: Pending::Subscribe,
            handler: Some(5u32),
            ..Entry::EMPTY
        }; 3];
        let mut bytes = [b'z'; 10];
        let mut subs = Subscriptions::new(SliceTable {
            entries: &mut entries,
            bytes: &mut bytes,
        });
        assert!(subs.is_empty());
        assert!(!subs.has_handlers());
        assert_eq!(subs.capacity(), (3, 10));
        subs.remember("a/b", Q1, None).unwrap();
        assert_eq!(contents(&subs), vec![("a/b".to_string(), Q1, None)]);
    }

    #[cfg(feature = "std")]
    #[test]
    fn heap_table_sizes_and_allocation_failure() {
        let mut subs = Subscriptions::new(HeapTable::<u32>::try_new(2, 5).unwrap());
        assert_eq!(subs.capacity(), (2, 5));
        subs.remember("ab", Q0, Some(1)).unwrap();
        subs.remember("cde", Q0, None).unwrap();
        assert_eq!(subs.remember("f", Q0, None), Err(Error::SubscriptionsFull));
        assert!(matches!(
            HeapTable::<u32>::try_new(usize::MAX, 0),
            Err(Error::NoMemory)
        ));
        assert!(matches!(
            HeapTable::<u32>::try_new(0, usize::MAX),
            Err(Error::NoMemory)
        ));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Remember(String, QoS, Option<u32>),
        Forget(String),
        Clear,
    }

    fn qos() -> impl Strategy<Value = QoS> {
        prop_oneof![Just(Q0), Just(Q1), Just(Q2)]
    }

    /// Few characters and short filters, so that filters repeat and the
    /// small tables fill up.
    fn filter() -> impl Strategy<Value = String> {
        "[ab/+#]{0,4}"
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (filter(), qos(), proptest::option::of(0u32..4))
                .prop_map(|(f, q, h)| Op::Remember(f, q, h)),
            3 => filter().prop_map(Op::Forget),
            1 => Just(Op::Clear),
        ]
    }

    /// Fixed seed and no regression files: the same cases on every run.
    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: 512,
            rng_seed: RngSeed::Fixed(0x7375_6273_6372_6962),
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    type Model = Vec<(String, QoS, Option<u32>)>;

    fn model_remember(
        model: &mut Model,
        (entries, bytes): (usize, usize),
        filter: &str,
        qos: QoS,
        handler: Option<u32>,
    ) -> Result<(), Error> {
        if let Some(entry) = model.iter_mut().find(|e| e.0 == filter) {
            entry.1 = qos;
            entry.2 = handler.or(entry.2);
            return Ok(());
        }
        let used: usize = model.iter().map(|e| e.0.len()).sum();
        if model.len() == entries || used + filter.len() > bytes {
            return Err(Error::SubscriptionsFull);
        }
        model.push((filter.to_string(), qos, handler));
        Ok(())
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn prop_matches_vec_model(
            entries in 0usize..5,
            bytes in 0usize..16,
            ops in proptest::collection::vec(op(), 0..40),
            topics in proptest::collection::vec("[ab/$]{1,4}", 1..4),
        ) {
            let mut entry_memory = vec![Entry::<u32>::EMPTY; entries];
            let mut byte_memory = vec![0u8; bytes];
            let mut subs = Subscriptions::new(SliceTable {
                entries: &mut entry_memory,
                bytes: &mut byte_memory,
            });
            let mut model = Model::new();
            for op in ops {
                match op {
                    Op::Remember(filter, qos, handler) => {
                        let want = model_remember(&mut model, (entries, bytes), &filter, qos, handler);
                        prop_assert_eq!(subs.remember(&filter, qos, handler), want);
                    }
                    Op::Forget(filter) => {
                        let at = model.iter().position(|e| e.0 == filter);
                        if let Some(at) = at {
                            model.remove(at);
                        }
                        prop_assert_eq!(subs.forget(&filter), at.is_some());
                    }
                    Op::Clear => {
                        model.clear();
                        subs.clear();
                    }
                }
                prop_assert_eq!(contents(&subs), model.clone());
                prop_assert_eq!(subs.len(), model.len());
                let concatenated: String = model.iter().map(|e| e.0.as_str()).collect();
                prop_assert_eq!(pool(&subs), concatenated.as_bytes());
                prop_assert_eq!(subs.has_handlers(), model.iter().any(|e| e.2.is_some()));
                for topic in &topics {
                    let matching: Vec<u32> = model
                        .iter()
                        .filter(|e| topic::matches(&e.0, topic))
                        .filter_map(|e| e.2)
                        .collect();
                    prop_assert_eq!(subs.handler_for(topic), matching.first().copied());
                    let mut seen = Vec::new();
                    prop_assert_eq!(subs.each_handler_for(topic, |h| seen.push(h)), matching.len());
                    prop_assert_eq!(seen, matching);
                }
                let mut out = [SubscribeTopic { filter: "", qos: Q0 }; 2];
                let start = model.len() / 2;
                let n = subs.fill_topics(start, &mut out);
                prop_assert_eq!(n, (model.len() - start).min(2));
                for (got, want) in out[..n].iter().zip(&model[start..]) {
                    prop_assert_eq!((got.filter, got.qos), (want.0.as_str(), want.1));
                }
            }
        }
    }

    #[test]
    fn offline_changes_wait_for_the_next_connack() {
        fn pending(
            subs: &Subscriptions<ArrayTable<u32, 8, 64>, u32>,
            kind: Pending,
        ) -> Vec<(String, QoS)> {
            let mut out = [SubscribeTopic {
                filter: "",
                qos: Q0,
            }; 8];
            let n = subs.fill_pending(kind, 0, &mut out);
            out[..n]
                .iter()
                .map(|t| (t.filter.to_string(), t.qos))
                .collect()
        }
        let mut subs: Subscriptions<ArrayTable<u32, 8, 64>, u32> =
            Subscriptions::new(ArrayTable::new());
        subs.remember("old/a", Q1, Some(1)).unwrap();
        subs.remember("old/b", Q1, None).unwrap();
        subs.remember_offline("new/+", Q2, Some(2)).unwrap();
        subs.forget_offline("old/a").unwrap();
        subs.forget_offline("never/seen").unwrap();
        // A new offline subscription unsubscribed offline was never sent.
        subs.remember_offline("gone", Q0, None).unwrap();
        subs.forget_offline("gone").unwrap();
        assert!(subs.has_pending());
        assert_eq!(
            pending(&subs, Pending::Subscribe),
            [("new/+".to_string(), Q2)]
        );
        let unsubscribed: Vec<String> = pending(&subs, Pending::Unsubscribe)
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(unsubscribed, ["old/a", "never/seen"]);
        // Unsubscribed entries route nothing and are not resubscribed.
        assert_eq!(subs.handler_for("old/a"), None);
        assert_eq!(subs.handler_for("new/x"), Some(2));
        let filters: Vec<&str> = subs.iter().map(|(f, _, _)| f).collect();
        assert_eq!(filters, ["old/b", "new/+"]);
        subs.settle_pending();
        assert!(!subs.has_pending());
        let filters: Vec<&str> = subs.iter().map(|(f, _, _)| f).collect();
        assert_eq!(filters, ["old/b", "new/+"]);
        assert_eq!(subs.len(), 2);
        // Subscribing again to something unsubscribed offline sends it again.
        subs.forget_offline("old/b").unwrap();
        subs.remember("old/b", Q1, None).unwrap();
        assert_eq!(
            pending(&subs, Pending::Subscribe),
            [("old/b".to_string(), Q1)]
        );
        assert_eq!(subs.handler_for("old/b"), None);
    }
}
