//! Expected errors and warnings are nats-server's for the same file; those checked by
//! running `nats-server -t -c FILE` (2.12.8) say "verified against nats-server 2.12.8".
//! nats-server counts columns from 0 on the first line, so its column there is one less.

use super::*;

use switchboard::conf::MapSource as FakeSource;

fn loaded(text: &str) -> Loaded {
    match load_str(text, "t.conf", &FakeSource::default()) {
        Ok(loaded) => loaded,
        Err(error) => panic!("{text:?} failed:\n{error}"),
    }
}

fn options(text: &str) -> FileOptions {
    loaded(text).options
}

fn errors(text: &str) -> Vec<String> {
    match load_str(text, "t.conf", &FakeSource::default()) {
        Ok(loaded) => panic!("{text:?} loaded: {loaded:?}"),
        Err(error) => error.errors.iter().map(Diagnostic::to_string).collect(),
    }
}

fn warnings(text: &str) -> Vec<String> {
    loaded(text)
        .warnings
        .iter()
        .map(Diagnostic::to_string)
        .collect()
}

fn keys(reported: &[(String, Position)]) -> Vec<String> {
    reported
        .iter()
        .map(|(key, position)| format!("{key}@{}:{}", position.line, position.column))
        .collect()
}

/// A directory under the system temp dir, unique to this test and process.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "switchboard-config-file-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

#[test]
fn wired_keys() {
    let text = "
host: 127.0.0.1
port: 4333
server_name: nats-1
max_payload: 2MB
max_control_line: 8KB
max_pending: 64MB
max_connections: 100
max_subscriptions: 10
write_deadline: \"5s\"
ping_interval: \"1m30s\"
ping_max: 3
http_port: 8222
pid_file: /tmp/nats.pid
ports_file_dir: \"/tmp\"
log_file: \"/tmp/nats.log\"
debug: true
trace: false
logtime: yes
logtime_utc: on
lame_duck_duration: \"2m\"
lame_duck_grace_period: \"10s\"
";
    let options = self::options(text);
    assert_eq!(options.host.as_deref(), Some("127.0.0.1"));
    assert_eq!(options.port, Some(4333));
    assert_eq!(options.server_name.as_deref(), Some("nats-1"));
    assert_eq!(options.payload_bytes_max, Some(2 << 20));
    assert_eq!(options.control_line_bytes_max, Some(8 << 10));
    assert_eq!(options.pending_bytes_max, Some(64 << 20));
    assert_eq!(options.connections_max, Some(100));
    assert_eq!(options.subscriptions_max, Some(10));
    assert_eq!(options.write_deadline, Some(Duration::from_secs(5)));
    assert_eq!(options.ping_interval, Some(Duration::from_secs(90)));
    assert_eq!(options.pings_outstanding_max, Some(3));
    assert_eq!(options.http_port, Some(8222));
    assert_eq!(options.pid_file, Some(PathBuf::from("/tmp/nats.pid")));
    assert_eq!(options.ports_file_dir, Some(PathBuf::from("/tmp")));
    assert_eq!(options.log_file, Some(PathBuf::from("/tmp/nats.log")));
    assert_eq!(
        (
            options.debug,
            options.trace,
            options.logtime,
            options.logtime_utc
        ),
        (Some(true), Some(false), Some(true), Some(true))
    );
    assert_eq!(options.lame_duck_duration, Some(Duration::from_secs(120)));
    assert_eq!(
        options.lame_duck_grace_period,
        Some(Duration::from_secs(10))
    );
    assert_eq!(
        options.positions.get("port").map(|p| (p.line, p.column)),
        Some((3, 1))
    );
}

