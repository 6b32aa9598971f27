//! The `nats.conf` format, parsed the way nats-server's `conf` package parses it (conf/lex.go,
//! conf/parse.go in nats-server 2.12), quirks included, into a tree of [`Value`]s that each carry
//! their [`Position`].
//!
//! The format: `key: value`, `key = value` or `key value`; `{}` maps and `[]` arrays whose items
//! are separated by commas or new lines; `#` and `//` comments; `include 'file'`; `$VARIABLE`
//! references (block scoped, then the environment); integers with size suffixes (`1k` is 1000,
//! `1kb` 1024, through `e`/`eb`), floats, booleans (`true`, `yes`, `on` ...), quoted strings
//! (single quotes raw, double quotes with `\t \n \r \" \\ \xHH` escapes), bare strings, Zulu
//! datetimes, IP addresses and `host:port`, and `(` ... `)` blocks of raw text ending at a `)` on
//! a line of its own. A file may also be wrapped in `{ }`, as JSON is.
//!
//! Quirks kept because configs in the wild rely on them (each has a test in `tests.rs`):
//! - a bare value starting with a digit is a number when it looks like one: `2m` is the integer
//!   2,000,000 and `1e` is 10^18 (size suffixes), while `10s` and `1h30m` are strings;
//! - a key written without a value (`a { b }`) leaves nats-server's key stack out of step, and
//!   the next value lands on the wrong key (here too, so both read a config the same way);
//! - an integer directly before `]` (`[1, 2]`) lexes as a string that swallows the `]`;
//! - a `( ... )` block at the very end of the input keeps its closing `)`.
//!
//! Where this parser differs from nats-server, on purpose:
//! - columns are 1-based on every line (nats-server counts from 0 on line 1 and from 1 after);
//! - a size suffix nats-server does not know (`2kbb`) or a size that overflows 64 bits is an
//!   error (nats-server silently drops the first and wraps the second);
//! - a string whose `\x` escapes do not form UTF-8 is an error (Go keeps the raw bytes);
//! - only ASCII digits start numbers (Go also treats other Unicode decimal digits as digits);
//! - nesting, include depth, include count and the number of values are limited (below).
//!
//! The parser is sans-IO: `include` files and environment variables come through the
//! [`ConfSource`] the caller implements. Includes are resolved against the including file's
//! directory with Go's `filepath.Join` rules, on strings only.

mod duration;
mod lexer;
mod parser;
mod path;
mod value;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

pub use duration::{format_go_duration, go_quote, parse_go_duration};
pub use path::{go_path_dir, go_path_join};
pub use value::{Datetime, Entry, Map, Value, ValueKind};

/// Deepest nesting of maps and arrays, counting the top-level map, across includes and
/// variable substitutions. Real configs nest four or five deep.
pub const NESTING_DEPTH_MAX: usize = 64;
/// Deepest chain of files including files (a file including itself stops here).
pub const INCLUDE_DEPTH_MAX: usize = 16;
/// Included files read while parsing one config, counting repeats.
pub const INCLUDE_FILES_MAX: usize = 1024;
/// Deepest chain of environment variables whose values reference other variables.
pub const ENV_DEPTH_MAX: usize = 16;
/// Values in one parsed config, counting every copy a variable reference makes (a reference
/// copies the whole value, so nested references could otherwise grow the tree exponentially).
pub const VALUES_MAX: usize = 1_000_000;

/// Where a value, key or error is: the file as the caller named it (an included file as
/// resolved against its includer), the 1-based line and the 1-based column in characters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub file: Arc<str>,
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Why a config could not be parsed. Displays as `file:line:column: message`, the layout of
/// nats-server's config errors; the message is nats-server's wording where it has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfError {
    pub position: Position,
    pub message: String,
}

impl fmt::Display for ConfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.position, self.message)
    }
}

impl std::error::Error for ConfError {}

/// What the parser needs from the outside world, implemented by the host: the runtime reads
/// files and the process environment, tests use fixed maps.
pub trait ConfSource {
    /// The contents of an included file. `path` is already resolved against the including
    /// file's directory. The error text follows nats-server's "error parsing include file
    /// '<name>', " in the message, e.g. `open x.conf: no such file or directory`.
    fn read_include(&self, path: &str) -> Result<String, String>;

    /// An environment variable, for a `$NAME` no enclosing block defines.
    fn env(&self, name: &str) -> Option<String>;
}

/// A source with no files and an empty environment.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoSource;

impl ConfSource for NoSource {
    fn read_include(&self, path: &str) -> Result<String, String> {
        Err(format!("open {path}: no such file or directory"))
    }

    fn env(&self, _name: &str) -> Option<String> {
        None
    }
}

/// Includes and environment variables from fixed maps: for tests, fuzzing and callers that
/// hold a config in memory.
#[derive(Clone, Debug, Default)]
pub struct MapSource {
    /// Include path (as resolved against the including file) → contents.
    pub files: BTreeMap<String, String>,
    pub env: BTreeMap<String, String>,
}

impl MapSource {
    /// Adds an include file.
    pub fn file(mut self, path: &str, text: &str) -> MapSource {
        self.files.insert(path.to_owned(), text.to_owned());
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, name: &str, value: &str) -> MapSource {
        self.env.insert(name.to_owned(), value.to_owned());
        self
    }
}

impl ConfSource for MapSource {
    fn read_include(&self, path: &str) -> Result<String, String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| format!("open {path}: no such file or directory"))
    }

    fn env(&self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }
}

/// Parses `text`, the contents of the config file named `file` (the name appears in positions
/// and is the base for relative includes), into its top-level map.
pub fn parse(text: &str, file: &str, source: &dyn ConfSource) -> Result<Map, ConfError> {
    let mut session = parser::Session::new(source);
    parser::parse_file(&mut session, text, file, 0)
}
