//! Subject syntax: tokens, wildcards and the validity rules, copied from nats-server's
//! `server/sublist.go` so that what this broker accepts and rejects is what nats-server does.
//!
//! A subject is a sequence of tokens separated by `.`. In a subscription, a token that is
//! exactly `*` matches any one token and a token that is exactly `>` (only as the last token)
//! matches one or more tokens. A wildcard character inside a longer token (`foo*`, `>bar`) is
//! an ordinary literal character: nats-server only treats whole tokens as wildcards.

/// Separates the tokens of a subject.
pub const TOKEN_SEPARATOR: u8 = b'.';
/// A whole token matching exactly one token.
pub const PARTIAL_WILDCARD: &[u8] = b"*";
/// A whole last token matching one or more tokens.
pub const FULL_WILDCARD: &[u8] = b">";
/// The queue group name nats-server reserves for itself: a client queue subscription using it
/// is refused as a permissions violation (`server/client.go` `processSubEx`, `sysGroup`).
/// Queue names are otherwise not validated by nats-server.
pub const RESERVED_QUEUE_GROUP: &[u8] = b"_sys_";

/// The tokens of `subject`, split on `.` by slicing (no allocation). An empty subject yields
/// one empty token, as Go's `strings.Split` does, so emptiness checks see it.
pub fn tokens(subject: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> + Clone {
    subject.split(|&b| b == TOKEN_SEPARATOR)
}

/// Whether `subject` is valid for a subscription (nats-server `IsValidSubject`): not empty,
/// no empty token (so no leading, trailing or doubled `.`), `>` only as the last token, and no
/// whitespace (space, `\t`, `\n`, `\r`, `\f`) anywhere.
///
/// nats-server's SUB path does not call this: the `-ERR 'Invalid Subject'` on SUB comes from
/// `Sublist.Insert`, which checks everything here except whitespace (its parser has already
/// split the arguments on whitespace). [`crate::routing::Sublist::insert`] applies that same
/// rule, so feeding SUB subjects straight to it is byte-for-byte compatible.
pub fn is_valid_subject(subject: &[u8]) -> bool {
    is_valid_subscription_subject(subject)
        && !subject
            .iter()
            .any(|&b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c))
}

/// Whether `subject` is a valid literal subject (nats-server `IsValidLiteralSubject`): no empty
/// token and no wildcard token. This is the check nats-server runs on PUB/HPUB subjects in
/// pedantic mode (`-ERR 'Invalid Publish Subject'`, `server/client.go` `processPub`).
/// Like nats-server it does not look for whitespace; [`is_valid_publish_subject`] does.
pub fn is_valid_literal_subject(subject: &[u8]) -> bool {
    tokens(subject).all(|token| !token.is_empty() && !is_wildcard(token))
}

/// [`is_valid_subject`] and [`is_literal_subject`] (nats-server `IsValidPublishSubject`).
pub fn is_valid_publish_subject(subject: &[u8]) -> bool {
    is_valid_subject(subject) && is_literal_subject(subject)
}

/// Whether no token of `subject` is a wildcard (nats-server `subjectIsLiteral`). Does not check
/// validity: `foo..bar` is literal.
pub fn is_literal_subject(subject: &[u8]) -> bool {
    !tokens(subject).any(is_wildcard)
}

/// Whether the published `subject` matches the subscription `filter`, decided token by token
/// with no index: the reference the sublist is tested against.
///
/// The subject's tokens are always literal, as in the sublist: a subject `foo.*` (which a
/// non-pedantic client may publish) matches the filters `foo.*`, `foo.>` and `>` but not
/// `foo.bar`. A subject with an empty token matches nothing (nats-server `Sublist.Match`
/// returns an empty result for it). `filter` is assumed valid; a `>` that is not last still
/// matches the rest, as in nats-server `isSubsetMatchTokenized`.
pub fn subject_matches(filter: &[u8], subject: &[u8]) -> bool {
    if has_empty_token(subject) {
        return false;
    }
    let mut subject_tokens = tokens(subject);
    for filter_token in tokens(filter) {
        let Some(subject_token) = subject_tokens.next() else {
            return false;
        };
        if filter_token == FULL_WILDCARD {
            return true;
        }
        if filter_token != PARTIAL_WILDCARD && filter_token != subject_token {
            return false;
        }
    }
    subject_tokens.next().is_none()
}