#[test]
fn aliases_and_case() {
    // Verified against nats-server 2.12.8: PORT, Debug and AUTHORIZATION { TOKEN } are valid.
    let upper = options("PORT: 4222\nDebug: true\nAUTHORIZATION { TOKEN: x }\nnet: 0.0.0.0\n");
    assert_eq!(upper.port, Some(4222));
    assert_eq!(upper.debug, Some(true));
    assert_eq!(upper.host.as_deref(), Some("0.0.0.0"));
    let auth = upper.authorization.expect("authorization");
    assert_eq!(auth.token.as_deref(), Some("x"));
    let options =
        options("pidfile: a\nlogfile: b\nmax_conn: 5\nmax_subs: 6\nmonitor_port: 7\nstoredir: d");
    assert_eq!(options.pid_file, Some(PathBuf::from("a")));
    assert_eq!(options.log_file, Some(PathBuf::from("b")));
    assert_eq!(options.connections_max, Some(5));
    assert_eq!(options.subscriptions_max, Some(6));
    assert_eq!(options.http_port, Some(7));
    assert_eq!(options.store_dir, Some(PathBuf::from("d")));
}

#[test]
fn listen_and_http_addresses() {
    // Verified against nats-server 2.12.8: a port alone, ":port" and "[::1]:port" are
    // valid; "localhost" and "localhost:x" are not.
    let port_only = options("listen: 4333\nhttp: \"[::1]:8222\"");
    assert_eq!(
        (port_only.host.as_deref(), port_only.port),
        (Some(""), Some(4333))
    );
    assert_eq!(
        (port_only.http_host.as_deref(), port_only.http_port),
        (Some("::1"), Some(8222))
    );
    let host_port = options("listen: 0.0.0.0:4222\nhttp: localhost:8222");
    assert_eq!(
        (host_port.host.as_deref(), host_port.port),
        (Some("0.0.0.0"), Some(4222))
    );
    assert_eq!(host_port.http_host.as_deref(), Some("localhost"));
    assert_eq!(options("listen: \":4333\"").port, Some(4333));
    assert_eq!(
        errors("listen: \"localhost\"\n"),
        ["t.conf:1:1: could not parse address string \"localhost\""]
    );
    assert_eq!(
        errors("listen: localhost:x\n"),
        ["t.conf:1:1: could not parse port \"x\""]
    );
    assert_eq!(
        errors("listen: \"a:b:1\"\nhttp: true"),
        [
            "t.conf:1:1: could not parse address string \"a:b:1\"",
            "t.conf:2:1: expected port or host:port, got bool"
        ]
    );
}

#[test]
fn durations_as_integers_warn_and_mean_seconds() {
    // Verified against nats-server 2.12.8 (the warning's text and position).
    let loaded = loaded("ping_interval = 60\nwrite_deadline = 2\n");
    assert_eq!(loaded.options.ping_interval, Some(Duration::from_secs(60)));
    assert_eq!(loaded.options.write_deadline, Some(Duration::from_secs(2)));
    assert_eq!(
        warnings("ping_interval = 60\n"),
        ["t.conf:1:1: invalid use of field \"ping_interval\": ping_interval should be converted to a duration"]
    );
}

#[test]
fn bad_durations() {
    // Verified against nats-server 2.12.8.
    assert_eq!(
        errors("write_deadline = \"2x\"\n"),
        ["t.conf:1:1: error parsing write_deadline: time: unknown unit \"x\" in duration \"2x\""]
    );
    assert_eq!(
        errors("lame_duck_duration = \"10s\"\n"),
        ["t.conf:1:1: invalid lame_duck_duration of 10s, minimum is 30 seconds"]
    );
    assert_eq!(
        errors("lame_duck_grace_period: \"-1s\"\n"),
        ["t.conf:1:1: invalid lame_duck_grace_period, needs to be positive"]
    );
    // nats-server accepts these; we refuse a negative interval.
    assert_eq!(
        errors("ping_interval = \"-1m\"\n"),
        ["t.conf:1:1: invalid ping_interval of -1m0s, needs to be positive"]
    );
    // Verified against nats-server 2.12.8: a datetime where a string belongs.
    assert_eq!(
        errors("lame_duck_duration: 2016-05-04T18:53:41Z\n"),
        ["t.conf:1:1: interface conversion: interface {} is time.Time, not string"]
    );
}

