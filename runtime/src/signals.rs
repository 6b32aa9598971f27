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
