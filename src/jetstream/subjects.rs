//! Subject relations JetStream needs beyond matching a literal subject: whether two filters
//! (both possibly with wildcards) can match a common subject, and whether one filter only
//! matches subjects another matches. Rules as nats-server's `SubjectsCollide` and
//! `subjectIsSubsetMatch` (server/sublist.go); tokens as [`crate::routing::subject`].

use crate::routing::subject::{tokens, FULL_WILDCARD, PARTIAL_WILDCARD};

/// Whether some literal subject matches both `a` and `b`: two streams whose subjects overlap
/// would both capture it, which nats-server refuses (10065, and "subject %q overlaps with %q"
/// within one stream). Both are assumed valid subjects.
///
/// A `*` matches one token and `>` one or more, so `foo.*` and `*.bar` overlap (`foo.bar`),
/// `foo.>` and `foo` do not, `foo.>` and `foo.*.baz` do.
pub fn subjects_overlap(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let mut a_tokens = tokens(a.as_bytes());
    let mut b_tokens = tokens(b.as_bytes());
    loop {
        match (a_tokens.next(), b_tokens.next()) {
            (None, None) => return true,
            // One ran out first: only a `>` (which needs at least one token) could have
            // absorbed the rest, and that returned below.
            (None, Some(_)) | (Some(_), None) => return false,
            (Some(x), Some(y)) => {
                if x == FULL_WILDCARD || y == FULL_WILDCARD {
                    return true;
                }
                if x != PARTIAL_WILDCARD && y != PARTIAL_WILDCARD && x != y {
                    return false;
                }
            }
        }
    }
}

/// Whether any of `ours` overlaps any of `theirs`: two streams capturing the same subject,
/// which nats-server refuses on create and update (10065).
pub fn any_subjects_overlap(ours: &[String], theirs: &[String]) -> bool {
    ours.iter()
        .any(|a| theirs.iter().any(|b| subjects_overlap(a, b)))
}

/// Whether every subject `subject` matches is also matched by `filter` (`foo.bar` and
/// `foo.*` are subsets of `foo.>`; `foo.>` is not a subset of `foo.*`). nats-server uses it
/// to let streams capture `$JS.EVENT.>` and `$SYS.ACCOUNT.>` without `no_ack`.
pub fn is_subset_match(subject: &str, filter: &str) -> bool {
    let mut subject_tokens = tokens(subject.as_bytes());
    for filter_token in tokens(filter.as_bytes()) {
        let Some(subject_token) = subject_tokens.next() else {
            return false;
        };
        if filter_token.is_empty() || subject_token.is_empty() {
            return false;
        }
        if filter_token == FULL_WILDCARD {
            return true;
        }
        if subject_token == FULL_WILDCARD {
            return false;
        }
        if subject_token == PARTIAL_WILDCARD {
            if filter_token != PARTIAL_WILDCARD {
                return false;
            }
            continue;
        }
        if filter_token != PARTIAL_WILDCARD && filter_token != subject_token {
            return false;
        }
    }
    subject_tokens.next().is_none()
}