#[test]
fn wrong_types_fail_as_nats_server_fails() {
    // Verified against nats-server 2.12.8: the text of Go's failed type assertion.
    assert_eq!(
        errors("port = \"abc\"\n"),
        ["t.conf:1:1: interface conversion: interface {} is string, not int64"]
    );
    assert_eq!(
        errors("debug = 1\nhost = [a ]\nauthorization = 5"),
        [
            "t.conf:1:1: interface conversion: interface {} is int64, not bool",
            "t.conf:2:1: interface conversion: interface {} is []interface {}, not string",
            "t.conf:3:1: interface conversion: interface {} is int64, not map[string]interface {}"
        ]
    );
}

#[test]
fn limits_out_of_range() {
    // Verified against nats-server 2.12.8.
    assert_eq!(
        errors("max_payload: 3gb\n"),
        ["t.conf:1:1: max_payload value is too big"]
    );
    let limits = options("max_control_line: -1\nmax_connections: 0\n");
    assert_eq!(limits.control_line_bytes_max, Some(-1));
    // nats-server turns 0 into -1.
    assert_eq!(limits.connections_max, Some(-1));
}

#[test]
fn server_names_cannot_have_spaces() {
    // Verified against nats-server 2.12.8.
    assert_eq!(
        errors("server_name: \"a b\"\n"),
        ["t.conf:1:1: server name cannot contain spaces"]
    );
}

#[test]
fn unknown_keys_are_errors_all_reported() {
    // Verified against nats-server 2.12.8 (nats-server's first column is 0 on line 1).
    assert_eq!(
        errors("foo = 1\n  bar: 2\nport: 4222\n"),
        [
            "t.conf:1:1: unknown field \"foo\"",
            "t.conf:2:3: unknown field \"bar\""
        ]
    );
    // nats-server has no top-level auth_timeout or http_host (verified for http_host).
    assert_eq!(
        errors("http: 8222\nhttp_host: 1\nauth_timeout: 2"),
        [
            "t.conf:2:1: unknown field \"http_host\"",
            "t.conf:3:1: unknown field \"auth_timeout\""
        ]
    );
}

#[test]
fn variables_used_elsewhere_are_not_unknown() {
    // Verified against nats-server 2.12.8: TOK is fine, UNUSED is unknown, and a key
    // redefined from its own variable is unknown too.
    let loaded = loaded("TOK = \"abc\"\nauthorization { token = $TOK }\n");
    assert_eq!(
        loaded
            .options
            .authorization
            .and_then(|a| a.token)
            .as_deref(),
        Some("abc")
    );
    assert_eq!(
        errors("TOK = \"abc\"\nauthorization { token = $TOK }\nUNUSED = 5\n"),
        ["t.conf:3:1: unknown field \"UNUSED\""]
    );
    assert_eq!(
        errors("a = 1\na = $a\n"),
        ["t.conf:2:1: unknown field \"a\""]
    );
    // A block-local variable is not an unknown authorization field once used.
    assert!(self::loaded("authorization { T = abc; token = $T }")
        .warnings
        .is_empty());
}

#[test]
fn environment_variables_through_the_source() {
    let source = FakeSource {
        env: BTreeMap::from([("PORT".to_owned(), "4333".to_owned())]),
        ..FakeSource::default()
    };
    let loaded = load_str("port: $PORT", "t.conf", &source).expect("loads");
    assert_eq!(loaded.options.port, Some(4333));
}

