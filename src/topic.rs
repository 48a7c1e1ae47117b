//! Topic names and filters: validation and wildcard matching (MQTT 3.1.1
//! section 4.7).
//!
//! A *topic name* is what a PUBLISH is sent to; it never contains wildcards.
//! A *topic filter* is what a SUBSCRIBE asks for; it may contain the
//! single-level wildcard `+` and the multi-level wildcard `#`. Both are split
//! into levels by `/`, and empty levels count (`a//b` has three levels).
//!
//! Everything here works on borrowed strings: no allocation, no recursion,
//! only `core`.

use crate::Error;

/// The longest topic name or filter MQTT 3.1.1 allows, in bytes (the length
/// prefix of an MQTT string is a 16-bit integer).
pub const MAX_TOPIC_LEN: usize = 65_535;

/// The level separator.
const SEP: u8 = b'/';
/// The single-level wildcard.
const PLUS: u8 = b'+';
/// The multi-level wildcard.
const HASH: u8 = b'#';

/// Checks the rules shared by topic names and filters: not empty and not
/// longer than [`MAX_TOPIC_LEN`] bytes.
fn check_length(topic: &str) -> Result<(), Error> {
    if topic.is_empty() {
        Err(Error::EmptyTopic)
    } else if topic.len() > MAX_TOPIC_LEN {
        Err(Error::StringTooLong)
    } else {
        Ok(())
    }
}

/// Checks that `name` is a valid MQTT 3.1.1 topic name, as used in PUBLISH.
///
/// A topic name must be at least one byte long, at most [`MAX_TOPIC_LEN`]
/// (65,535) bytes long, must not contain U+0000 and must not contain the
/// wildcard characters `+` or `#` anywhere.
///
/// # Errors
///
/// The first rule broken, checked in this order:
/// - [`Error::EmptyTopic`] if `name` is empty;
/// - [`Error::StringTooLong`] if `name` is longer than 65,535 bytes;
/// - [`Error::NullCharacter`] if `name` contains U+0000;
/// - [`Error::WildcardInTopicName`] if `name` contains `+` or `#`.
#[inline(always)]
pub fn validate_topic_name(name: &str) -> Result<(), Error> {
    // Hosts: past the words with no NUL, `+` or `#` first. (Firmware
    // starts at 0 without slicing, which would link a bounds check.)
    #[cfg(feature = "std")]
    let start = crate::codec::skip_words(name.as_bytes(), 0, |word| {
        const ONES: u64 = 0x0101_0101_0101_0101;
        let found = |byte: u8| crate::codec::zero_bytes(word ^ (ONES * u64::from(byte)));
        found(0) | found(PLUS) | found(HASH) != 0
    });
    #[cfg(not(feature = "std"))]
    let start = 0;
    validate_topic(name, false, start)
}

/// The rules of topic names (`filter` false: no wildcard at all) and
/// filters (wildcards fill whole levels, `#` only last), the bytes checked
/// from `start` on (those before it hold no NUL and no wildcard): one
/// function for both, out of line once.
#[inline(never)]
fn validate_topic(topic: &str, filter: bool, start: usize) -> Result<(), Error> {
    check_length(topic)?;
    let mut misplaced = false;
    // The byte before the current one; the start counts as a level's start.
    // (From a `start` past 0 it is not that byte, but only names start
    // there, and in a name every wildcard is misplaced whatever its
    // neighbours.)
    let mut previous = SEP;
    for &b in topic.as_bytes().get(start..).unwrap_or_default() {
        if b == 0 {
            return Err(Error::NullCharacter);
        }
        // Each byte checked against the one before, so no look ahead: a
        // wildcard must follow a level's start, `+` be followed by `/` (or
        // the end), `#` by nothing.
        let wildcard = b == PLUS || b == HASH;
        misplaced |= (wildcard && (!filter || previous != SEP))
            || previous == HASH
            || (previous == PLUS && b != SEP);
        previous = b;
    }
    if !misplaced {
        Ok(())
    } else if filter {
        Err(Error::InvalidTopicFilter)
    } else {
        Err(Error::WildcardInTopicName)
    }
}