/// Whether `name` may name a stream (nats-server `isValidAssetName`): not empty, and none of
/// white space, `.`, `*`, `>`, `\`, `/` (names become subject tokens and directory names).
pub fn is_valid_asset_name(name: &str) -> bool {
    !name.is_empty()
        && !name.bytes().any(|b| {
            matches!(
                b,
                b' ' | b'\t' | b'\r' | b'\n' | 0x0c | b'.' | b'*' | b'>' | b'\\' | b'/'
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_table() {
        // (a, b, overlap). Cases from nats-server's sublist_test.go `TestSublistSubjectCollide`
        // plus the ones seen on 2.12.8 (`a.*.c` vs `a.b.*` refused, `a.*.c` with `a.b` kept).
        let cases = [
            ("foo", "foo", true),
            ("foo", "bar", false),
            ("foo.*", "foo.bar", true),
            ("foo.*", "foo.bar.baz", false),
            ("foo.>", "foo.bar.baz", true),
            ("foo.>", "foo", false),
            ("foo.*", "foo", false),
            ("*", "foo", true),
            (">", "foo.bar", true),
            ("foo.*", "*.bar", true),
            ("foo.*.baz", "foo.>", true),
            ("foo.*.baz", "foo.bar.*", true),
            ("a.*.c", "a.b.*", true),
            ("a.*.c", "a.b", false),
            ("foo.*", "bar.*", false),
            ("foo.>", "bar.>", false),
            ("*.>", "foo", false),
            ("*.>", "foo.bar", true),
            ("foo.*.*", "foo.>", true),
            ("foo.*.*", "foo.*", false),
            ("$JS.API.>", "$JS.>", true),
            ("foo*", "foo.bar", false),
            ("foo*", "foo*", true),
        ];
        for (a, b, overlap) in cases {
            assert_eq!(subjects_overlap(a, b), overlap, "{a} / {b}");
            assert_eq!(subjects_overlap(b, a), overlap, "{b} / {a}");
        }
    }

    #[test]
    fn overlap_agrees_with_a_brute_force_model() {
        // Two filters overlap iff some literal subject built from their own tokens (plus one
        // fresh token) matches both.
        let filters = [
            "a", "b", "a.b", "a.*", "*.b", "a.>", ">", "*", "*.*", "a.b.c", "a.*.c", "*.>",
            "a.b.>", "b.>",
        ];
        let alphabet = ["a", "b", "c", "z"];
        let mut literals = Vec::new();
        for len in 1..=4 {
            let mut idx = vec![0usize; len];
            loop {
                literals.push(
                    idx.iter()
                        .map(|&i| alphabet[i])
                        .collect::<Vec<_>>()
                        .join("."),
                );
                let mut pos = 0;
                while pos < len && idx[pos] == alphabet.len() - 1 {
                    idx[pos] = 0;
                    pos += 1;
                }
                if pos == len {
                    break;
                }
                idx[pos] += 1;
            }
        }
        use crate::routing::subject_matches;
        for a in filters {
            for b in filters {
                let model = literals.iter().any(|literal| {
                    subject_matches(a.as_bytes(), literal.as_bytes())
                        && subject_matches(b.as_bytes(), literal.as_bytes())
                });
                assert_eq!(subjects_overlap(a, b), model, "{a} / {b}");
                let subset = literals
                    .iter()
                    .filter(|l| subject_matches(a.as_bytes(), l.as_bytes()))
                    .all(|l| subject_matches(b.as_bytes(), l.as_bytes()));
                assert_eq!(is_subset_match(a, b), subset, "{a} subset of {b}");
            }
        }
    }

    #[test]
    fn subset_table() {
        assert!(is_subset_match("$JS.EVENT.x", "$JS.EVENT.>"));
        assert!(is_subset_match("$JS.EVENT.>", "$JS.EVENT.>"));
        assert!(!is_subset_match("$JS.>", "$JS.EVENT.>"));
        assert!(is_subset_match("$SYS.ACCOUNT.*.x", "$SYS.ACCOUNT.>"));
        assert!(!is_subset_match("foo.>", "foo.*"));
        assert!(is_subset_match("foo.*", "foo.*"));
        assert!(!is_subset_match("foo", "foo.>"));
    }

    #[test]
    fn asset_names() {
        for name in ["S", "ORDERS", "a-b_c", "naïve", "a\"b"] {
            assert!(is_valid_asset_name(name), "{name:?}");
        }
        for name in [
            "", "a.b", "a*", "a>", "a b", "a\tb", "a\nb", "a\\b", "a/b", "a\rb", "a\x0cb",
        ] {
            assert!(!is_valid_asset_name(name), "{name:?}");
        }
    }
}
