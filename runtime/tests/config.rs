//! The real binary with `nats.conf` files: start-up from a file, flags over the file, `-t`,
//! errors with file:line:column, reload on SIGHUP, lame duck with a client moving over.

#![cfg(unix)]

mod common;

use std::time::Duration;

use common::{path_str, run, temp_dir, Process};

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path_str(&path).to_string()
}

/// Connects with a user and password, or fails with the client's error text.
async fn try_connect(url: &str, user: &str, pass: &str) -> Result<async_nats::Client, String> {
    async_nats::ConnectOptions::with_user_and_password(user.into(), pass.into())
        .connection_timeout(Duration::from_secs(5))
        .connect(url)
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn a_config_file_sets_name_auth_and_limits_and_flags_override_it() {
    let dir = temp_dir("config-start");
    let conf = write(
        &dir,
        "nats.conf",
        "# listen anywhere, overridden by -a below\n\
         listen: 0.0.0.0:4999\n\
         server_name = from_file\n\
         max_payload 2KB\n\
         authorization {\n  users = [\n    {user: alice, password: s3cret}\n  ]\n}\n",
    );
    let mut server = Process::start(&["-c", &conf, "-a", "127.0.0.1", "-p", "-1"]);
    server.wait_for_line("Using configuration file: ");
    let url = server.client_url();
    let client = try_connect(&url, "alice", "s3cret")
        .await
        .expect("alice gets in");
    let info = client.server_info();
    assert_eq!(info.server_name, "from_file");
    assert_eq!(info.max_payload, 2048);
    assert!(info.auth_required);
    let refused = try_connect(&url, "alice", "wrong").await;
    assert!(refused.is_err(), "a wrong password must be refused");
    drop(client);
    server.signal(libc::SIGTERM);
    assert!(server.wait().success());
}

#[test]
fn a_broken_config_names_file_line_and_column_and_exits_1() {
    let dir = temp_dir("config-broken");
    let conf = write(&dir, "bad.conf", "port: 4222\nmax_payload: {\n");
    let (status, output) = run(&["-c", &conf]);
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(output.contains(&format!("{conf}:")), "{output}");

    let conf = write(&dir, "unknown.conf", "port: 4222\nno_such_option: 1\n");
    let (status, output) = run(&["-c", &conf]);
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(
        output.contains(&format!("{conf}:2:1: unknown field \"no_such_option\"")),
        "{output}"
    );

    // A feature we have not built is refused, never silently ignored.
    let conf = write(&dir, "tls.conf", "tls {\n  cert_file: a.pem\n}\n");
    let (status, output) = run(&["-c", &conf]);
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(output.contains("\"tls\" is not supported"), "{output}");
}

#[test]
fn dash_t_checks_a_config_and_exits() {
    let dir = temp_dir("config-check");
    let good = write(&dir, "good.conf", "port: 4333\nping_interval: \"1m\"\n");
    let (status, output) = run(&["-t", "-c", &good]);
    assert!(status.success(), "{output}");
    assert!(
        output.contains(&format!("configuration file {good} is valid")),
        "{output}"
    );
    let bad = write(&dir, "bad.conf", "port: [\n");
    let (status, output) = run(&["-t", "-c", &bad]);
    assert_eq!(status.code(), Some(1), "{output}");
    let (status, output) = run(&["-t"]);
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(output.contains("must specify [-c, --config]"), "{output}");
}

#[tokio::test]
async fn sighup_applies_live_changes_and_refuses_fixed_ones() {
    let dir = temp_dir("config-reload");
    let conf_path = dir.join("nats.conf");
    std::fs::write(&conf_path, "max_payload: 1KB\n").unwrap();
    let conf = path_str(&conf_path).to_string();
    let mut server = Process::start(&["-c", &conf, "-a", "127.0.0.1", "-p", "-1"]);
    let url = server.client_url();
    let before = try_connect(&url, "", "").await.unwrap();
    assert_eq!(before.server_info().max_payload, 1024);

    std::fs::write(&conf_path, "max_payload: 4KB\ndebug: true\n").unwrap();
    server.signal(libc::SIGHUP);
    server.wait_for_line("Reloaded: max_payload = 4096");
    server.wait_for_line("Reloaded: debug = true");
    server.wait_for_line("Reloaded server configuration");
    let after = try_connect(&url, "", "").await.unwrap();
    assert_eq!(after.server_info().max_payload, 4096);

    // A name change cannot happen live: refused, and nothing of the file is applied.
    std::fs::write(&conf_path, "max_payload: 8KB\nserver_name: other\n").unwrap();
    server.signal(libc::SIGHUP);
    let line = server.wait_for_line("Failed to reload server configuration");
    assert!(
        line.contains("config reload not supported for ServerName"),
        "{line}"
    );
    let unchanged = try_connect(&url, "", "").await.unwrap();
    assert_eq!(unchanged.server_info().max_payload, 4096);
    drop((before, after, unchanged));
    server.signal(libc::SIGINT);
    assert!(server.wait().success());
}

#[tokio::test]
async fn sigusr2_moves_a_client_to_the_other_server_then_exits() {
    let dir = temp_dir("config-ldm");
    let conf = write(
        &dir,
        "ldm.conf",
        "lame_duck_duration: \"30s\"\nlame_duck_grace_period: \"200ms\"\n",
    );
    let mut leaving = Process::start(&["-c", &conf, "-a", "127.0.0.1", "-p", "-1"]);
    let staying = Process::start(&["-a", "127.0.0.1", "-p", "-1"]);
    let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let client = async_nats::ConnectOptions::new()
        .retain_servers_order()
        .event_callback(move |event| {
            let events_tx = events_tx.clone();
            async move {
                let _ = events_tx.send(event.to_string());
            }
        })
        .connect(vec![leaving.client_url(), staying.client_url()])
        .await
        .unwrap();
    assert_eq!(Some(client.server_info().port), leaving.port);

    leaving.signal(libc::SIGUSR2);
    let moved = tokio::time::timeout(common::DEADLINE, async {
        let mut saw_ldm = false;
        while let Some(event) = events.recv().await {
            saw_ldm |= event == "lame duck mode detected";
            if saw_ldm && event == "connected" {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(moved, Ok(true), "lame duck event, then a reconnect");
    assert_eq!(Some(client.server_info().port), staying.port);
    leaving.wait_for_line("Entering lame duck mode, stop accepting new clients");
    leaving.wait_for_line("Closing existing clients");
    assert!(leaving.wait().success());
}
