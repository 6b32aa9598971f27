//! Signals to the real binary, sent directly and with `--signal`, as operators do.

#![cfg(unix)]

mod common;

use common::{path_str, run, temp_dir, Process};

#[test]
fn signal_flag_puts_a_server_in_lame_duck_mode_by_pid_file() {
    let dir = temp_dir("signal-ldm");
    let pid_file = dir.join("s.pid");
    let mut server = Process::start(&["-a", "127.0.0.1", "-p", "-1", "-P", path_str(&pid_file)]);
    let (status, output) = run(&["--signal", &format!("ldm={}", path_str(&pid_file))]);
    assert!(status.success(), "{output}");
    server.wait_for_line("Trapped \"user defined signal 2\" signal");
    server.wait_for_line("Entering lame duck mode, stop accepting new clients");
    // No clients: it exits at once, cleanly.
    let status = server.wait();
    assert!(status.success(), "{status}");
    server.wait_for_line("Server Exiting..");
}

#[test]
fn reload_without_a_config_file_is_refused_and_the_server_keeps_running() {
    let mut server = Process::start(&["-a", "127.0.0.1", "-p", "-1"]);
    let pid = server.pid().to_string();
    let (status, output) = run(&["--signal", &format!("reload={pid}")]);
    assert!(status.success(), "{output}");
    server.wait_for_line(
        "Failed to reload server configuration: can only reload config when a file is provided using -c or --config",
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", server.port.unwrap())).is_ok());
    server.signal(libc::SIGTERM);
    assert!(server.wait().success());
}

#[test]
fn reopen_moves_the_log_to_a_new_file_after_rotation() {
    let dir = temp_dir("signal-reopen");
    let log = dir.join("s.log");
    let rotated = dir.join("s.log.1");
    let mut server = Process::spawn(&["-a", "127.0.0.1", "-p", "-1", "-l", path_str(&log)]);
    common::wait_for_file_line(&log, "Server is ready");
    std::fs::rename(&log, &rotated).unwrap();
    server.signal(libc::SIGUSR1);
    common::wait_for_file_line(&log, "File log re-opened");
    server.signal(libc::SIGINT);
    assert!(server.wait().success());
    let old = std::fs::read_to_string(&rotated).unwrap();
    let new = std::fs::read_to_string(&log).unwrap();
    assert!(old.contains("Server is ready") && !old.contains("File log re-opened"));
    assert!(new.contains("Server Exiting.."), "{new}");
}

#[test]
fn bad_signal_requests_fail_with_a_message() {
    let (status, output) = run(&["--signal", "nope=1"]);
    assert_eq!(status.code(), Some(1));
    assert!(output.contains("unknown signal \"nope\""), "{output}");
    let (status, output) = run(&["--signal", "reload=abc"]);
    assert_eq!(status.code(), Some(1));
    assert!(output.contains("invalid pid: abc"), "{output}");
}