/// Checks that `filter` is a valid MQTT 3.1.1 topic filter, as used in
/// SUBSCRIBE and UNSUBSCRIBE.
///
/// A topic filter must be at least one byte long, at most [`MAX_TOPIC_LEN`]
/// (65,535) bytes long and must not contain U+0000. The single-level wildcard
/// `+` may appear any number of times but must fill a whole level (`+`,
/// `a/+`, `+/b`, `a/+/b` are valid; `a+`, `a/b+` are not). The multi-level
/// wildcard `#` must fill a whole level and be the last character of the
/// filter (`#`, `a/#` are valid; `a#`, `a/#/b`, `#/a` are not).
///
/// # Errors
///
/// The first rule broken, checked in this order:
/// - [`Error::EmptyTopic`] if `filter` is empty;
/// - [`Error::StringTooLong`] if `filter` is longer than 65,535 bytes;
/// - [`Error::NullCharacter`] if `filter` contains U+0000;
/// - [`Error::InvalidTopicFilter`] if a `+` or `#` is misplaced.
#[inline(always)]
pub fn validate_topic_filter(filter: &str) -> Result<(), Error> {
    validate_topic(filter, true, 0)
}

/// Returns `true` if `topic` contains a wildcard character (`+` or `#`)
/// anywhere, whether or not it is correctly placed.
///
/// A topic without wildcards that passes [`validate_topic_filter`] is also a
/// valid topic name.
pub fn has_wildcards(topic: &str) -> bool {
    topic.bytes().any(|b| b == PLUS || b == HASH)
}

