//! The `switchboard` binary: command line, files and signals, as a user or script sees them.
#![cfg(unix)]

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_switchboard");
const PATIENCE: Duration = Duration::from_secs(10);
/// How often to look again while waiting on a file or a process (a poll, not a fixed wait).
const POLL: Duration = Duration::from_millis(10);

fn run(args: &[&str]) -> Output {
    Command::new(BINARY)
        .args(args)
        .output()
        .expect("run switchboard")
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path =
            std::env::temp_dir().join(format!("switchboard-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Polls `check` until it gives a value or the deadline passes.
fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(POLL);
    }
}

fn wait_exit(child: &mut Child) -> ExitStatus {
    wait_for("the server to exit", || child.try_wait().unwrap())
}

/// Kills the child if a test fails before it exits.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[test]
fn unknown_flag_exits_2_naming_it() {
    let out = run(&["-foo"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("flag provided but not defined: -foo\n"),
        "{stderr}"
    );
    assert!(stderr.contains("Usage: switchboard [options]"), "{stderr}");
}

#[test]
fn bad_value_exits_2_naming_the_flag() {
    let out = run(&["--port", "abc"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("invalid value \"abc\" for flag -port: parse error\n"),
        "{stderr}"
    );
}

#[test]
fn a_missing_config_file_is_named() {
    let out = run(&["-c", "no-such-dir/nats.conf"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr,
        "switchboard: open no-such-dir/nats.conf: no such file or directory\n"
    );
}

#[test]
fn help_and_version_exit_0() {
    let out = run(&["-h"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--ports_file_dir"));
    let out = run(&["--version"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("switchboard: v"));
}

#[test]
fn random_port_ports_file_pid_file_log_file_and_sigterm() {
    let dir = TempDir::new("ports");
    let pid_file = dir.0.join("switchboard.pid");
    let log_file = dir.0.join("switchboard.log");
    let child = Command::new(BINARY)
        .args([
            "-a",
            "127.0.0.1",
            "-p",
            "-1",
            "-m",
            "-1",
            "--ports_file_dir",
        ])
        .arg(&dir.0)
        .arg("-P")
        .arg(&pid_file)
        .arg("-l")
        .arg(&log_file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn switchboard");
    let mut child = Running(child);
    let pid = child.0.id();

    let ports_file = dir.0.join(format!("switchboard_{pid}.ports"));
    let ports: serde_json::Value = wait_for("the ports file", || {
        let text = std::fs::read_to_string(&ports_file).ok()?;
        serde_json::from_str(&text).ok()
    });
    let url = ports["nats"][0].as_str().expect("a nats URL").to_string();
    let addr = url.strip_prefix("nats://").expect("nats:// scheme");
    assert!(addr.starts_with("127.0.0.1:"), "{ports}");
    assert_ne!(addr, "127.0.0.1:4222", "-p -1 must pick a random port");
    TcpStream::connect(addr).expect("the server listens where the ports file says");
    let monitoring = ports["monitoring"][0].as_str().expect("a monitoring URL");
    let http = monitoring
        .strip_prefix("http://127.0.0.1:")
        .expect("http on loopback");
    TcpStream::connect(("127.0.0.1", http.parse::<u16>().unwrap()))
        .expect("monitoring listens where the ports file says");
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), pid.to_string());

    let pid = libc::pid_t::try_from(pid).unwrap();
    // SAFETY: kill only sends a signal, to the child this test spawned and still owns.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = wait_exit(&mut child.0);
    assert_eq!(status.code(), Some(0));
    assert!(
        !ports_file.exists(),
        "the ports file is removed on shutdown"
    );

    let log = std::fs::read_to_string(&log_file).unwrap();
    for expected in [
        "Starting switchboard",
        "Listening for client connections on 127.0.0.1:",
        "Server is ready",
        "Trapped \"terminated\" signal",
        "Server Exiting..",
    ] {
        assert!(log.contains(expected), "no {expected:?} in\n{log}");
    }
    for line in log.lines() {
        assert_nats_log_line(line, pid);
    }
}

/// `[pid] 2006/01/02 15:04:05.000000 [INF] message`
fn assert_nats_log_line(line: &str, pid: libc::pid_t) {
    let prefix = format!("[{pid}] ");
    let rest = line
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{line:?}"));
    let (stamp, rest) = rest.split_at(26);
    let shape: String = stamp
        .chars()
        .map(|c| if c.is_ascii_digit() { '9' } else { c })
        .collect();
    assert_eq!(shape, "9999/99/99 99:99:99.999999", "{line:?}");
    let level = &rest[1..6];
    assert!(
        ["[INF]", "[WRN]", "[ERR]", "[DBG]", "[TRC]"].contains(&level),
        "{line:?}"
    );
}
