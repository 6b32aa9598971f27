//! Tests of the conf parser, one per construct and quirk.
//!
//! Expected values come from nats-server's conf package tests (conf/parse_test.go,
//! conf/lex_test.go) and from running `nats-server -t -c FILE` (nats-server 2.12.8) on the same
//! text; cases checked against the binary say "verified against nats-server 2.12.8". The binary
//! shows values only through its errors, so those checks used keys whose errors print the value
//! (`lame_duck_duration` prints strings through Go's duration error, `trusted` prints array
//! items, `authorization { timeout }` prints large integers).

use proptest::prelude::*;

use super::*;

use crate::conf::MapSource as FakeSource;

/// A value written compactly: maps as `{k: v, ...}` in file order, strings quoted.
fn show(value: &Value) -> String {
    match &value.kind {
        ValueKind::String(text) => format!("{text:?}"),
        ValueKind::Integer(number) => number.to_string(),
        ValueKind::Float(number) => format!("{number:?}"),
        ValueKind::Bool(flag) => flag.to_string(),
        ValueKind::Datetime(d) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            d.year, d.month, d.day, d.hour, d.minute, d.second
        ),
        ValueKind::Array(values) => {
            let items: Vec<String> = values.iter().map(show).collect();
            format!("[{}]", items.join(", "))
        }
        ValueKind::Map(map) => show_map(map),
    }
}

fn show_map(map: &Map) -> String {
    let entries: Vec<String> = map
        .iter()
        .map(|entry| format!("{}: {}", entry.key, show(&entry.value)))
        .collect();
    format!("{{{}}}", entries.join(", "))
}

fn parse_with(text: &str, source: &FakeSource) -> Result<Map, ConfError> {
    parse(text, "test.conf", source)
}

/// The parsed text shown with [`show_map`]; panics with the error if it does not parse.
fn parsed(text: &str) -> String {
    match parse(text, "test.conf", &NoSource) {
        Ok(map) => show_map(&map),
        Err(error) => panic!("{text:?} failed: {error}"),
    }
}

/// The error a text fails with, as displayed.
fn failure(text: &str) -> String {
    failure_with(text, &FakeSource::default())
}

fn failure_with(text: &str, source: &FakeSource) -> String {
    match parse_with(text, source) {
        Ok(map) => panic!("{text:?} parsed as {}", show_map(&map)),
        Err(error) => error.to_string(),
    }
}

// --- Keys and separators -----------------------------------------------------------------------

#[test]
fn key_value_separators() {
    assert_eq!(parsed("a: 1\nb = 2\nc 3\n"), "{a: 1, b: 2, c: 3}");
    assert_eq!(parsed("a:1\nb=2"), "{a: 1, b: 2}");
    // parse_test.go TestSimpleTopLevel.
    assert_eq!(
        parsed("foo='1'; bar=2.2; baz=true; boo=22"),
        "{foo: \"1\", bar: 2.2, baz: true, boo: 22}"
    );
}

#[test]
fn several_values_on_one_line() {
    // Verified against nats-server 2.12.8 (`ping_max=1, port=2; debug=true` is valid).
    assert_eq!(
        parsed("ping_max=1, port=2; debug=true\n"),
        "{ping_max: 1, port: 2, debug: true}"
    );
}

#[test]
fn quoted_keys() {
    assert_eq!(parsed("\"a b\" = 1\n'c:d': 2"), "{a b: 1, c:d: 2}");
    assert_eq!(parsed("m { \"x y\": 1, 'z': 2 }"), "{m: {x y: 1, z: 2}}");
}

#[test]
fn key_on_one_line_value_on_the_next() {
    // A blank-separated key skips new lines before its value (lexKeyEnd skips all space).
    assert_eq!(parsed("port\n4222\n"), "{port: 4222}");
}

#[test]
fn a_key_set_twice_keeps_the_last_value() {
    assert_eq!(parsed("a = 1\nb = 2\na = 3\n"), "{a: 3, b: 2}");
}

#[test]
fn keys_keep_their_case() {
    assert_eq!(parsed("PORT: 1\nport: 2"), "{PORT: 1, port: 2}");
}

// --- Maps and arrays ---------------------------------------------------------------------------

