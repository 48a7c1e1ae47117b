//! Where a session keeps its tables and buffers. The session never
//! allocates: its memory is a fixed-size array (firmware), a caller's slices
//! (firmware that places everything itself) or boxed slices sized at run
//! time (hosts).

use super::SessionConfig;

/// What a slot of the packet-id table is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotKind {
    /// Not in use.
    Free,
    /// An outbound QoS 1 PUBLISH waiting for PUBACK.
    AwaitPubAck,
    /// An outbound QoS 2 PUBLISH waiting for PUBREC.
    AwaitPubRec,
    /// An outbound QoS 2 message released with PUBREL, waiting for PUBCOMP.
    AwaitPubComp,
    /// A SUBSCRIBE waiting for SUBACK.
    AwaitSubAck,
    /// An UNSUBSCRIBE waiting for UNSUBACK.
    AwaitUnsubAck,
}

/// One entry of the packet-id table. The table is indexed by
/// `packet_id % table length`, so finding an acknowledged packet costs the
/// same with a window of 65,535 as with a window of 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub(crate) packet_id: u16,
    pub(crate) kind: SlotKind,
    /// PUBLISH: offset of the stored copy in the message store. SUBSCRIBE:
    /// how many filters the SUBACK must answer. One field for both (a slot
    /// is one or the other): 8 bytes a slot instead of 12.
    pub(crate) store_offset_or_filters: u32,
}

impl Slot {
    /// An unused slot.
    pub const FREE: Slot = Slot {
        packet_id: 0,
        kind: SlotKind::Free,
        store_offset_or_filters: 0,
    };
}

impl Default for Slot {
    fn default() -> Self {
        Slot::FREE
    }
}

/// The session's memory, borrowed all at once.
pub struct Parts<'m> {
    /// Packet-id table: outbound QoS 1/2 publishes and pending (UN)SUBSCRIBEs.
    pub slots: &'m mut [Slot],
    /// Copies of unacknowledged outbound PUBLISH packets, for resending.
    pub store: &'m mut [u8],
    /// Inbound QoS 2 messages delivered and awaiting PUBREL: a list of
    /// packet ids (0 = free), or, with exactly
    /// [`INBOUND_QOS2_BITMAP_WORDS`](super::INBOUND_QOS2_BITMAP_WORDS) words,
    /// a bitmap over all ids that never fills up.
    pub inbound_qos2: &'m mut [u16],
    /// Bytes waiting to be written to the network.
    pub tx: &'m mut [u8],
}

/// Memory a [`Session`](super::Session) can run in.
pub trait Memory {
    /// What the session keeps of its settings: a [`SessionConfig`] copy,
    /// or (firmware) a reference to settings the caller keeps anyway,
    /// read again at each use instead of copied into the session.
    type Config: ConfigSource;
    /// All parts, mutably.
    fn parts(&mut self) -> Parts<'_>;
    /// The send buffer, read-only.
    fn tx(&self) -> &[u8];
}

/// The settings a session works by, from what it keeps of them.
pub trait ConfigSource {
    /// What the client keeps of its command timeout: the milliseconds, or
    /// nothing when this source has them (firmware's options).
    type Timeout: Copy;
    fn config(&self) -> SessionConfig;
    /// `ms` as the client keeps it.
    fn keep_timeout(ms: u32) -> Self::Timeout;
    /// The command timeout, from what the client keeps of it.
    fn timeout_ms(&self, kept: Self::Timeout) -> u32;
    /// False when `config().queue_qos0_offline` is never true (firmware
    /// without `offline-queue`), so the outbox never holds a QoS 0
    /// message (publish sends one directly or refuses it; restore takes
    /// QoS 1/2 only) and `pump`'s path for one folds away.
    const QOS0_STORED: bool = true;
}

impl ConfigSource for SessionConfig {
    type Timeout = u32;
    #[inline(always)]
    fn config(&self) -> SessionConfig {
        *self
    }
    #[inline(always)]
    fn keep_timeout(ms: u32) -> u32 {
        ms
    }
    #[inline(always)]
    fn timeout_ms(&self, kept: u32) -> u32 {
        kept
    }
}

/// Memory in fixed-size arrays: for firmware, as a `static` or on the stack.
pub struct ArrayMemory<
    const SLOTS: usize,
    const STORE: usize,
    const INBOUND: usize,
    const TX: usize,
