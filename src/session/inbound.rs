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

// Not `<[u16]>::contains`: its eight-lane unrolling costs code.
#[allow(clippy::manual_contains)]
pub fn contains(table: &[u16], id: u16) -> bool {
    if is_bitmap(table) {
        table[usize::from(id / 16)] & (1 << (id % 16)) != 0
    } else {
        id != 0 && table.iter().any(|&held| held == id)
    }
}

/// What the table holds of an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// The id is held.
    Held,
    /// The id is not held; [`insert_at`] that index adds it.
    Free(usize),
    /// The id is not held and the list has no room for it.
    Full,
}

/// Whether `id` is held, and where it would go if not: one pass over a list.
pub fn lookup(table: &[u16], id: u16) -> Lookup {
    if is_bitmap(table) {
        return match contains(table, id) {
            true => Lookup::Held,
            false => Lookup::Free(usize::from(id / 16)),
        };
    }
    if contains(table, id) {
        return Lookup::Held;
    }
    match table.iter().position(|&held| held == 0) {
        Some(at) => Lookup::Free(at),
        None => Lookup::Full,
    }
}

/// Adds `id` at the index [`lookup`] gave for it.
pub fn insert_at(table: &mut [u16], at: usize, id: u16) {
    let bitmap = is_bitmap(table);
    if let Some(word) = table.get_mut(at) {
        *word = match bitmap {
            true => *word | 1 << (id % 16),
            false => id,
        };
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
                let Lookup::Free(at) = lookup(table, id) else {
                    panic!("room for {id}");
                };
                insert_at(table, at, id);
                assert!(contains(table, id));
                assert_eq!(lookup(table, id), Lookup::Held);
            }
            assert!(!contains(table, 2));
            remove(table, 17);
            assert!(!contains(table, 17));
            assert!(contains(table, 65_535));
        }
        // The list fills up; the bitmap never does.
        let Lookup::Free(at) = lookup(&list, 9) else {
            panic!("room for 9");
        };
        insert_at(&mut list, at, 9);
        assert_eq!(lookup(&list, 10), Lookup::Full);
        for id in 1..=u16::MAX {
            match lookup(&bitmap, id) {
                Lookup::Free(at) => insert_at(&mut bitmap, at, id),
                found => assert_eq!((id, found), (id, Lookup::Held)),
            }
        }
        assert!(contains(&bitmap, 40_000));
        assert_eq!(lookup(&bitmap, 0), Lookup::Free(0));
    }
}