#[test]
fn authorization_single_user_token_and_timeout() {
    let auth = options("authorization { user: a, password: b, timeout: 0.5 }")
        .authorization
        .expect("auth");
    assert_eq!(
        (
            auth.user.as_deref(),
            auth.password.as_deref(),
            auth.timeout_seconds
        ),
        (Some("a"), Some("b"), Some(0.5))
    );
    let auth = options("authorization { username: a, pass: b, timeout: \"3s\" }")
        .authorization
        .expect("auth");
    assert_eq!(
        (auth.user.as_deref(), auth.timeout_seconds),
        (Some("a"), Some(3.0))
    );
    // Verified against nats-server 2.12.8.
    assert_eq!(
        errors("authorization { user: a, token: b }\n"),
        ["t.conf:1:1: Cannot have a user/pass and token"]
    );
    assert_eq!(
        errors("authorization { timeout: \"x\" }"),
        ["t.conf:1:17: error parsing authorization config, 'timeout' time: invalid duration \"x\""]
    );
    assert_eq!(
        errors("authorization { timeout: [1 ] }"),
        ["t.conf:1:17: error parsing authorization config, 'timeout' wrong type"]
    );
}

#[test]
fn a_high_auth_timeout_warns() {
    // Verified against nats-server 2.12.8: unquoted 2m is 2000000 seconds.
    assert_eq!(
        warnings("authorization { timeout: 2m }\n"),
        ["t.conf:1:17: invalid use of field \"timeout\": timeout of 2000000 (2000000.000000 seconds) is high, consider keeping it under 60 seconds. possibly caused by unquoted duration; use '1m' instead of 1m, for example"]
    );
}

#[test]
fn authorization_users() {
    let text = "authorization {\n  users = [\n    {user: alice, password: $2a$11$abc}\n    {user: bob, pass: x}\n  ]\n}\n";
    let users = options(text)
        .authorization
        .and_then(|a| a.users)
        .expect("users");
    let users: Vec<(String, Option<String>)> =
        users.into_iter().map(|u| (u.user, u.password)).collect();
    assert_eq!(
        users,
        [
            ("alice".to_owned(), Some("$2a$11$abc".to_owned())),
            ("bob".to_owned(), Some("x".to_owned()))
        ]
    );
    let empty = options("authorization { users = [] }")
        .authorization
        .expect("auth");
    assert_eq!(empty.users, Some(Vec::new()));
}

#[test]
fn authorization_users_errors() {
    // Messages verified against nats-server 2.12.8. Positions are ours: an entry's errors
    // point at the entry (nats-server points at whichever of its keys it read last).
    assert_eq!(
        errors("authorization { users = [ {user: a, password: b}, {user: a, pass: c} ] }\n"),
        ["t.conf:1:1: Duplicate user \"a\" detected"]
    );
    assert_eq!(
        errors("authorization { user: x, users = [ {user: a, password: b} ] }\n"),
        ["t.conf:1:1: Can not have a single user/pass and a users array"]
    );
    assert_eq!(
        errors("authorization { users = [ {password: b} ] }\n"),
        ["t.conf:1:27: User entry requires a user"]
    );
    assert_eq!(
        errors("authorization { users = [ 1, {user: b, foo: 1} ] }\n"),
        [
            "t.conf:1:27: Expected user entry to be a map/struct, got 1",
            "t.conf:1:40: unknown field \"foo\""
        ]
    );
    assert_eq!(
        errors("authorization { token: t, users = [] }"),
        ["t.conf:1:1: Can not have a token and a users array"]
    );
    assert_eq!(
        errors("authorization { users = 5 }"),
        ["t.conf:1:17: Expected users field to be an array, got 5"]
    );
}

#[test]
fn permissions_and_nkeys_are_refused() {
    let text = "authorization {\n  permissions { publish: \"a\" }\n  users = [\n    {user: a, password: b, permissions: { subscribe: \">\" }}\n    {nkey: UABC}\n  ]\n}\n";
    let loaded = loaded(text);
    assert_eq!(
        keys(&loaded.unsupported),
        [
            "authorization.permissions@2:3",
            "authorization.users.permissions@4:28",
            "authorization.users.nkey@5:6"
        ]
    );
    // The nkey user is not a password user.
    let users = loaded
        .options
        .authorization
        .and_then(|a| a.users)
        .expect("users");
    assert_eq!(users.len(), 1);
}

