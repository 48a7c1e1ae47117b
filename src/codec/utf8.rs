//! UTF-8 validation in a few hundred bytes less than `core::str::from_utf8`
//! (whose word-at-a-time fast path is its size): firmware validates every
//! received topic with it. Accepts exactly what `core` accepts (the tests
//! compare the two on every input of up to three bytes and on random ones).

use crate::Error;

/// `bytes` as a `&str` when they are well-formed UTF-8: no overlong forms,
/// no surrogates (U+D800..U+DFFF), nothing above U+10FFFF.
pub fn from_utf8(bytes: &[u8]) -> Option<&str> {
    check(bytes, false).ok()
}

/// `bytes` as an MQTT string: well-formed UTF-8 ([`Error::InvalidUtf8`])
/// without U+0000 ([`Error::NullCharacter`], MQTT-1.5.3-2), in one pass.
pub fn mqtt_str(bytes: &[u8]) -> Result<&str, Error> {
    check(bytes, true)
}

fn check(bytes: &[u8], refuse_nul: bool) -> Result<&str, Error> {
    let mut rest = bytes.iter();
    while let Some(&lead) = rest.next() {
        if lead < 0x80 {
            if refuse_nul && lead == 0 {
                return Err(Error::NullCharacter);
            }
            #[cfg(feature = "std")]
            {
                const HIGH: u64 = 0x8080_8080_8080_8080;
                let at = bytes.len() - rest.len();
                let to = skip_words(bytes, at, |word| {
                    word & HIGH != 0 || (refuse_nul && zero_bytes(word) != 0)
                });
                rest = bytes.get(to..).unwrap_or_default().iter();
            }
            continue;
        }
        // Leads of two to four bytes (C0, C1 and above F4 never lead),
        // followed by one continuation byte (C2..DF), two (E0..EF) or three
        // (F0..F4). Compares, not `leading_zeros`: RISC-V cores without Zbb
        // have no instruction for it.
        if !(0xc2..=0xf4).contains(&lead) {
            return Err(Error::InvalidUtf8);
        }
        let more = 1 + u32::from(lead >= 0xe0) + u32::from(lead >= 0xf0);
        let mut code_point = u32::from(lead) & (0x3f >> more);
        for _ in 0..more {
            match rest.next() {
                Some(&byte) if byte & 0xc0 == 0x80 => {
                    code_point = (code_point << 6) | u32::from(byte & 0x3f);
                }
                // Cut short, or not a continuation byte.
                _ => return Err(Error::InvalidUtf8),
            }
        }
        // Overlong: below 2^11 in three bytes or 2^16 in four, that is
        // `code_point >> (5 * more + 1)` of 0 (two-byte leads from C2 on
        // are never overlong, and `>> 6` of theirs is never 0).
        if code_point >> (5 * more + 1) == 0
            || code_point > 0x10_ffff
            || (0xd800..=0xdfff).contains(&code_point)
        {
            return Err(Error::InvalidUtf8);
        }
    }
    // SAFETY: the loop above checked every sequence of `bytes` to be
    // well-formed UTF-8, which is all `from_utf8_unchecked` requires.
    Ok(unsafe { core::str::from_utf8_unchecked(bytes) })
}

/// Eight bytes with the high bit set in each byte of `word` that is zero.
#[cfg(feature = "std")]
pub(crate) fn zero_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    word.wrapping_sub(ONES) & !word & 0x8080_8080_8080_8080
}

/// Hosts: skips from `at` the eight-byte words of `bytes` that `stop` does
/// not stop at (it gets each word as a little-endian u64), as core's UTF-8
/// validator skips ASCII; topics are mostly plain ASCII, and checking them a
/// byte at a time was a third of a publish. Firmware keeps the byte loops,
/// which are smaller.
#[cfg(feature = "std")]
pub(crate) fn skip_words(bytes: &[u8], mut at: usize, stop: impl Fn(u64) -> bool) -> usize {
    while let Some(word) = bytes.get(at..at + 8) {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(word);
        if stop(u64::from_le_bytes(eight)) {
            break;
        }
        at += 8;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::{from_utf8, mqtt_str};
    use crate::Error;
    use proptest::prelude::*;

    fn same_as_core(bytes: &[u8]) {
        assert_eq!(
            from_utf8(bytes),
            core::str::from_utf8(bytes).ok(),
            "{bytes:02x?}"
        );
    }

    #[test]
    fn every_input_of_up_to_three_bytes_as_core() {
        same_as_core(&[]);
        for a in 0..=255u8 {
            same_as_core(&[a]);
            for b in 0..=255u8 {
                same_as_core(&[a, b]);
                for c in 0..=255u8 {
                    same_as_core(&[a, b, c]);
                }
            }
        }
    }

    #[test]
    fn every_four_byte_lead_with_continuations_as_core() {
        // Leads F0..F7 with every continuation byte (and one non-continuation)
        // in each position: the four-byte range edges, and beyond U+10FFFF.
        let tails = (0x80..=0xc0u8).step_by(1);
        for lead in 0xf0..=0xf7u8 {
            for b in tails.clone() {
                for c in [0x80, 0xbf, 0x7f, 0xc0] {
                    for d in [0x80, 0xbf, 0x7f] {
                        same_as_core(&[lead, b, c, d]);
                        same_as_core(&[b'a', lead, b, c, d, b'z']);
                    }
                }
            }
        }
    }

    #[test]
    fn long_ascii_with_one_odd_byte_anywhere_as_core() {
        // Lengths and positions across the eight-byte words of the host
        // fast path: a NUL, a two-byte sequence, a stray continuation, a
        // bad lead, and a sequence cut at the end.
        for len in 0..40 {
            for at in 0..=len {
                for odd in [&b"\0"[..], b"\xc3\xa9", b"\x80", b"\xff", b"\xe2\x82"] {
                    let mut bytes = vec![b'a'; len];
                    bytes.splice(at..at, odd.iter().copied());
                    same_as_core(&bytes);
                    let nul = odd == b"\0";
                    let expected = match core::str::from_utf8(&bytes) {
                        Ok(_) if nul => Err(Error::NullCharacter),
                        Ok(text) => Ok(text),
                        Err(_) => Err(Error::InvalidUtf8),
                    };
                    assert_eq!(mqtt_str(&bytes), expected, "{bytes:02x?}");
                }
            }
        }
    }

    #[test]
    fn mqtt_strings_refuse_nul_and_tell_it_from_bad_utf8() {
        assert_eq!(mqtt_str(b"a/b"), Ok("a/b"));
        assert_eq!(mqtt_str(b"a\0b"), Err(Error::NullCharacter));
        assert_eq!(mqtt_str(b"\0"), Err(Error::NullCharacter));
        assert_eq!(mqtt_str(b"\xc3"), Err(Error::InvalidUtf8));
        assert_eq!(mqtt_str(b"\xed\xa0\x80"), Err(Error::InvalidUtf8));
        assert_eq!(from_utf8(b"a\0b"), Some("a\0b"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        #[test]
        fn random_bytes_as_core(bytes in proptest::collection::vec(any::<u8>(), 0..24)) {
            same_as_core(&bytes);
        }

        #[test]
        fn random_text_is_accepted(text in "\\PC{0,16}") {
            prop_assert_eq!(from_utf8(text.as_bytes()), Some(text.as_str()));
        }

        #[test]
        fn text_with_mutations_as_core(text in "\\PC{1,8}", at in any::<usize>(), byte in any::<u8>()) {
            let mut bytes = text.into_bytes();
            let at = at % bytes.len();
            bytes[at] = byte;
            same_as_core(&bytes);
        }
    }
}