> {
    slots: [Slot; SLOTS],
    store: [u8; STORE],
    inbound_qos2: [u16; INBOUND],
    tx: [u8; TX],
}

impl<const SLOTS: usize, const STORE: usize, const INBOUND: usize, const TX: usize>
    ArrayMemory<SLOTS, STORE, INBOUND, TX>
{
    /// Zeroed memory, usable in a `static` initializer.
    pub const fn new() -> Self {
        ArrayMemory {
            slots: [Slot::FREE; SLOTS],
            store: [0; STORE],
            inbound_qos2: [0; INBOUND],
            tx: [0; TX],
        }
    }
}

impl<const SLOTS: usize, const STORE: usize, const INBOUND: usize, const TX: usize> Default
    for ArrayMemory<SLOTS, STORE, INBOUND, TX>
{
    fn default() -> Self {
        Self::new()
    }
}

impl<const SLOTS: usize, const STORE: usize, const INBOUND: usize, const TX: usize> Memory
    for ArrayMemory<SLOTS, STORE, INBOUND, TX>
{
    type Config = SessionConfig;
    fn parts(&mut self) -> Parts<'_> {
        Parts {
            slots: &mut self.slots,
            store: &mut self.store,
            inbound_qos2: &mut self.inbound_qos2,
            tx: &mut self.tx,
        }
    }

    fn tx(&self) -> &[u8] {
        &self.tx
    }
}

/// Memory the caller lends as slices.
pub struct SliceMemory<'a> {
    pub slots: &'a mut [Slot],
    pub store: &'a mut [u8],
    pub inbound_qos2: &'a mut [u16],
    pub tx: &'a mut [u8],
}

impl Memory for SliceMemory<'_> {
    type Config = SessionConfig;
    fn parts(&mut self) -> Parts<'_> {
        Parts {
            slots: self.slots,
            store: self.store,
            inbound_qos2: self.inbound_qos2,
            tx: self.tx,
        }
    }

    fn tx(&self) -> &[u8] {
        self.tx
    }
}

/// Memory sized at run time, on the heap (hosts).
#[cfg(feature = "std")]
pub struct HeapMemory {
    slots: Box<[Slot]>,
    store: Zeroed<u8>,
    inbound_qos2: Zeroed<u16>,
    tx: Zeroed<u8>,
}

/// Integer types whose all-zero bytes are a valid value.
///
/// # Safety
/// Only for types where that holds.
#[cfg(feature = "std")]
pub(crate) unsafe trait ZeroIsValid: Copy {}
// SAFETY: plain integers.
#[cfg(feature = "std")]
unsafe impl ZeroIsValid for u8 {}
// SAFETY: plain integers.
#[cfg(feature = "std")]
unsafe impl ZeroIsValid for u16 {}

/// Buffers this large come straight from mmap(2): their pages are zero
/// and not resident until written, so a 64 KiB store or subscription pool
/// costs no memory until it is used (calloc would clear, and so touch,
/// memory it reuses).
#[cfg(feature = "std")]
const MAPPED_FROM_BYTES: usize = 16 * 1024;

/// `len` zeros, allocated once and fallibly (hosts' buffers and tables).
#[cfg(feature = "std")]
pub(crate) struct Zeroed<T: ZeroIsValid> {
    ptr: core::ptr::NonNull<T>,
    len: usize,
    /// From mmap (else from the global allocator).
    mapped: bool,
}

// SAFETY: owns its memory like a Box<[T]>.
#[cfg(feature = "std")]
unsafe impl<T: ZeroIsValid + Send> Send for Zeroed<T> {}
// SAFETY: shared access is read-only, as for a Box<[T]>.
#[cfg(feature = "std")]
unsafe impl<T: ZeroIsValid + Sync> Sync for Zeroed<T> {}

