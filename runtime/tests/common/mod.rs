//! The real `switchboard` binary as a child process: started with flags, its log lines
//! collected, signalled, waited for. Every wait has a deadline and names what it waited for.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest a wait may take before the test fails; generous for a loaded 2-core machine.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// A running `switchboard` process. Killed when dropped.
pub struct Process {
    child: Child,
    /// Every stderr line so far (the log, unless `-l` sends it to a file).
    lines: Arc<Mutex<Vec<String>>>,
    pub port: Option<u16>,
}

impl Process {
    /// Starts the binary with `args` and waits until it logs "Server is ready" (when it does
    /// not, because it exits, the process is returned anyway: check `wait`).
    pub fn start(args: &[&str]) -> Process {
        Process::start_program(env!("CARGO_BIN_EXE_switchboard"), args)
    }

    /// `start` for another server binary that logs the same two lines (nats-server does), so a
    /// test can be checked against the reference implementation.
    pub fn start_program(program: &str, args: &[&str]) -> Process {
        let mut process = Process::spawn_program(program, args);
        process.wait_for_line("Server is ready");
        process.port = process
            .find_line("Listening for client connections on ")
            .and_then(|line| line.rsplit(':').next()?.trim().parse().ok());
        process
    }

    /// Starts the binary without waiting for anything.
    pub fn spawn(args: &[&str]) -> Process {
        Process::spawn_program(env!("CARGO_BIN_EXE_switchboard"), args)
    }

    /// `spawn` for another server binary.
    pub fn spawn_program(program: &str, args: &[&str]) -> Process {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{program} starts: {e}"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let lines = Arc::clone(&lines);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { return };
                    lines.lock().unwrap().push(line);
                }
            });
        }
        Process {
            child,
            lines,
            port: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn client_url(&self) -> String {
        format!(
            "nats://127.0.0.1:{}",
            self.port.expect("the server logged its port")
        )
    }

    /// The output so far, one line each.
    pub fn output(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// The first output line containing `text`, if any yet.
    pub fn find_line(&self, text: &str) -> Option<String> {
        self.output().into_iter().find(|line| line.contains(text))
    }

    /// Waits for an output line containing `text`, and returns it.
    pub fn wait_for_line(&mut self, text: &str) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(line) = self.find_line(text) {
                return line;
            }
            if Instant::now() > deadline {
                panic!(
                    "no line with {text:?} within {DEADLINE:?}; output:\n{}",
                    self.output().join("\n")
                );
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                // Give the reader threads a moment to take the last lines.
                std::thread::sleep(Duration::from_millis(50));
                if let Some(line) = self.find_line(text) {
                    return line;
                }
                panic!(
                    "exited ({status}) without a line with {text:?}; output:\n{}",
                    self.output().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends a signal to the process.
    pub fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.pid()).expect("pids fit pid_t");
        // SAFETY: kill(2) takes plain integers.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill {pid}");
    }

    /// Waits for the process to exit.
    pub fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().expect("waitable child") {
                // Let the reader threads drain the pipes.
                std::thread::sleep(Duration::from_millis(50));
                return status;
            }
            if Instant::now() > deadline {
                panic!(
                    "still running after {DEADLINE:?}; output:\n{}",
                    self.output().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the binary to completion (for `--signal`, `-t`, bad flags) and returns its status
/// and combined output.
pub fn run(args: &[&str]) -> (ExitStatus, String) {
    let mut process = Process::spawn(args);
    let status = process.wait();
    (status, process.output().join("\n"))
}

/// A fresh, empty directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("switchboard-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

/// Waits until the file at `path` has a line containing `text`.
pub fn wait_for_file_line(path: &Path, text: &str) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let content = std::fs::read_to_string(path).unwrap_or_default();
        if content.lines().any(|line| line.contains(text)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no line with {text:?} in {}:\n{content}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