#[test]
fn unsupported_keys_are_reported_never_ignored() {
    let text = "
tls { cert_file: x }
cluster { port: 6222 }
accounts { A: { users: [ {user: u, password: p} ] } }
websocket { port: 8080 }
syslog: true
max_traced_msg_len: 100
server_tags: [a, b ]
trace_verbose: true
";
    let loaded = loaded(text);
    assert_eq!(
        keys(&loaded.unsupported),
        ["tls@2:1", "cluster@3:1", "accounts@4:1", "websocket@5:1"]
    );
    assert_eq!(
        keys(&loaded.unsupported_harmless),
        [
            "syslog@6:1",
            "max_traced_msg_len@7:1",
            "server_tags@8:1",
            "trace_verbose@9:1"
        ]
    );
    assert_eq!(loaded.options.trace, Some(true));
    // A harmless key of the wrong type is still an error, as in nats-server.
    assert_eq!(
        errors("syslog: 5"),
        ["t.conf:1:1: interface conversion: interface {} is int64, not bool"]
    );
}

#[test]
fn jetstream() {
    // Verified against nats-server 2.12.8: `jetstream: enabled` is valid.
    let loaded = loaded("jetstream: enabled\n");
    assert_eq!(
        loaded.options.jetstream.as_ref().map(|j| j.enabled),
        Some(true)
    );
    assert!(loaded.unsupported.is_empty());
    let loaded = self::loaded("jetstream: false");
    assert!(loaded.unsupported.is_empty());
    let loaded = self::loaded(
        "jetstream {\n  store_dir: \"/data/js\"\n  max_mem: 1G\n  max_file_store: \"10G\"\n  domain: hub\n}\n",
    );
    let js = loaded.options.jetstream.expect("jetstream");
    assert!(js.enabled);
    assert_eq!(js.memory_store_bytes_max, Some(1_000_000_000));
    assert_eq!(js.file_store_bytes_max, Some(10 << 30));
    assert_eq!(loaded.options.store_dir, Some(PathBuf::from("/data/js")));
    assert_eq!(keys(&loaded.unsupported), ["jetstream.domain@5:3"]);
    let js = self::loaded("jetstream { sync_interval: \"always\" }")
        .options
        .jetstream;
    assert_eq!(js.and_then(|j| j.sync), Some(JetStreamSync::Always));
    let js = self::loaded("jetstream { sync: 10s }").options.jetstream;
    assert_eq!(
        js.and_then(|j| j.sync),
        Some(JetStreamSync::Interval(Duration::from_secs(10)))
    );
    let loaded = self::loaded("jetstream { enabled: false, store_dir: x }");
    assert!(loaded.unsupported.is_empty());
}

#[test]
fn jetstream_errors() {
    // Verified against nats-server 2.12.8.
    assert_eq!(
        errors("jetstream { store_dir: \"/tmp/x\", max_mem: 1G, max_file: \"10G\", foo: 1 }\nstore_dir: y\n"),
        ["t.conf:1:64: unknown field \"foo\"", "t.conf:2:1: Duplicate 'store_dir' configuration"]
    );
    assert_eq!(
        errors("jetstream: \"maybe\"\n"),
        ["t.conf:1:1: Expected 'enabled' or 'disabled' for string value, got 'maybe'"]
    );
    assert_eq!(
        errors("jetstream { max_file: \"10X\" }"),
        ["t.conf:1:13: max_file_store sizes defined as strings must end in K, M, G, T"]
    );
    assert_eq!(
        errors("jetstream { max_mem: \"1.5G\" }"),
        ["t.conf:1:13: max_mem_store strconv.ParseInt: parsing \"1.5\": invalid syntax"]
    );
    assert_eq!(
        errors("jetstream: 5"),
        ["t.conf:1:1: Expected map, bool or string to define JetStream, got int64"]
    );
}

#[test]
fn parse_errors_have_a_position() {
    // nats-server 2.12.8 says "Parse error on line 2: '...'"; we add the file and column.
    assert_eq!(
        errors("port = 4222\n  a = \"abc\\q\"\n"),
        ["t.conf:2:12: Invalid escape character 'q'. Only the following escape characters are allowed: \\xXX, \\t, \\n, \\r, \\\", \\\\."]
    );
}