/// Returns `true` if the topic filter `filter` matches the topic name `name`,
/// following MQTT 3.1.1 section 4.7.
///
/// - Levels are separated by `/` and compared byte for byte; empty levels
///   count (`a//b` has three levels, `a/` has two).
/// - `+` matches exactly one level, which may be empty: `sport/+` matches
///   `sport/` but not `sport` or `sport/tennis/player1`.
/// - `#` matches the parent level and any number of child levels: `a/#`
///   matches `a`, `a/`, `a/b` and `a/b/c`; `#` on its own matches every name.
/// - A filter that starts with `+` or `#` never matches a name that starts
///   with `$` (such as `$SYS/uptime`); `$SYS/#` does match it.
///
/// Both arguments are expected to be valid (see [`validate_topic_filter`] and
/// [`validate_topic_name`]). For invalid input the result is unspecified but
/// the function never panics; an empty filter or name matches nothing, and a
/// `#` that is not the last level matches nothing.
///
/// Runs in a single pass over both strings without allocating.
pub fn matches(filter: &str, name: &str) -> bool {
    let f = filter.as_bytes();
    let n = name.as_bytes();
    if f.is_empty() || n.is_empty() {
        return false;
    }
    // [MQTT-4.7.2-1]: wildcards at the first level never match `$` topics.
    if n[0] == b'$' && (f[0] == PLUS || f[0] == HASH) {
        return false;
    }

    let mut fl = f.split(|&b| b == SEP);
    let mut nl = n.split(|&b| b == SEP);
    loop {
        match (fl.next(), nl.next()) {
            // `#` matches this level (if any), all below it, and the parent.
            (Some([HASH]), _) => return fl.next().is_none(),
            // `+` matches any one level, including an empty one.
            (Some([PLUS]), Some(_)) => {}
            (Some(fw), Some(nw)) if fw == nw => {}
            // Both ran out at the same time: every level matched.
            (None, None) => return true,
            // A literal level differs, or one side has more levels.
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::RngSeed;
    use std::string::String;
    use std::vec::Vec;

    // ---- validate_topic_name ----

    #[test]
    fn name_valid() {
        for name in [
            "a",
            "/",
            "//",
            "a/b/c",
            "a//b",
            "/finance",
            "sport/",
            "$SYS/broker/uptime",
            " ",
            "héllo/wörld/中文",
        ] {
            assert_eq!(validate_topic_name(name), Ok(()), "{name:?}");
        }
    }

    #[test]
    fn name_empty() {
        assert_eq!(validate_topic_name(""), Err(Error::EmptyTopic));
    }

    #[test]
    fn name_length_limit() {
        let max = "a".repeat(MAX_TOPIC_LEN);
        assert_eq!(validate_topic_name(&max), Ok(()));
        let over = "a".repeat(MAX_TOPIC_LEN + 1);
        assert_eq!(validate_topic_name(&over), Err(Error::StringTooLong));
        // The limit is in bytes, not characters: 32,768 two-byte chars.
        let wide = "é".repeat(MAX_TOPIC_LEN / 2 + 1);
        assert_eq!(validate_topic_name(&wide), Err(Error::StringTooLong));
    }

    #[test]
    fn name_null_character() {
        assert_eq!(validate_topic_name("\0"), Err(Error::NullCharacter));
        assert_eq!(validate_topic_name("a\0b"), Err(Error::NullCharacter));
        assert_eq!(validate_topic_name("a/b\0"), Err(Error::NullCharacter));
    }

    #[test]
    fn name_wildcards() {
        for name in ["+", "#", "a/+", "a/#", "a+", "a#b", "+/x", "sport/tennis/#"] {
            assert_eq!(
                validate_topic_name(name),
                Err(Error::WildcardInTopicName),
                "{name:?}"
            );
        }
    }

    #[test]
    fn long_names_with_one_special_byte_anywhere() {
        // Across the eight-byte words hosts skip: each special byte found
        // at every position, NUL still before a wildcard.
        for len in 0..40 {
            let plain = "a/b".repeat(len).chars().take(len).collect::<String>();
            if !plain.is_empty() {
                assert_eq!(validate_topic_name(&plain), Ok(()));
            }
            for at in 0..=len {
                for (special, expected) in [
                    ('\0', Error::NullCharacter),
                    ('+', Error::WildcardInTopicName),
                    ('#', Error::WildcardInTopicName),
                ] {
                    let mut name = plain.clone();
                    name.insert(at, special);
                    assert_eq!(validate_topic_name(&name), Err(expected), "{name:?}");
                }
                let mut both = plain.clone();
                both.insert(at, '\0');
                both.insert(0, '#');
                assert_eq!(
                    validate_topic_name(&both),
                    Err(Error::NullCharacter),
                    "{both:?}"
                );
            }
        }
    }

    #[test]
    fn name_error_order() {
        // NUL is reported before a wildcard, wherever each appears.
        assert_eq!(validate_topic_name("+\0"), Err(Error::NullCharacter));
        assert_eq!(validate_topic_name("\0#"), Err(Error::NullCharacter));
        // Length is reported before content.
        let mut over = "+".repeat(MAX_TOPIC_LEN);
        over.push('\0');
        assert_eq!(validate_topic_name(&over), Err(Error::StringTooLong));
    }

    // ---- validate_topic_filter ----

    #[test]
    fn filter_valid() {
        for filter in [
            "a",
            "/",
            "a//b",
            "+",
            "+/+",
            "/+",
            "+/",
            "a/+",
            "+/b",
            "a/+/b",
            "#",
            "/#",
            "a/#",
            "+/#",
            "a/+/#",
            "$SYS/#",
            "sport/tennis/player1/#",
            "héllo/+/中文",
        ] {
            assert_eq!(validate_topic_filter(filter), Ok(()), "{filter:?}");
        }
    }

    #[test]
    fn filter_empty() {
        assert_eq!(validate_topic_filter(""), Err(Error::EmptyTopic));
    }

    #[test]
    fn filter_length_limit() {
        let max = "a".repeat(MAX_TOPIC_LEN);
        assert_eq!(validate_topic_filter(&max), Ok(()));
        let over = "a".repeat(MAX_TOPIC_LEN + 1);
        assert_eq!(validate_topic_filter(&over), Err(Error::StringTooLong));
    }

    #[test]
    fn filter_null_character() {
        assert_eq!(validate_topic_filter("\0"), Err(Error::NullCharacter));
        assert_eq!(validate_topic_filter("a/\0/#"), Err(Error::NullCharacter));
        // NUL is reported before a misplaced wildcard.
        assert_eq!(validate_topic_filter("a+/\0"), Err(Error::NullCharacter));
    }

    #[test]
    fn filter_plus_placement() {
        for filter in ["a+", "a/b+", "+a", "a/+b", "++", "a/++/b", "+#"] {
            assert_eq!(
                validate_topic_filter(filter),
                Err(Error::InvalidTopicFilter),
                "{filter:?}"
            );
        }
    }

    #[test]
    fn filter_hash_placement() {
        for filter in [
            "a#",
            "a/#/b",
            "#/a",
            "#/",
            "##",
            "a/b#",
            "#a",
            "sport/tennis#",
            "a/#/",
        ] {
            assert_eq!(
                validate_topic_filter(filter),
                Err(Error::InvalidTopicFilter),
                "{filter:?}"
            );
        }
    }

    // ---- has_wildcards ----

    #[test]
    fn wildcards_detected() {
        assert!(has_wildcards("+"));
        assert!(has_wildcards("#"));
        assert!(has_wildcards("a/+/b"));
        assert!(has_wildcards("a/#"));
        assert!(has_wildcards("a+")); // misplaced still counts
        assert!(!has_wildcards(""));
        assert!(!has_wildcards("a/b/c"));
        assert!(!has_wildcards("$SYS/broker"));
    }

    // ---- matches: MQTT 3.1.1 section 4.7 examples ----

    #[test]
    fn spec_multi_level_examples() {
        let f = "sport/tennis/player1/#";
        assert!(matches(f, "sport/tennis/player1"));
        assert!(matches(f, "sport/tennis/player1/ranking"));
        assert!(matches(f, "sport/tennis/player1/score/wimbledon"));
        assert!(!matches(f, "sport/tennis/player2"));
        assert!(!matches(f, "sport/tennis"));
        assert!(matches("sport/#", "sport"));
    }

    #[test]
    fn spec_single_level_examples() {
        assert!(matches("sport/tennis/+", "sport/tennis/player1"));
        assert!(matches("sport/tennis/+", "sport/tennis/player2"));
        assert!(!matches("sport/tennis/+", "sport/tennis/player1/ranking"));
        assert!(!matches("sport/+", "sport"));
        assert!(matches("sport/+", "sport/"));
        assert!(matches("+/+", "/finance"));
        assert!(matches("/+", "/finance"));
        assert!(!matches("+", "/finance"));
    }

    #[test]
    fn spec_dollar_examples() {
        assert!(!matches("#", "$SYS/x"));
        assert!(!matches("+/x", "$SYS/x"));
        assert!(!matches("+/monitor/Clients", "$SYS/monitor/Clients"));
        assert!(matches("$SYS/#", "$SYS/x"));
        assert!(matches("$SYS/monitor/+", "$SYS/monitor/Clients"));
        assert!(matches("$SYS/#", "$SYS"));
        // `$` only matters as the very first character of the name.
        assert!(matches("#", "a/$SYS"));
        assert!(matches("+/$x", "a/$x"));
        assert!(!matches("+", "$"));
    }

    // ---- matches: the individual rules ----

    #[test]
    fn exact_match() {
        assert!(matches("a", "a"));
        assert!(matches("a/b/c", "a/b/c"));
        assert!(matches("/", "/"));
        assert!(!matches("a/b", "a/c"));
        assert!(!matches("a/b", "a/b/c"));
        assert!(!matches("a/b/c", "a/b"));
        assert!(!matches("a", "A"));
        assert!(!matches("ab", "a"));
        assert!(!matches("a", "ab"));
    }

    #[test]
    fn empty_levels_are_significant() {
        assert!(matches("a//b", "a//b"));
        assert!(!matches("a//b", "a/b"));
        assert!(!matches("a/b", "a//b"));
        assert!(!matches("a", "a/"));
        assert!(!matches("a/", "a"));
        assert!(matches("a/+/b", "a//b"));
        assert!(!matches("a/+/b", "a/b"));
        assert!(matches("+/+/+", "//"));
        assert!(!matches("+/+", "//"));
        assert!(matches("/#", "/"));
        assert!(matches("/#", "/a/b"));
        assert!(!matches("/#", "a"));
    }

    #[test]
    fn plus_matches_exactly_one_level() {
        assert!(matches("+", "a"));
        assert!(matches("+", "anything at all"));
        assert!(!matches("+", "a/b"));
        assert!(!matches("+", "/"));
        assert!(matches("+/b", "a/b"));
        assert!(matches("+/b", "/b"));
        assert!(!matches("+/b", "a/c"));
        assert!(matches("a/+/c", "a/b/c"));
        assert!(!matches("a/+/c", "a/b/d"));
        assert!(!matches("a/+/c", "a/b/b/c"));
        assert!(matches("+/+/+", "a/b/c"));
    }

    #[test]
    fn hash_matches_parent_and_children() {
        assert!(matches("a/#", "a"));
        assert!(matches("a/#", "a/"));
        assert!(matches("a/#", "a/b"));
        assert!(matches("a/#", "a/b/c"));
        assert!(matches("a/#", "a//"));
        assert!(!matches("a/#", "b"));
        assert!(!matches("a/#", "ab"));
        assert!(!matches("a/b/#", "a"));
        assert!(matches("+/#", "a"));
        assert!(matches("+/#", "a/b/c"));
        assert!(matches("a/+/#", "a/b"));
        assert!(!matches("a/+/#", "a"));
    }

    #[test]
    fn hash_alone_matches_everything_but_dollar() {
        for name in ["a", "/", "a/b/c", "//", "sport/tennis", "x$"] {
            assert!(matches("#", name), "{name:?}");
        }
        for name in ["$", "$SYS", "$SYS/broker/uptime", "$/"] {
            assert!(!matches("#", name), "{name:?}");
        }
    }

    #[test]
    fn invalid_input_does_not_match_or_panic() {
        assert!(!matches("", ""));
        assert!(!matches("", "a"));
        assert!(!matches("a", ""));
        assert!(!matches("#", ""));
        // A `#` that is not the last level matches nothing.
        assert!(!matches("a/#/b", "a/x/b"));
        assert!(!matches("#/a", "x/a"));
        // Misplaced wildcards are just characters.
        assert!(matches("a+", "a+"));
        assert!(!matches("a+", "ab"));
        assert!(!matches("a#", "a/b"));
    }

    // ---- properties ----

    /// Straightforward reference matcher over split levels, for comparison.
    fn reference_matches(filter: &str, name: &str) -> bool {
        if name.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
            return false;
        }
        let f: Vec<&str> = filter.split('/').collect();
        let n: Vec<&str> = name.split('/').collect();
        for (i, level) in f.iter().enumerate() {
            match *level {
                "#" => return true,
                "+" if i < n.len() => {}
                lit if i < n.len() && n[i] == lit => {}
                _ => return false,
            }
        }
        f.len() == n.len()
    }

    /// Strings over an alphabet rich in the characters that matter.
    fn tricky_string() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(&['a', 'b', '/', '+', '#', '$', '\0', 'é'][..]),
            0..16,
        )
        .prop_map(|cs| cs.into_iter().collect())
    }

    /// Valid topic names over a small alphabet (so levels repeat and are often
    /// empty), sometimes starting with `$`.
    fn valid_name() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(&['a', 'b', '/', '$', 'é', ' '][..]),
            1..16,
        )
        .prop_map(|cs| cs.into_iter().collect())
    }

    /// Valid topic filters built from levels.
    fn valid_filter() -> impl Strategy<Value = String> {
        (
            prop::collection::vec(
                prop::sample::select(&["", "a", "b", "+", "$a", "ab"][..]),
                1..6,
            ),
            any::<bool>(),
        )
            .prop_map(|(levels, hash)| {
                let mut s = levels.join("/");
                if hash {
                    s.push_str("/#");
                }
                s
            })
            // A single empty level without `/#` would be the empty string.
            .prop_filter("filter must not be empty", |s| !s.is_empty())
    }

    /// Fixed seed and no regression files: the same cases on every run.
    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: 512,
            rng_seed: RngSeed::Fixed(0x6d71_7474_746f_7069),
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn prop_matches_never_panics(f in any::<String>(), n in any::<String>()) {
            let _ = matches(&f, &n);
        }

        #[test]
        fn prop_matches_never_panics_tricky(f in tricky_string(), n in tricky_string()) {
            let _ = matches(&f, &n);
        }

        #[test]
        fn prop_validate_filter_never_panics(f in any::<String>(), g in tricky_string()) {
            let _ = validate_topic_filter(&f);
            let _ = validate_topic_filter(&g);
            let _ = validate_topic_name(&f);
            let _ = validate_topic_name(&g);
        }

        #[test]
        fn prop_name_matches_itself_and_hash(name in valid_name()) {
            prop_assert_eq!(validate_topic_name(&name), Ok(()));
            prop_assert_eq!(validate_topic_filter(&name), Ok(()));
            prop_assert!(matches(&name, &name));
            prop_assert_eq!(matches("#", &name), !name.starts_with('$'));
        }

        #[test]
        fn prop_plus_replacing_a_level_matches(name in valid_name(), pick in any::<prop::sample::Index>()) {
            let levels: Vec<&str> = name.split('/').collect();
            let i = pick.index(levels.len());
            let mut replaced = levels.clone();
            replaced[i] = "+";
            let filter = replaced.join("/");
            prop_assert_eq!(validate_topic_filter(&filter), Ok(()));
            let expected = !(i == 0 && name.starts_with('$'));
            prop_assert_eq!(matches(&filter, &name), expected);
        }

        #[test]
        fn prop_hash_replacing_a_tail_matches(name in valid_name(), pick in any::<prop::sample::Index>()) {
            let levels: Vec<&str> = name.split('/').collect();
            let keep = pick.index(levels.len() + 1);
            let mut filter = levels[..keep].join("/");
            if keep > 0 {
                filter.push('/');
            }
            filter.push('#');
            prop_assert_eq!(validate_topic_filter(&filter), Ok(()));
            let expected = !(keep == 0 && name.starts_with('$'));
            prop_assert_eq!(matches(&filter, &name), expected);
        }

        #[test]
        fn prop_agrees_with_reference(filter in valid_filter(), name in valid_name()) {
            prop_assert_eq!(validate_topic_filter(&filter), Ok(()));
            prop_assert_eq!(matches(&filter, &name), reference_matches(&filter, &name));
        }

        #[test]
        fn prop_filter_validity_as_by_levels(s in tricky_string()) {
            // The rule as the spec states it: a level holding a wildcard is
            // just that wildcard, and `#` is only the last level.
            let levels: Vec<&str> = s.split('/').collect();
            let by_levels = levels.iter().enumerate().all(|(i, level)| {
                !(level.contains('+') || level.contains('#'))
                    || *level == "+"
                    || (*level == "#" && i == levels.len() - 1)
            });
            let expected = if s.is_empty() {
                Err(Error::EmptyTopic)
            } else if s.contains('\0') {
                Err(Error::NullCharacter)
            } else if by_levels {
                Ok(())
            } else {
                Err(Error::InvalidTopicFilter)
            };
            prop_assert_eq!(validate_topic_filter(&s), expected);
        }

        #[test]
        fn prop_wildcards_and_name_validity(s in tricky_string()) {
            if !s.is_empty() && !s.contains('\0') {
                prop_assert_eq!(validate_topic_name(&s).is_ok(), !has_wildcards(&s));
            }
        }
    }
}
