//! The ids of inbound QoS 2 messages delivered and awaiting PUBREL.
//!
//! Two layouts of the same `[u16]` table, chosen by its length: with
//! [`BITMAP_WORDS`] words (8 KiB) it is a bitmap over every packet id, which
//! can never fill up (a broker may have any number of QoS 2 messages
//! outstanding) and costs O(1) per message; any other length is a list of
//! ids (0 = free) for firmware that cannot spare 8 KiB, and a full list is
//! [`crate::Error::InboundQos2Full`].

/// Table length that selects the bitmap layout: one bit per packet id.
pub const BITMAP_WORDS: usize = 65_536 / 16;

fn is_bitmap(table: &[u16]) -> bool {
    table.len() == BITMAP_WORDS
}

pub fn contains(table: &[u16], id: u16) -> bool {
    if is_bitmap(table) {
        table[usize::from(id / 16)] & (1 << (id % 16)) != 0
    } else {
        id != 0 && table.contains(&id)
    }
}

/// Whether one more id fits.
pub fn has_room(table: &[u16]) -> bool {
    is_bitmap(table) || table.contains(&0)
}

/// Adds `id`; the caller checked [`has_room`].
pub fn insert(table: &mut [u16], id: u16) {
    if is_bitmap(table) {
        table[usize::from(id / 16)] |= 1 << (id % 16);
    } else if let Some(free) = table.iter_mut().find(|held| **held == 0) {
        *free = id;
    }
}

pub fn remove(table: &mut [u16], id: u16) {
    if is_bitmap(table) {
        table[usize::from(id / 16)] &= !(1 << (id % 16));
    } else if let Some(held) = table.iter_mut().find(|held| **held == id) {
        *held = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_layouts_hold_and_release_ids() {
        let mut bitmap = vec![0u16; BITMAP_WORDS];
        let mut list = vec![0u16; 3];
        for table in [&mut bitmap[..], &mut list[..]] {
            for id in [1u16, 17, 65_535] {
                assert!(!contains(table, id));
                assert!(has_room(table));
                insert(table, id);
                assert!(contains(table, id));
            }
            assert!(!contains(table, 2));
            remove(table, 17);
            assert!(!contains(table, 17));
            assert!(contains(table, 65_535));
        }
        // The list fills up; the bitmap never does.
        insert(&mut list, 9);
        assert!(!has_room(&list));
        for id in 1..=u16::MAX {
            insert(&mut bitmap, id);
        }
        assert!(has_room(&bitmap));
        assert!(contains(&bitmap, 40_000));
    }
}
