//! The NATS client protocol, byte for byte as nats-server speaks it.
//!
//! Contract: this module only turns bytes into ops and values into bytes. It does no
//! authentication, permission or subject checks and no delivery; the session decides what an
//! op means. The one exception is knowing whether CONNECT enabled headers
//! ([`Parser::set_headers_enabled`]), because nats-server rejects such an HPUB while parsing.
//!
//! - [`parser`]: incremental, zero-copy parser for CONNECT, PUB, HPUB, SUB, UNSUB, PING, PONG
//!   (and the INFO, +OK, -ERR nats-server also accepts from a client).
//! - [`errors`]: the one table of `-ERR` texts, and which of them close the connection.
//! - [`encode`]: MSG/HMSG headers, -ERR, INFO, PING/PONG/+OK, and client ops for tests.
//! - [`info`]: the INFO JSON, with nats-server's field order and omissions.
//! - [`connect`]: CONNECT JSON decoding with nats-server's (Go's) leniencies.
//! - [`headers`]: the status headers the server itself generates (no responders).

pub mod connect;
pub mod encode;
pub mod errors;
pub mod headers;
pub mod info;
pub mod parser;

pub use connect::{parse_connect, ConnectError, ConnectOptions};
pub use errors::ErrText;
pub use info::ServerInfo;
pub use parser::{ClientOp, ParseError, Parser, ParserLimits, PubSpans};