#[cfg(feature = "std")]
impl<T: ZeroIsValid> Zeroed<T> {
    pub(crate) fn try_new(len: usize) -> Result<Self, crate::Error> {
        let layout = std::alloc::Layout::array::<T>(len).map_err(|_| crate::Error::NoMemory)?;
        if layout.size() == 0 {
            return Ok(Zeroed {
                ptr: core::ptr::NonNull::dangling(),
                len,
                mapped: false,
            });
        }
        let mapped = layout.size() >= MAPPED_FROM_BYTES;
        let raw = if mapped {
            // SAFETY: a fresh private anonymous mapping; no existing memory
            // is touched.
            let at = unsafe {
                libc::mmap(
                    core::ptr::null_mut(),
                    layout.size(),
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if at == libc::MAP_FAILED {
                core::ptr::null_mut()
            } else {
                at.cast::<T>()
            }
        } else {
            // SAFETY: the layout has a non-zero size.
            unsafe { std::alloc::alloc_zeroed(layout) }.cast::<T>()
        };
        let ptr = core::ptr::NonNull::new(raw).ok_or(crate::Error::NoMemory)?;
        Ok(Zeroed { ptr, len, mapped })
    }
}

#[cfg(feature = "std")]
impl<T: ZeroIsValid> core::ops::Deref for Zeroed<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: `len` zeroed (valid: ZeroIsValid) Ts owned by self.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

#[cfg(feature = "std")]
impl<T: ZeroIsValid> core::ops::DerefMut for Zeroed<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as for deref, and borrowed mutably through self.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

#[cfg(feature = "std")]
impl<T: ZeroIsValid> AsRef<[T]> for Zeroed<T> {
    fn as_ref(&self) -> &[T] {
        self
    }
}

#[cfg(feature = "std")]
impl<T: ZeroIsValid> AsMut<[T]> for Zeroed<T> {
    fn as_mut(&mut self) -> &mut [T] {
        self
    }
}

#[cfg(feature = "std")]
impl<T: ZeroIsValid> Drop for Zeroed<T> {
    fn drop(&mut self) {
        let Ok(layout) = std::alloc::Layout::array::<T>(self.len) else {
            return;
        };
        if layout.size() == 0 {
            return;
        }
        if self.mapped {
            // SAFETY: our own mapping of that size, unmapped once.
            let _ = unsafe { libc::munmap(self.ptr.as_ptr().cast(), layout.size()) };
        } else {
            // SAFETY: allocated with this layout by the global allocator.
            unsafe { std::alloc::dealloc(self.ptr.as_ptr().cast(), layout) };
        }
    }
}

#[cfg(feature = "std")]
fn try_boxed<T: Copy>(value: T, len: usize) -> Result<Box<[T]>, crate::Error> {
    let mut items = Vec::new();
    items
        .try_reserve_exact(len)
        .map_err(|_| crate::Error::NoMemory)?;
    items.resize(len, value);
    Ok(items.into_boxed_slice())
}

#[cfg(feature = "std")]
impl HeapMemory {
    /// Allocates the tables once; nothing grows afterwards. Panics when the
    /// allocation fails; see [`HeapMemory::try_new`].
    pub fn new(slots: usize, store_bytes: usize, inbound_qos2: usize, tx_bytes: usize) -> Self {
        Self::try_new(slots, store_bytes, inbound_qos2, tx_bytes).expect("allocation failed")
    }

    /// Like [`HeapMemory::new`], with [`Error::NoMemory`](crate::Error::NoMemory)
    /// instead of a panic when the memory is not there, and sizes checked:
    /// at most 65,535 slots and a store of at most 4 GiB (offsets are 32-bit).
    pub fn try_new(
        slots: usize,
        store_bytes: usize,
        inbound_qos2: usize,
        tx_bytes: usize,
    ) -> Result<Self, crate::Error> {
        if store_bytes > u32::MAX as usize {
            return Err(crate::Error::InvalidArgument);
        }
        Ok(HeapMemory {
            slots: try_boxed(Slot::FREE, slots.min(u16::MAX as usize))?,
            store: Zeroed::try_new(store_bytes)?,
            inbound_qos2: Zeroed::try_new(inbound_qos2)?,
            tx: Zeroed::try_new(tx_bytes)?,
        })
    }
}

#[cfg(feature = "std")]
impl Memory for HeapMemory {
    type Config = SessionConfig;
    fn parts(&mut self) -> Parts<'_> {
        Parts {
            slots: &mut self.slots,
            store: &mut self.store,
            inbound_qos2: &mut self.inbound_qos2,
            tx: &mut self.tx,
        }
    }

    fn tx(&self) -> &[u8] {
        &self.tx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_slot_is_all_zero_bits() {
        // Firmware clears its table memory with one zero fill
        // (`ffi::firmware::carve_tables`).
        // SAFETY: all zero bits are a valid slot (id 0, the first kind,
        // offset 0), which Miri checks.
        let zeroed: Slot = unsafe { core::mem::zeroed() };
        assert_eq!(zeroed, Slot::FREE);
    }
}
