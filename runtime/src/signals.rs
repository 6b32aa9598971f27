//! The process signals nats-server acts on, as one stream (server/signal.go).

use std::io;

/// A signal the server acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT: shut down.
    Interrupt,
    /// SIGTERM: shut down, unless lame duck mode is running.
    Terminate,
    /// SIGHUP: reload the config file.
    Hangup,
    /// SIGUSR1: reopen the log file.
    User1,
    /// SIGUSR2: enter lame duck mode.
    User2,
}

impl Signal {
    /// The name Go's `os.Signal.String()` gives it, which nats-server logs.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "interrupt",
            Signal::Terminate => "terminated",
            Signal::Hangup => "hangup",
            Signal::User1 => "user defined signal 1",
            Signal::User2 => "user defined signal 2",
        }
    }
}

/// Every signal in [`Signal`], received in the order they arrive.
#[cfg(unix)]
pub struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
    user1: tokio::signal::unix::Signal,
    user2: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    /// Installs the handlers. Must run inside a tokio runtime.
    pub fn new() -> io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
            user1: signal(SignalKind::user_defined1())?,
            user2: signal(SignalKind::user_defined2())?,
        })
    }

    /// The next signal. Cancel-safe.
    pub async fn next(&mut self) -> Signal {
        // `recv` returns None only when tokio's signal driver is gone (runtime shutdown); then
        // that branch is disabled, and with all of them disabled nothing more will come.
        tokio::select! {
            biased;
            Some(()) = self.interrupt.recv() => Signal::Interrupt,
            Some(()) = self.terminate.recv() => Signal::Terminate,
            Some(()) = self.hangup.recv() => Signal::Hangup,
            Some(()) = self.user1.recv() => Signal::User1,
            Some(()) = self.user2.recv() => Signal::User2,
            else => std::future::pending().await,
        }
    }
}

/// Elsewhere only Ctrl-C exists.
#[cfg(not(unix))]
pub struct Signals;

#[cfg(not(unix))]
impl Signals {
    pub fn new() -> io::Result<Signals> {
        Ok(Signals)
    }

    pub async fn next(&mut self) -> Signal {
        match tokio::signal::ctrl_c().await {
            Ok(()) => Signal::Interrupt,
            Err(_) => std::future::pending().await,
        }
    }
}

/// `--signal <command>[=<pid>]`: sends the signal for `command` to a running server, as
/// nats-server's `ProcessSignal`. `pid` is a process id, a path to a PID file, or a prefix ending
/// in `*`; without it, the one `switchboard` process running (other than this one) is signalled.
#[cfg(unix)]
pub fn send(command: &str, pid: Option<&str>) -> Result<(), String> {
    let signum = signal_for(command)?;
    let expr = pid.map(read_pid_file_or_keep);
    let expr = expr.as_deref().map(str::trim).unwrap_or("");
    let (prefix, glob) = match expr.strip_suffix('*') {
        Some(prefix) => (prefix, true),
        None => (expr, false),
    };
    if !prefix.is_empty() && prefix.parse::<i32>().is_err() {
        return Err(format!("invalid pid: {prefix}"));
    }
    let pids: Vec<i32> = if !prefix.is_empty() && !glob {
        // Checked just above.
        vec![prefix.parse().unwrap_or_default()]
    } else {
        let running = running_servers();
        if running.len() > 1 && !glob {
            let mut message = "multiple switchboard processes running:".to_string();
            for pid in &running {
                message.push_str(&format!("\n{pid}"));
            }
            return Err(message);
        }
        running
            .into_iter()
            .filter(|pid| pid.to_string().starts_with(prefix))
            .collect()
    };
    if pids.is_empty() {
        return Err("no switchboard processes running".to_string());
    }
    let mut errors = String::new();
    for pid in pids {
        // SAFETY: kill(2) takes plain integers and has no memory effects in this process.
        if unsafe { libc::kill(pid, signum) } != 0 {
            let error = io::Error::last_os_error();
            errors.push_str(&format!("\nsignal {command:?} {pid}: {error}"));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(not(unix))]
pub fn send(_command: &str, _pid: Option<&str>) -> Result<(), String> {
    Err("sending signals is only supported on Unix".to_string())
}

/// nats-server's `CommandToSignal`.
#[cfg(unix)]
fn signal_for(command: &str) -> Result<libc::c_int, String> {
    Ok(match command {
        "stop" => libc::SIGKILL,
        "quit" => libc::SIGINT,
        "reopen" => libc::SIGUSR1,
        "reload" => libc::SIGHUP,
        "ldm" => libc::SIGUSR2,
        "term" => libc::SIGTERM,
        _ => return Err(format!("unknown signal {command:?}")),
    })
}

/// nats-server's `maybeReadPidFile`: the file's contents if `pid` names a readable file,
/// else `pid` itself.
fn read_pid_file_or_keep(pid: &str) -> String {
    std::fs::read_to_string(pid).unwrap_or_else(|_| pid.to_string())
}

/// Other processes whose command name is `switchboard` (nats-server asks `pgrep`; /proc gives
/// the same answer without depending on it being installed). Empty where /proc is absent.
#[cfg(unix)]
fn running_servers() -> Vec<i32> {
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<i32> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim_end() == "switchboard")
        })
        .filter_map(|pid| i32::try_from(pid).ok())
        .collect();
    pids.sort_unstable();
    pids
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn commands_map_to_nats_server_signals() {
        assert_eq!(signal_for("reload"), Ok(libc::SIGHUP));
        assert_eq!(signal_for("ldm"), Ok(libc::SIGUSR2));
        assert_eq!(signal_for("stop"), Ok(libc::SIGKILL));
        assert_eq!(signal_for("hup"), Err("unknown signal \"hup\"".to_string()));
    }

    #[test]
    fn bad_pids_are_named() {
        assert_eq!(
            send("reload", Some("abc")),
            Err("invalid pid: abc".to_string())
        );
        assert_eq!(
            send("nope", Some("1")),
            Err("unknown signal \"nope\"".to_string())
        );
    }
}