/// The rule nats-server's `Sublist.Insert` and `Sublist.Remove` enforce: not empty, no empty
/// token, nothing after a `>` token. Whitespace is allowed here (see [`is_valid_subject`]).
pub(crate) fn is_valid_subscription_subject(subject: &[u8]) -> bool {
    if has_empty_token(subject) {
        return false;
    }
    // Only a `>` before the last token can make a subject with no empty token invalid.
    let mut rest = tokens(subject);
    rest.next_back();
    !rest.any(|token| token == FULL_WILDCARD)
}

/// Whether `subject` is empty or has an empty token. On the match path (cache misses), so it
/// jumps from separator to separator with `memchr` rather than testing every byte pair.
pub(crate) fn has_empty_token(subject: &[u8]) -> bool {
    subject.first().is_none_or(|&b| b == TOKEN_SEPARATOR)
        || subject.last() == Some(&TOKEN_SEPARATOR)
        || memchr::memchr_iter(TOKEN_SEPARATOR, subject)
            .any(|i| subject.get(i + 1) == Some(&TOKEN_SEPARATOR))
}

pub(crate) fn is_wildcard(token: &[u8]) -> bool {
    token == PARTIAL_WILDCARD || token == FULL_WILDCARD
}

/// Splits off the first token: `(token, rest)`, `rest` being `None` after the last token.
pub(crate) fn split_first_token(subject: &[u8]) -> (&[u8], Option<&[u8]>) {
    match memchr::memchr(TOKEN_SEPARATOR, subject) {
        Some(i) => (&subject[..i], Some(&subject[i + 1..])),
        None => (subject, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // (subject, is_valid_subject, is_valid_literal_subject, why). Cases from nats-server's
    // sublist_test.go `TestSublistValidSubjects` / `TestSublistValidLiteralSubjects` plus the
    // whitespace rules of `isValidSubject`.
    #[rustfmt::skip]
    const VALIDITY: &[(&str, bool, bool, &str)] = &[
        ("foo", true, true, "one literal token"),
        ("foo.bar.baz", true, true, "literal tokens"),
        ("", false, false, "empty subject"),
        (".", false, false, "two empty tokens"),
        (".foo", false, false, "leading dot makes an empty first token"),
        ("foo.", false, false, "trailing dot makes an empty last token"),
        ("foo..bar", false, false, "doubled dot makes an empty token"),
        ("*", true, false, "a lone partial wildcard"),
        (">", true, false, "a lone full wildcard"),
        ("foo.bar.*", true, false, "partial wildcard as a token"),
        ("foo.*.bar", true, false, "partial wildcard may sit in the middle"),
        ("foo.bar.>", true, false, "full wildcard as the last token"),
        ("foo.*.>", true, false, "both wildcards"),
        (">.bar", false, false, "full wildcard not last"),
        ("foo.>.bar", false, false, "full wildcard not last"),
        ("foo.>.*", false, false, "nothing may follow a full wildcard"),
        ("foo*", true, true, "`*` inside a longer token is a literal character"),
        ("foo**", true, true, "`**` is a literal token"),
        ("foo.**", true, true, "`**` is a literal token"),
        ("foo*bar", true, true, "`*` inside a token is literal"),
        ("foo.*bar", true, true, "`*bar` is a literal token"),
        ("foo*.bar", true, true, "`foo*` is a literal token"),
        ("*bar", true, true, "`*bar` is a literal token"),
        ("foo>", true, true, "`>` inside a longer token is a literal character"),
        ("foo.>>", true, true, "`>>` is a literal token"),
        ("foo>bar", true, true, "`>` inside a token is literal"),
        ("foo.>bar", true, true, "`>bar` is a literal token"),
        ("foo>.bar", true, true, "`foo>` is literal, so not a non-last full wildcard"),
        (">bar", true, true, "`>bar` is a literal token"),
        ("foo bar", false, true, "space; the literal check ignores whitespace"),
        ("foo.\t", false, true, "a lone tab token"),
        ("foo\nbar", false, true, "newline inside a token"),
        ("foo\r", false, true, "carriage return inside a token"),
        ("\x0cfoo", false, true, "form feed inside a token"),
        ("foo\x0bbar", true, true, "vertical tab is not in nats-server's whitespace set"),
        ("foo\0bar", true, true, "NUL is only rejected by the filestore's rune check"),
        ("ünïcode.δ", true, true, "any other byte is allowed"),
    ];

    #[test]
    fn validity_table() {
        for &(subject, valid, literal, why) in VALIDITY {
            let s = subject.as_bytes();
            assert_eq!(
                is_valid_subject(s),
                valid,
                "is_valid_subject({subject:?}): {why}"
            );
            assert_eq!(
                is_valid_literal_subject(s),
                literal,
                "is_valid_literal_subject({subject:?}): {why}"
            );
            assert_eq!(
                is_valid_publish_subject(s),
                valid && literal,
                "is_valid_publish_subject({subject:?}): {why}"
            );
        }
    }

    #[test]
    fn subscription_rule_is_is_valid_subject_without_whitespace() {
        for &(subject, valid, _, why) in VALIDITY {
            let s = subject.as_bytes();
            let has_whitespace = s
                .iter()
                .any(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c));
            assert_eq!(
                is_valid_subscription_subject(s),
                valid || has_whitespace,
                "is_valid_subscription_subject({subject:?}): {why}"
            );
        }
    }

    #[test]
    fn literal_table() {
        // nats-server sublist_test.go `TestSubjectIsLiteral`.
        for (subject, literal) in [
            ("foo", true),
            ("foo.bar", true),
            ("foo*.bar", true),
            ("foo..bar", true),
            ("*", false),
            (">", false),
            ("foo.*", false),
            ("foo.>", false),
            ("foo.*.>", false),
            ("foo.*.bar", false),
            ("foo.bar.>", false),
        ] {
            assert_eq!(
                is_literal_subject(subject.as_bytes()),
                literal,
                "{subject:?}"
            );
        }
    }

    #[test]
    fn matches_table() {
        // (filter, subject, matches). Most from nats-server `TestSublistMatchLiterals`.
        for (filter, subject, expected) in [
            ("foo", "foo", true),
            ("bar", "foo", false),
            ("*", "foo", true),
            (">", "foo", true),
            (">", "foo.bar", true),
            ("foo.>", "foo.bar", true),
            ("foo.>", "foo.bar.baz", true),
            ("foo.>", "foo", false),
            ("bar.>", "foo.bar", false),
            ("stats.>", "stats.test.22", true),
            ("stats.*.*", "stats.test.22", true),
            ("foo", "foo.bar", false),
            ("foo.bar", "foo", false),
            ("stats.test.foos", "stats.test.foos", true),
            ("stats.test.foo", "stats.test.foos", false),
            ("stats.test.*", "stats.test", false),
            ("stats.*", "stats.test.foos", false),
            ("stats.*.*.foos", "stats.test.foos", false),
            ("*.*", "a.b", true),
            ("*", "a.b", false),
            ("*bar", "*bar", true),
            ("*bar", "xbar", false),
            ("foo*", "foo*", true),
            ("foo*", "foox", false),
            ("foo.***.bar", "foo.***.bar", true),
            (">bar", ">bar", true),
            ("foo>", "foo>", true),
            ("foo>", "foo.x", false),
            ("foo.>>>.bar", "foo.>>>.bar", true),
            // Subject tokens are literal: a published `*` is only matched by wildcards.
            ("foo.*", "foo.*", true),
            ("foo.>", "foo.*", true),
            ("foo.bar", "foo.*", false),
            ("foo.>", "foo.>", true),
            // Subjects with empty tokens match nothing, not even `>`.
            (">", "", false),
            (">", ".foo", false),
            (">", "foo.", false),
            ("foo.*.bar", "foo..bar", false),
            ("*", "", false),
        ] {
            assert_eq!(
                subject_matches(filter.as_bytes(), subject.as_bytes()),
                expected,
                "subject_matches({filter:?}, {subject:?})"
            );
        }
    }

    #[test]
    fn empty_token_detection() {
        for (subject, expected) in [
            ("", true),
            (".", true),
            (".a", true),
            ("a.", true),
            ("a..b", true),
            ("a.b", false),
            ("a", false),
        ] {
            assert_eq!(has_empty_token(subject.as_bytes()), expected, "{subject:?}");
        }
    }

    #[test]
    fn split_first_token_slices() {
        assert_eq!(
            split_first_token(b"a.bc.d"),
            (&b"a"[..], Some(&b"bc.d"[..]))
        );
        assert_eq!(split_first_token(b"abc"), (&b"abc"[..], None));
        assert_eq!(split_first_token(b"a."), (&b"a"[..], Some(&b""[..])));
    }
}
