//! Switchboard's tokio runtime (being written).
