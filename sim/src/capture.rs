//! What the servers say and what panics: captured into the history.
//!
//! - A `tracing` subscriber, installed for the run's thread only, turns the broker's
//!   `Slow Consumer Detected` warnings into `SlowConsumerCut` entries (the client connection is
//!   named in the log by its CONNECT name, `c<client>.n<conn>`). With `verbose` it also prints
//!   every Switchboard log line at debug level.
//! - A process-wide panic hook (installed once, chaining to the previous hook) keeps each
//!   thread's panic messages, which the runner drains into `Panic` entries after every step, so
//!   a panic in any server task fails the run even if turmoil swallows it.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::sync::Once;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event as TracingEvent, Level, Metadata, Subscriber};

use crate::history::{Event, Recorder};

/// The run's log capture.
pub struct Capture {
    recorder: Recorder,
    verbose: bool,
}

impl Capture {
    pub fn new(recorder: Recorder, verbose: bool) -> Capture {
        Capture { recorder, verbose }
    }

    fn wants(&self, metadata: &Metadata<'_>) -> bool {
        let level = *metadata.level();
        let ours = metadata.target().starts_with("switchboard");
        (ours && level <= Level::WARN) || (self.verbose && ours && level <= Level::DEBUG)
    }
}

/// Collects an event's message (and any other fields) as text.
#[derive(Default)]
struct Text(String);

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

impl Subscriber for Capture {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if self.wants(metadata) {
            Interest::always()
        } else {
            // Other threads' runs may want what this one does not: decide per call.
            Interest::sometimes()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.wants(metadata)
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(if self.verbose {
            tracing::level_filters::LevelFilter::DEBUG
        } else {
            tracing::level_filters::LevelFilter::WARN
        })
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &TracingEvent<'_>) {
        let mut text = Text::default();
        event.record(&mut text);
        let text = text.0;
        if self.verbose {
            println!("    server {:>5} {text}", event.metadata().level());
        }
        if text.contains("Slow Consumer Detected") {
            if let Some(conn) = conn_named_in(&text) {
                self.recorder.record(Event::SlowConsumerCut { conn });
            }
        }
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// The client connection number in a log line naming `"c<client>.n<conn>"`.
fn conn_named_in(text: &str) -> Option<u32> {
    let start = text.find("\"c")? + 2;
    let rest = &text[start..];
    let dot = rest.find(".n")?;
    let digits: String = rest[dot + 2..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

thread_local! {
    static PANICS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Installs the panic hook (once per process).
pub fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let location = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let message = if let Some(s) = info.payload().downcast_ref::<&str>() {
                (*s).to_string()
            } else if let Some(s) = info.payload().downcast_ref::<String>() {
                s.clone()
            } else {
                "(non-string panic payload)".to_string()
            };
            PANICS.with(|p| p.borrow_mut().push(format!("{message}{location}")));
            previous(info);
        }));
    });
}

/// The panics this thread has seen since the last call.
pub fn take_panics() -> Vec<String> {
    PANICS.with(|p| std::mem::take(&mut *p.borrow_mut()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_connection_in_a_slow_consumer_line() {
        let line = "10.0.0.2:49153 - cid:4 - \"c3.n17\" - Slow Consumer Detected: MaxPending";
        assert_eq!(conn_named_in(line), Some(17));
        assert_eq!(
            conn_named_in("10.0.0.2:1 - cid:4 - Slow Consumer Detected"),
            None
        );
    }
}