#[test]
fn nested_maps_and_arrays() {
    // parse_test.go TestSample1.
    let text = "
foo  {
  host {
    ip   = '127.0.0.1'
    port = 4242
  }
  servers = [ \"a.com\", \"b.com\", \"c.com\"]
}
";
    assert_eq!(
        parsed(text),
        "{foo: {host: {ip: \"127.0.0.1\", port: 4242}, servers: [\"a.com\", \"b.com\", \"c.com\"]}}"
    );
}

#[test]
fn arrays_separated_by_new_lines_and_commas() {
    // parse_test.go TestSample4 and TestSample2.
    assert_eq!(
        parsed("array [\n  { abc: 123 }\n  { xyz: \"word\" }\n]\n"),
        "{array: [{abc: 123}, {xyz: \"word\"}]}"
    );
    assert_eq!(
        parsed("routes = [\n  nats-route://foo:bar@apcera.me:4245\n  nats-route://foo:bar@apcera.me:4246\n]"),
        "{routes: [\"nats-route://foo:bar@apcera.me:4245\", \"nats-route://foo:bar@apcera.me:4246\"]}"
    );
    assert_eq!(parsed("a = [x, y,z]"), "{a: [\"x\", \"y\", \"z\"]}");
    assert_eq!(parsed("a = []\nb = {}"), "{a: [], b: {}}");
}

#[test]
fn map_entries_separated_by_commas_semicolons_and_new_lines() {
    assert_eq!(
        parsed("m { a: 1, b: 2; c: 3\n d: 4 }"),
        "{m: {a: 1, b: 2, c: 3, d: 4}}"
    );
    // A map needs no separator after its key.
    assert_eq!(parsed("m {a=1}"), "{m: {a: 1}}");
}

#[test]
fn a_top_level_wrapped_in_braces_reads_like_json() {
    // parse_test.go TestJSONParseCompat and TestBlocks; verified against nats-server 2.12.8.
    assert_eq!(
        parsed("{\n  \"port\": 4222,\n  \"debug\": true\n}\n"),
        "{port: 4222, debug: true}"
    );
    assert_eq!(
        parsed("{ listen: 0.0.0.0:4222 }"),
        "{listen: \"0.0.0.0:4222\"}"
    );
    assert_eq!(
        parsed("\n{\n  {\n    listen: 0.0.0.0:4222 // random comment\n  }\n  # wibble1\n}\n# wibble2\n"),
        "{listen: \"0.0.0.0:4222\"}"
    );
    assert_eq!(parsed("{}"), "{}");
    assert_eq!(
        parsed("{\n \"jetstream\": {\n  \"store_dir\": \"/tmp/nats\"\n  \"max_mem\": 1000000,\n },\n \"port\": 4222\n}\n"),
        "{jetstream: {store_dir: \"/tmp/nats\", max_mem: 1000000}, port: 4222}"
    );
}

#[test]
fn a_stray_closing_brace_after_the_config_is_accepted() {
    // parse_test.go TestParseWithTrailingBracketsAreValid: the `}` lexes as a key, which the
    // parser lets end the file.
    assert_eq!(
        parsed("accounts { users = [{}]}\n}\n"),
        "{accounts: {users: [{}]}}"
    );
}

// --- Comments ----------------------------------------------------------------------------------

#[test]
fn comments_in_every_context() {
    let text = "
# hash comment
// slash comment
a = 1 # after a value
b = 2 // after a value
m {
  # in a map
  c = 3 // after a map value
}
arr [
  // in an array
  4 # after an array value
  5
]
";
    assert_eq!(parsed(text), "{a: 1, b: 2, m: {c: 3}, arr: [4, 5]}");
}

#[test]
fn only_comments_is_an_empty_config() {
    assert_eq!(parsed("# hi\n// there\n"), "{}");
    assert_eq!(parsed(""), "{}");
    assert_eq!(parsed("\n\n   \n"), "{}");
}

#[test]
fn a_lone_slash_after_a_value_is_skipped() {
    // lexTopValueEnd falls through from `/` to the blank case.
    assert_eq!(parsed("a = 1 / \nb = 2"), "{a: 1, b: 2}");
}

#[test]
fn a_hash_right_after_a_separator_is_a_value() {
    // Values are not scanned for comments: `#x` is a bare string.
    assert_eq!(parsed("a = #x\n"), "{a: \"#x\"}");
}

// --- Strings -----------------------------------------------------------------------------------

#[test]
fn single_quoted_strings_are_raw() {
    // Verified against nats-server 2.12.8: 'a\tb' keeps the backslash.
    assert_eq!(parsed("a = 'a\\tb'"), "{a: \"a\\\\tb\"}");
    // parse_test.go TestSample3: quotes span lines.
    assert_eq!(
        parsed("foo {\n  expr = '(true == \"false\")'\n  text = 'This is a multi-line\ntext block.'\n}"),
        "{foo: {expr: \"(true == \\\"false\\\")\", text: \"This is a multi-line\\ntext block.\"}}"
    );
}

#[test]
fn double_quoted_strings_decode_escapes() {
    // Verified against nats-server 2.12.8: "a\x41\tb" is aA<tab>b.
    assert_eq!(parsed(r#"a = "a\x41\tb""#), "{a: \"aA\\tb\"}");
    assert_eq!(
        parsed(r#"a = "q\"b\\n\nr\r""#),
        "{a: \"q\\\"b\\\\n\\nr\\r\"}"
    );
    assert_eq!(parsed(r#"a = "\xc3\xa9""#), "{a: \"é\"}");
    assert_eq!(parsed("a = \"\""), "{a: \"\"}");
}

#[test]
fn an_unknown_escape_is_an_error() {
    // Verified against nats-server 2.12.8 (same message, after "Parse error on line 2: ").
    assert_eq!(
        failure("port = 4222\n  a = \"abc\\q\"\n"),
        "test.conf:2:12: Invalid escape character 'q'. Only the following escape characters are allowed: \\xXX, \\t, \\n, \\r, \\\", \\\\."
    );
    assert_eq!(
        failure("a = \"\\xzz\""),
        "test.conf:1:9: Expected two hexadecimal digits after '\\x', but got 'zz'"
    );
    assert_eq!(
        failure("a = \"\\x4\n\""),
        "test.conf:1:9: Expected two hexadecimal digits after '\\x', but hit end of line"
    );
}

#[test]
fn escapes_that_are_not_utf8_are_an_error() {
    assert_eq!(
        failure(r#"a = "\xff""#),
        "test.conf:1:5: string is not valid UTF-8 after decoding its \\x escapes"
    );
}

#[test]
fn bare_strings() {
    assert_eq!(
        parsed("a = hello\nb = nats://x:4222"),
        "{a: \"hello\", b: \"nats://x:4222\"}"
    );
    assert_eq!(parsed("a = localhost:4222"), "{a: \"localhost:4222\"}");
    // Verified against nats-server 2.12.8: escapes work in bare strings.
    assert_eq!(parsed(r"a = foo\tbar"), "{a: \"foo\\tbar\"}");
    // A `'` ends a bare string and is dropped.
    assert_eq!(parsed("a = abc'\n"), "{a: \"abc\"}");
    // Nothing after the separator is an empty string.
    assert_eq!(parsed("a ="), "{a: \"\"}");
}

#[test]
fn quotes_are_unterminated_at_the_end_of_input() {
    assert_eq!(failure("a = 'abc"), "test.conf:1:9: Unexpected EOF.");
    assert_eq!(failure("a = \"abc"), "test.conf:1:9: Unexpected EOF.");
}

// --- Blocks ------------------------------------------------------------------------------------

#[test]
fn blocks_keep_raw_text_up_to_a_lone_paren() {
    // Verified against nats-server 2.12.8: the text starts with the new line after `(` and
    // keeps the one before `)`.
    assert_eq!(
        parsed("a = (\nhello\nworld\n)\nb = 1\n"),
        "{a: \"\\nhello\\nworld\\n\", b: 1}"
    );
    // A `)` inside a line, or followed by more text, does not end the block.
    assert_eq!(
        parsed("a = (\nf(x)\n) more\n)\n"),
        "{a: \"\\nf(x)\\n) more\\n\"}"
    );
}

#[test]
fn a_block_at_the_end_of_input_keeps_its_paren() {
    // Verified against nats-server 2.12.8: "\x0ahello\x0a)".
    assert_eq!(parsed("a = (\nhello\n)"), "{a: \"\\nhello\\n)\"}");
}

#[test]
fn an_unterminated_block_is_an_error() {
    assert_eq!(
        failure("a = (\nhello"),
        "test.conf:2:6: Unexpected EOF processing block."
    );
}

// --- Numbers -----------------------------------------------------------------------------------

#[test]
fn integers_with_size_suffixes() {
    // parse_test.go TestConvenientNumbers, plus the exa sizes.
    let text = "
k = 8k
kb = 4kb
ki = 3ki
kib = 4ki
m = 1m
mb = 2MB
mi = 2Mi
mib = 64MiB
g = 2g
gb = 22GB
gi = 22Gi
gib = 22GiB
t = 2t
tb = 22TB
ti = 22Ti
tib = 22TiB
p = 2p
pb = 22PB
pi = 22Pi
pib = 22PiB
e = 2e
eb = 2EB
neg = -2k
";
    let expected = [
        ("k", 8 * 1000),
        ("kb", 4 * 1024),
        ("ki", 3 * 1024),
        ("kib", 4 * 1024),
        ("m", 1000 * 1000),
        ("mb", 2 * 1024 * 1024),
        ("mi", 2 * 1024 * 1024),
        ("mib", 64 * 1024 * 1024),
        ("g", 2 * 1000 * 1000 * 1000),
        ("gb", 22 * (1i64 << 30)),
        ("gi", 22 * (1i64 << 30)),
        ("gib", 22 * (1i64 << 30)),
        ("t", 2 * 1000i64.pow(4)),
        ("tb", 22 * (1i64 << 40)),
        ("ti", 22 * (1i64 << 40)),
        ("tib", 22 * (1i64 << 40)),
        ("p", 2 * 1000i64.pow(5)),
        ("pb", 22 * (1i64 << 50)),
        ("pi", 22 * (1i64 << 50)),
        ("pib", 22 * (1i64 << 50)),
        ("e", 2 * 1000i64.pow(6)),
        ("eb", 2 * (1i64 << 60)),
        ("neg", -2000),
    ];
    let map = parse(text, "test.conf", &NoSource).expect("sizes parse");
    for (key, number) in expected {
        assert_eq!(
            map.get(key).and_then(Value::as_integer),
            Some(number),
            "{key}"
        );
    }
}

#[test]
fn a_bare_2m_is_two_million_but_10s_is_a_string() {
    // Verified against nats-server 2.12.8: `authorization { timeout: 2m }` warns about a
    // timeout of 2000000 seconds.
    assert_eq!(parsed("a = 2m"), "{a: 2000000}");
    assert_eq!(
        parsed("a = 10s\nb = 1h30m\nc = 5ms\nd = 3Gyz"),
        "{a: \"10s\", b: \"1h30m\", c: \"5ms\", d: \"3Gyz\"}"
    );
}

#[test]
fn a_size_suffix_followed_by_a_digit_ends_the_number() {
    // Verified against nats-server 2.12.8: `1e5` lexes as `1e`, then `5` cannot end a value.
    assert_eq!(
        failure("authorization { timeout: 1e5 }\n"),
        "test.conf:1:28: Expected a map value terminator \",\" or a map terminator \"}\", but got '5' instead."
    );
}

#[test]
fn an_unknown_size_suffix_is_an_error() {
    // nats-server 2.12.8 silently drops `a = 2kbb` (verified); we refuse it instead.
    assert_eq!(
        failure("a = 2kbb\n"),
        "test.conf:1:5: expected integer, but got '2kbb'"
    );
}

#[test]
fn integers_out_of_range_are_errors() {
    // Verified against nats-server 2.12.8 (same message, without a position).
    assert_eq!(
        failure("port = 99999999999999999999\n"),
        "test.conf:1:8: integer '99999999999999999999' is out of the range"
    );
    // nats-server wraps this one around; we refuse it.
    assert_eq!(
        failure("a = 9EB"),
        "test.conf:1:5: integer '9EB' is out of the range"
    );
}

#[test]
fn floats() {
    assert_eq!(
        parsed("a = 2.2\nb = -1.5\nc = 0.5"),
        "{a: 2.2, b: -1.5, c: 0.5}"
    );
    assert_eq!(
        failure("a = .5"),
        "test.conf:1:5: Floats must start with a digit"
    );
    assert_eq!(
        failure("a = -.5"),
        "test.conf:1:6: Floats must start with a digit, not '.'."
    );
    assert_eq!(
        failure("a = 1.x"),
        "test.conf:1:7: Floats must have a digit after the '.', but got 'x' instead."
    );
}

#[test]
fn ip_addresses_and_host_ports_are_strings() {
    // Verified against nats-server 2.12.8: 127.0.0.1:4222 reaches lame_duck_duration as a
    // string.
    assert_eq!(
        parsed("a = 127.0.0.1:4222\nb = 10.0.0.1\nc = 0.0.0.0"),
        "{a: \"127.0.0.1:4222\", b: \"10.0.0.1\", c: \"0.0.0.0\"}"
    );
    // Verified against nats-server 2.12.8: letters after an IP end the value early.
    assert_eq!(
        failure("a = 1.2.3.4abc\n"),
        "test.conf:1:12: Expected a top-level value to end with a new line, comment or EOF, but got 'a' instead."
    );
}

#[test]
fn an_integer_right_before_a_bracket_swallows_it() {
    // Verified against nats-server 2.12.8: `trusted: [1, 2]` fails, `[x, 2k]` gives "2k".
    assert!(failure("a: [1, 2]\n").contains(
        "Expected an array value terminator \",\" or an array terminator \"]\", but got 'EOF' instead."
    ));
    assert_eq!(parsed("a: [1, 2 ]"), "{a: [1, 2]}");
    assert_eq!(parsed("a: [x, 2k]"), "{a: [\"x\", \"2k\"]}");
    assert_eq!(parsed("a: [1.5]"), "{a: [1.5]}");
}

// --- Booleans and datetimes --------------------------------------------------------------------

#[test]
fn booleans() {
    // parse_test.go TestBools.
    assert_eq!(
        parsed("a=true\nb=TRUE\nc=yes\nd=on\ne=false\nf=No\ng=off"),
        "{a: true, b: true, c: true, d: true, e: false, f: false, g: false}"
    );
    // Quoted, they are strings.
    assert_eq!(parsed("a='true'"), "{a: \"true\"}");
}

#[test]
fn zulu_datetimes() {
    // parse_test.go TestSample5; verified against nats-server 2.12.8 (a time.Time).
    assert_eq!(
        parsed("now = 2016-05-04T18:53:41Z\ngmt = false"),
        "{now: 2016-05-04T18:53:41Z, gmt: false}"
    );
    assert_eq!(
        parsed("leap = 2024-02-29T00:00:00Z"),
        "{leap: 2024-02-29T00:00:00Z}"
    );
    assert_eq!(
        failure("d = 2023-02-29T00:00:00Z"),
        "test.conf:1:5: expected Zulu formatted DateTime, but got '2023-02-29T00:00:00Z'"
    );
    // Verified against nats-server 2.12.8.
    assert_eq!(
        failure("d = 12-34\n"),
        "test.conf:1:7: All ISO8601 dates must be in full Zulu form."
    );
    assert_eq!(
        failure("d = 2016-05-04 18:53:41Z"),
        "test.conf:1:15: Expected 'T' in ISO8601 datetime, but found ' ' instead."
    );
}

// --- Variables ---------------------------------------------------------------------------------

#[test]
fn variables_resolve_in_enclosing_blocks() {
    // parse_test.go TestSimpleVariable and TestNestedVariable.
    assert_eq!(parsed("index = 22\nfoo = $index"), "{index: 22, foo: 22}");
    let text = "
  index = 22
  nest {
    index = 11
    foo = $index
  }
  bar = $index
";
    assert_eq!(
        parsed(text),
        "{index: 22, nest: {index: 11, foo: 11}, bar: 22}"
    );
}

#[test]
fn a_variable_defined_in_a_block_is_not_visible_outside() {
    // Verified against nats-server 2.12.8.
    assert_eq!(
        failure("authorization { T = 5s; token = $T }\nlame_duck_duration: $T\n"),
        "test.conf:2:21: variable reference for 'T' on line 2 can not be found"
    );
}

#[test]
fn variables_copy_maps_and_arrays() {
    assert_eq!(
        parsed("base { a: 1 }\nlist [1, x ]\ncopy = $base\nl2 = $list"),
        "{base: {a: 1}, list: [1, \"x\"], copy: {a: 1}, l2: [1, \"x\"]}"
    );
}

#[test]
fn a_used_definition_is_marked_and_its_copy_is_not() {
    // nats-server does not report a key used as a variable as unknown; the copy is a setting.
    let map = parse("TOK = abc\nauthorization { token = $TOK }", "t", &NoSource).expect("parses");
    assert!(map.get("TOK").is_some_and(Value::is_used_as_variable));
    let token = map
        .get("authorization")
        .and_then(Value::as_map)
        .and_then(|m| m.get("token"))
        .expect("token set");
    assert!(!token.is_used_as_variable());
    assert_eq!(token.as_str(), Some("abc"));
    // The reference's own position, not the definition's.
    assert_eq!((token.position.line, token.position.column), (2, 25));
}

#[test]
fn a_missing_variable_is_an_error() {
    // Verified against nats-server 2.12.8.
    assert_eq!(
        failure("port = $NOPE\n"),
        "test.conf:1:8: variable reference for 'NOPE' on line 1 can not be found"
    );
}

#[test]
fn variables_fall_back_to_the_environment() {
    // parse_test.go TestEnvVariable*: environment values parse as config values.
    let source = FakeSource::default()
        .env("NUM", "22")
        .env("SIZE", "30m")
        .env("TEXT", "xyz")
        .env("QUOTED", "'3xyz'")
        .env("MAP", "{a: 1}")
        .env("LIST", "[a, b ]");
    let map = parse_with(
        "a = $NUM\nb = $SIZE\nc = $TEXT\nd = $QUOTED\ne = $MAP\nf = $LIST",
        &source,
    )
    .expect("parses");
    assert_eq!(
        show_map(&map),
        "{a: 22, b: 30000000, c: \"xyz\", d: \"3xyz\", e: {a: 1}, f: [\"a\", \"b\"]}"
    );
    // Every value from the environment points at the reference.
    let e = map
        .get("e")
        .and_then(Value::as_map)
        .and_then(|m| m.get("a"));
    assert_eq!(e.map(|v| v.position.line), Some(5));
}

#[test]
fn a_block_variable_shadows_the_environment() {
    let source = FakeSource::default().env("X", "env");
    assert_eq!(
        show_map(&parse_with("X = file\na = $X", &source).expect("parses")),
        "{X: \"file\", a: \"file\"}"
    );
}

#[test]
fn an_environment_value_that_does_not_parse_is_an_error() {
    // Verified against nats-server 2.12.8 (its message adds "Parse error on line 1: '...'").
    let source = FakeSource::default().env("EV3", "abc def");
    assert_eq!(
        failure_with("lame_duck_duration: $EV3\n", &source),
        "test.conf:1:21: variable reference for 'EV3' on line 1 could not be parsed: Expected a top-level value to end with a new line, comment or EOF, but got 'd' instead."
    );
}

#[test]
fn environment_reference_cycles_are_errors() {
    // Verified against nats-server 2.12.8: the same nested message.
    let source = FakeSource::default().env("CYA", "$CYB").env("CYB", "$CYA");
    assert_eq!(
        failure_with("lame_duck_duration: $CYA\n", &source),
        "test.conf:1:21: variable reference for 'CYA' on line 1 could not be parsed: variable reference for 'CYB' on line 1 could not be parsed: variable reference for 'CYA' on line 1 could not be parsed: variable reference cycle for 'CYA'"
    );
}

#[test]
fn environment_chains_are_limited() {
    let mut source = FakeSource::default();
    for i in 0..40 {
        source = source.env(&format!("V{i}"), &format!("$V{}", i + 1));
    }
    let source = source.env("V40", "done");
    assert!(failure_with("a = $V0", &source).contains("variables nested deeper than 16 levels"));
}

#[test]
fn bcrypt_hashes_need_no_quotes() {
    // parse_test.go TestBcryptVariable; verified against nats-server 2.12.8.
    assert_eq!(parsed("password: $2a$11$ooo"), "{password: \"$2a$11$ooo\"}");
}

#[test]
fn variable_copies_are_limited() {
    // Each level copies the previous one ten times: 10^7 values without a limit.
    let mut text = String::from("l0 = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1 ]\n");
    for level in 1..8 {
        let refs = vec![format!("$l{}", level - 1); 10].join(", ");
        text.push_str(&format!("l{level} = [{refs} ]\n"));
    }
    assert!(failure(&text).contains("config has more than 1000000 values"));
}

#[test]
fn variable_copies_cannot_exceed_the_nesting_limit() {
    let open = "{a: ".repeat(40);
    let close = "}".repeat(40);
    let text = format!("x = {open}1{close}\ny {{ z {{ w = [ {open}$x{close} ] }} }}\n");
    assert!(failure(&text).contains("nesting deeper than 64 levels"));
}

// --- Includes ----------------------------------------------------------------------------------

#[test]
fn includes_merge_into_the_including_map() {
    let source = FakeSource::default()
        .file("conf/auth.conf", "user: alice\npass: secret\n")
        .file("conf/top.conf", "port: 4222\n");
    let text = "include top.conf\nauthorization {\n  include 'auth.conf'\n  timeout: 1\n}\n";
    let map = parse(text, "conf/nats.conf", &source).expect("includes parse");
    assert_eq!(
        show_map(&map),
        "{port: 4222, authorization: {user: \"alice\", pass: \"secret\", timeout: 1}}"
    );
    // Included values keep their own file and position.
    let port = map.entry("port").expect("port included");
    assert_eq!(port.key_position.to_string(), "conf/top.conf:1:1");
}

#[test]
fn include_paths_in_every_quoting() {
    let source = FakeSource::default()
        .file("a.conf", "a: 1")
        .file("b.conf", "b: 2")
        .file("c.conf", "c: 3")
        .file("sub/d.conf", "d: 4");
    assert_eq!(
        show_map(
            &parse_with(
                "include a.conf\ninclude 'b.conf'\nINCLUDE \"c.conf\"\ninclude ./sub/../sub/d.conf",
                &source
            )
            .expect("parses")
        ),
        "{a: 1, b: 2, c: 3, d: 4}"
    );
}

#[test]
fn absolute_include_paths_stay_under_the_including_directory() {
    // Go's filepath.Join; verified against nats-server 2.12.8 (`include /sub/inc2.conf`
    // read sub/inc2.conf).
    let source = FakeSource::default().file("/etc/nats/sub/x.conf", "x: 1");
    let map = parse("include /sub/x.conf", "/etc/nats/nats.conf", &source).expect("parses");
    assert_eq!(show_map(&map), "{x: 1}");
}

#[test]
fn a_missing_include_is_an_error_at_the_include() {
    // Verified against nats-server 2.12.8: "error parsing include file 'nope.conf', open
    // nope.conf: no such file or directory".
    assert_eq!(
        failure("\ninclude nope.conf\n"),
        "test.conf:2:9: error parsing include file 'nope.conf', open nope.conf: no such file or directory"
    );
}

#[test]
fn errors_inside_an_include_name_the_included_file() {
    let source = FakeSource::default().file("sub/inc1.conf", "port: 4222\nx = \"abc\\q\"\n");
    assert!(failure_with("include sub/inc1.conf\n", &source)
        .starts_with("sub/inc1.conf:2:10: Invalid escape character 'q'."));
}

#[test]
fn included_files_do_not_see_the_includers_variables() {
    // Verified against nats-server 2.12.8.
    let source = FakeSource::default().file("sub/inc4.conf", "lame_duck_duration: $V\n");
    assert_eq!(
        failure_with("V = 1\ninclude sub/inc4.conf\n", &source),
        "sub/inc4.conf:1:21: variable reference for 'V' on line 1 can not be found"
    );
}

#[test]
fn include_cycles_stop_at_the_depth_limit() {
    let source = FakeSource::default().file("self.conf", "include self.conf\n");
    assert!(failure_with("include self.conf", &source)
        .contains("error parsing include file 'self.conf', includes nested deeper than 16 files"));
}

#[test]
fn include_fan_out_stops_at_the_file_limit() {
    // Three levels of ten includes each: 1110 reads, none nested deeper than four files.
    let mut source = FakeSource::default().file("f3.conf", "x: 1");
    for level in 0..3 {
        source = source.file(
            &format!("f{level}.conf"),
            &format!("include f{}.conf\n", level + 1).repeat(10),
        );
    }
    assert!(failure_with("include f0.conf", &source).contains("more than 1024 files included"));
}

#[test]
fn include_value_errors() {
    assert_eq!(
        failure("include [a]"),
        "test.conf:1:9: Expected include value but found start of an array"
    );
    assert_eq!(
        failure("include 5"),
        "test.conf:1:9: Expected include value but found start of a number"
    );
    assert_eq!(
        failure("include 'x"),
        "test.conf:1:11: Unexpected EOF in quoted include"
    );
}

#[test]
fn include_followed_by_a_separator_is_an_ordinary_key() {
    assert_eq!(parsed("include: x"), "{include: \"x\"}");
}

// --- Quirks of the key stack -------------------------------------------------------------------

#[test]
fn a_key_without_a_value_takes_the_next_value_up() {
    // Verified against nats-server 2.12.8: `a { authorization }` is valid and sets a top-level
    // (empty) authorization.
    assert_eq!(parsed("a { authorization }\n"), "{authorization: {}}");
}

#[test]
fn a_slash_before_a_map_key_is_dropped() {
    // Verified against nats-server 2.12.8: `authorization { /timeout = 100 }` warns about
    // `timeout`.
    assert_eq!(parsed("m { /timeout = 100 }"), "{m: {timeout: 100}}");
}

#[test]
fn a_key_without_a_value_at_the_end_is_invalid() {
    // Verified against nats-server 2.12.8: "config is invalid (eofkey.conf:1:4)".
    assert_eq!(failure("port"), "test.conf:1:5: config is invalid");
    // parse_test.go TestParseWithNoValuesAreInvalid.
    assert_eq!(
        failure("\n   a,a,a,a,a\n   "),
        "test.conf:3:4: config is invalid"
    );
}

// --- Errors ------------------------------------------------------------------------------------

#[test]
fn lexer_errors_carry_line_and_column() {
    assert_eq!(
        failure("a = 1\nb = [1, 2 }"),
        "test.conf:2:11: Expected an array value terminator \",\" or an array terminator \"]\", but got '}' instead."
    );
    assert_eq!(
        failure("a = \n"),
        "test.conf:1:5: Expected value but found new line"
    );
    assert_eq!(failure("m { a = 1"), "test.conf:1:10: Expected a map value terminator \",\" or a map terminator \"}\", but got 'EOF' instead.");
    assert_eq!(
        failure("m {"),
        "test.conf:1:4: Unexpected EOF processing map."
    );
    assert_eq!(
        failure("= 1"),
        "test.conf:1:1: Unexpected key separator '='"
    );
    assert_eq!(
        failure("a = [,]"),
        "test.conf:1:6: Unexpected array value terminator ','."
    );
    assert_eq!(
        failure("m { a: 1, : 2 }"),
        "test.conf:1:11: Unexpected key separator ':'."
    );
    assert_eq!(failure("/x"), "test.conf:1:2: Unexpected EOF.");
}

#[test]
fn columns_count_characters() {
    assert_eq!(
        failure("ééé = \"\\q\""),
        "test.conf:1:9: Invalid escape character 'q'. Only the following escape characters are allowed: \\xXX, \\t, \\n, \\r, \\\", \\\\."
    );
}

#[test]
fn nesting_is_limited() {
    let text = format!("a = {}{}", "[".repeat(70), "]".repeat(70));
    assert!(failure(&text).contains("nesting deeper than 64 levels"));
    let text = format!("a = {}{}", "{b: ".repeat(70), "}".repeat(70));
    assert!(failure(&text).contains("nesting deeper than 64 levels"));
    // Braces around the top level also nest the lexer.
    assert!(failure(&"{".repeat(100)).contains("nesting deeper than 64 levels"));
    // Just under the limit is fine.
    let text = format!("a = {}{}", "[".repeat(62), "]".repeat(62));
    assert!(parse(&text, "t", &NoSource).is_ok());
}

#[test]
fn positions_of_keys_and_values() {
    let map = parse("\n  port: 4222\nm {\n\tx = [a, b ]\n}", "f.conf", &NoSource).expect("parses");
    let port = map.entry("port").expect("port");
    assert_eq!(port.key_position.to_string(), "f.conf:2:3");
    assert_eq!(port.value.position.to_string(), "f.conf:2:9");
    let x = map
        .get("m")
        .and_then(Value::as_map)
        .and_then(|m| m.entry("x"))
        .expect("x");
    assert_eq!(x.key_position.to_string(), "f.conf:4:2");
    let b = x.value.as_array().and_then(|a| a.get(1)).expect("b");
    assert_eq!(b.position.to_string(), "f.conf:4:10");
    // Maps, arrays and quoted strings are placed at their opening bracket or quote.
    assert_eq!(x.value.position.to_string(), "f.conf:4:6");
    let quoted = parse("a = 'x'\nb = \"y\"", "f.conf", &NoSource).expect("parses");
    let columns: Vec<u32> = quoted.iter().map(|e| e.value.position.column).collect();
    assert_eq!(columns, [5, 5]);
}

#[test]
fn a_nul_byte_ends_the_input_after_a_key() {
    // Go's lexer reads end of input as NUL, so the two cannot be told apart.
    assert_eq!(failure("a\0 = 1"), "test.conf:1:3: config is invalid");
}

// --- Durations ---------------------------------------------------------------------------------

#[test]
fn go_durations() {
    // Cases from Go's time/time_test.go parseDurationTests.
    let second = 1_000_000_000i64;
    let minute = 60 * second;
    let hour = 60 * minute;
    let cases: &[(&str, i64)] = &[
        ("0", 0),
        ("5s", 5 * second),
        ("30s", 30 * second),
        ("1478s", 1478 * second),
        ("-5s", -5 * second),
        ("+5s", 5 * second),
        ("-0", 0),
        ("+0", 0),
        ("5.0s", 5 * second),
        ("5.6s", 5 * second + 600_000_000),
        ("5.s", 5 * second),
        (".5s", 500_000_000),
        ("1.0s", second),
        ("1.00s", second),
        ("1.004s", second + 4_000_000),
        ("1.0040s", second + 4_000_000),
        ("100.00100s", 100 * second + 1_000_000),
        ("10ns", 10),
        ("11us", 11_000),
        ("12\u{b5}s", 12_000),
        ("12\u{3bc}s", 12_000),
        ("13ms", 13_000_000),
        ("14s", 14 * second),
        ("15m", 15 * minute),
        ("16h", 16 * hour),
        ("3h30m", 3 * hour + 30 * minute),
        ("10.5s4m", 4 * minute + 10 * second + 500_000_000),
        ("-2m3.4s", -(2 * minute + 3 * second + 400_000_000)),
        (
            "1h2m3s4ms5us6ns",
            hour + 2 * minute + 3 * second + 4_005_006,
        ),
        (
            "39h9m14.425s",
            39 * hour + 9 * minute + 14 * second + 425_000_000,
        ),
        ("52763797000ns", 52_763_797_000),
        ("0.3333333333333333333h", 20 * minute),
        ("9007199254740993ns", 9_007_199_254_740_993),
        ("9223372036854775807ns", i64::MAX),
        ("9223372036854775.807us", i64::MAX),
        ("9223372036s854ms775us807ns", i64::MAX),
        ("-9223372036854775808ns", i64::MIN),
        ("-9223372036854775.808us", i64::MIN),
        ("-9223372036s854ms775us808ns", i64::MIN),
        ("-2562047h47m16.854775808s", i64::MIN),
        ("0.100000000000000000000h", 6 * minute),
        (
            "0.830103483285477580700h",
            49 * minute + 48 * second + 372_539_827,
        ),
    ];
    for &(text, nanos) in cases {
        assert_eq!(parse_go_duration(text), Ok(nanos), "{text}");
    }
}

#[test]
fn go_duration_errors() {
    let cases: &[(&str, &str)] = &[
        ("", r#"time: invalid duration """#),
        ("3", r#"time: missing unit in duration "3""#),
        ("-", r#"time: invalid duration "-""#),
        ("s", r#"time: invalid duration "s""#),
        (".", r#"time: invalid duration ".""#),
        ("-.", r#"time: invalid duration "-.""#),
        (".s", r#"time: invalid duration ".s""#),
        ("+.s", r#"time: invalid duration "+.s""#),
        ("1d", r#"time: unknown unit "d" in duration "1d""#),
        ("2x", r#"time: unknown unit "x" in duration "2x""#),
        ("1 s", r#"time: unknown unit " s" in duration "1 s""#),
        (
            "9223372036854775810ns",
            r#"time: invalid duration "9223372036854775810ns""#,
        ),
        (
            "9223372036854775808ns",
            r#"time: invalid duration "9223372036854775808ns""#,
        ),
        (
            "-9223372036854775809ns",
            r#"time: invalid duration "-9223372036854775809ns""#,
        ),
        (
            "9223372036854776us",
            r#"time: invalid duration "9223372036854776us""#,
        ),
        ("3000000h", r#"time: invalid duration "3000000h""#),
        (
            "9223372036854775.808us",
            r#"time: invalid duration "9223372036854775.808us""#,
        ),
        (
            "9223372036854ms775us808ns",
            r#"time: invalid duration "9223372036854ms775us808ns""#,
        ),
        // Verified against nats-server 2.12.8: control characters as \x escapes.
        ("foo\tbar", r#"time: invalid duration "foo\x09bar""#),
        ("\nhello\n)", r#"time: invalid duration "\x0ahello\x0a)""#),
        (
            "127.0.0.1:4222",
            r#"time: missing unit in duration "127.0.0.1:4222""#,
        ),
        ("$2a$11$abc", r#"time: invalid duration "$2a$11$abc""#),
        ("é", r#"time: invalid duration "\xc3\xa9""#),
    ];
    for &(text, message) in cases {
        assert_eq!(parse_go_duration(text), Err(message.to_owned()), "{text:?}");
    }
}

#[test]
fn go_duration_strings() {
    // Cases from Go's time/time_test.go durationTests.
    let cases: &[(i64, &str)] = &[
        (0, "0s"),
        (1, "1ns"),
        (1_100, "1.1\u{b5}s"),
        (2_200_000, "2.2ms"),
        (3_300_000_000, "3.3s"),
        (4 * 60_000_000_000 + 5_000_000_000, "4m5s"),
        (4 * 60_000_000_000 + 5_001_000_000, "4m5.001s"),
        (
            5 * 3_600_000_000_000 + 6 * 60_000_000_000 + 7_001_000_000,
            "5h6m7.001s",
        ),
        (8 * 60_000_000_000 + 1, "8m0.000000001s"),
        (i64::MAX, "2562047h47m16.854775807s"),
        (i64::MIN, "-2562047h47m16.854775808s"),
        (-1_500_000_000, "-1.5s"),
        (10_000_000_000, "10s"),
        (3_600_000_000_000, "1h0m0s"),
    ];
    for &(nanos, text) in cases {
        assert_eq!(format_go_duration(nanos), text, "{nanos}");
    }
}

#[test]
fn go_quoting() {
    assert_eq!(go_quote("foo"), "\"foo\"");
    assert_eq!(go_quote("a\"b\\c\n\t\x01"), "\"a\\\"b\\\\c\\n\\t\\x01\"");
    assert_eq!(go_quote("é"), "\"é\"");
    assert_eq!(go_quote("\u{a0}"), "\"\\u00a0\"");
}

// --- Paths -------------------------------------------------------------------------------------

#[test]
fn go_paths() {
    assert_eq!(go_path_dir("nats.conf"), ".");
    assert_eq!(go_path_dir("/etc/nats/nats.conf"), "/etc/nats");
    assert_eq!(go_path_dir("/nats.conf"), "/");
    assert_eq!(go_path_dir(""), ".");
    assert_eq!(go_path_join(".", "x.conf"), "x.conf");
    assert_eq!(go_path_join("/etc/nats", "../x.conf"), "/etc/x.conf");
    assert_eq!(
        go_path_join("/etc/nats", "/abs/x.conf"),
        "/etc/nats/abs/x.conf"
    );
    assert_eq!(go_path_join("a", "../../x"), "../x");
    assert_eq!(go_path_join("/", "../../x"), "/x");
    assert_eq!(go_path_join("a//b/./", "c/"), "a/b/c");
    assert_eq!(go_path_join("", ""), "");
}

// --- Properties --------------------------------------------------------------------------------

/// Pieces of config text, so random inputs reach every lexer state.
const FRAGMENTS: &[&str] = &[
    "a",
    "key",
    " ",
    "\t",
    "\n",
    "\r\n",
    "=",
    ":",
    "{",
    "}",
    "[",
    "]",
    ",",
    ";",
    "#",
    "//",
    "/",
    "'",
    "\"",
    "\\",
    "\\x4",
    "(",
    "\n)\n",
    ")",
    "$",
    "$a",
    "$2a$",
    "1",
    "2k",
    "3mb",
    "-",
    ".",
    "1.5",
    "1.2.3.4",
    "2016-05-04T18:53:41Z",
    "2016-",
    "true",
    "no",
    "include ",
    "include 'x'",
    "é",
    "\0",
    "e",
    "b",
    "i",
];

fn fragment_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..40).prop_map(|parts| parts.concat())
}

/// An error must point inside the text it was about: a real line, and a column at most one
/// past that line's end.
fn check_error_position(text: &str, error: &ConfError) {
    assert_eq!(&*error.position.file, "fuzz.conf", "{error}");
    let lines: Vec<&str> = text.split('\n').collect();
    let line = error.position.line as usize;
    assert!(line >= 1 && line <= lines.len(), "{error} for {text:?}");
    let width = lines[line - 1].chars().count();
    let column = error.position.column as usize;
    assert!(column >= 1 && column <= width + 1, "{error} for {text:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_text_parses_or_fails_with_a_position(text in any::<String>()) {
        if let Err(error) = parse(&text, "fuzz.conf", &NoSource) {
            check_error_position(&text, &error);
        }
    }

    #[test]
    fn config_like_text_parses_or_fails_with_a_position(text in fragment_text()) {
        if let Err(error) = parse(&text, "fuzz.conf", &NoSource) {
            check_error_position(&text, &error);
        }
    }

    #[test]
    fn any_duration_text_parses_or_fails(text in any::<String>()) {
        let _ = parse_go_duration(&text);
    }

    #[test]
    fn durations_format_and_parse_back(nanos in any::<i64>()) {
        prop_assert_eq!(parse_go_duration(&format_go_duration(nanos)), Ok(nanos));
    }
}