#[test]
fn an_empty_config_warns() {
    // Verified against nats-server 2.12.8.
    assert_eq!(
        warnings("# nothing\n"),
        ["t.conf: config has no values or is empty"]
    );
}

#[test]
fn errors_display_warnings_first_one_per_line() {
    let error = load_str(
        "ping_interval: 5\nfoo: 1\nbar: 2",
        "t.conf",
        &FakeSource::default(),
    )
    .expect_err("unknown keys");
    assert_eq!(
        error.to_string(),
        "t.conf:1:1: invalid use of field \"ping_interval\": ping_interval should be converted to a duration\nt.conf:2:1: unknown field \"foo\"\nt.conf:3:1: unknown field \"bar\""
    );
}

#[test]
fn load_reads_includes_relative_to_the_including_file() {
    let dir = temp_dir("include");
    std::fs::create_dir_all(dir.join("conf.d")).expect("create conf.d");
    std::fs::write(
        dir.join("nats.conf"),
        "include conf.d/auth.conf\nport: 4333\n",
    )
    .expect("write nats.conf");
    std::fs::write(
        dir.join("conf.d/auth.conf"),
        "authorization {\n  include 'users.conf'\n}\n",
    )
    .expect("write auth.conf");
    std::fs::write(
        dir.join("conf.d/users.conf"),
        "users = [ {user: a, password: b} ]\n",
    )
    .expect("write users.conf");
    let loaded = load(&dir.join("nats.conf")).expect("loads");
    assert_eq!(loaded.options.port, Some(4333));
    let users = loaded
        .options
        .authorization
        .and_then(|a| a.users)
        .expect("users");
    assert_eq!(users[0].user, "a");
    assert!(users[0].position.file.ends_with("conf.d/users.conf"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn load_reports_missing_files_and_includes() {
    let dir = temp_dir("missing");
    let missing = dir.join("nope.conf");
    // Verified against nats-server 2.12.8: "open nope.conf: no such file or directory".
    assert_eq!(
        load(&missing).expect_err("missing").to_string(),
        format!("open {}: no such file or directory", missing.display())
    );
    std::fs::write(dir.join("nats.conf"), "\ninclude other.conf\n").expect("write");
    let error = load(&dir.join("nats.conf"))
        .expect_err("missing include")
        .to_string();
    let expected = format!(
        "{}:2:9: error parsing include file 'other.conf', open {}: no such file or directory",
        dir.join("nats.conf").display(),
        dir.join("other.conf").display()
    );
    assert_eq!(error, expected);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn load_refuses_text_that_is_not_utf8() {
    let dir = temp_dir("utf8");
    std::fs::write(dir.join("nats.conf"), b"port: 1\n# caf\xe9\n").expect("write");
    let error = load(&dir.join("nats.conf"))
        .expect_err("latin-1")
        .to_string();
    assert!(
        error.ends_with("nats.conf:2:6: config file is not valid UTF-8"),
        "{error}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn go_formatting_helpers() {
    assert_eq!(go_float_text(0.5), "0.5");
    assert_eq!(go_float_text(100.0), "100");
    assert_eq!(go_float_text(1e21), "1e+21");
    assert_eq!(go_float_text(1e-5), "1e-05");
    assert_eq!(storage_size(&loaded_value("1K")), Ok(1024));
    assert_eq!(storage_size(&loaded_value("")), Ok(0));
    assert_eq!(split_host_port("[::1]:1"), Ok(("::1".to_owned(), 1)));
    assert!(split_host_port("[::1]x:1").is_err());
    assert!(split_host_port("a]:1").is_err());
    assert!(split_host_port("a[:1").is_err());
}

fn loaded_value(text: &str) -> Value {
    let map = conf::parse(&format!("v: \"{text}\""), "t", &conf::NoSource).expect("value");
    map.get("v").cloned().expect("v")
}
