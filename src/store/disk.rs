//! The `Disk` trait: the only way the core reaches storage.
//!
//! Small, synchronous and positional, so a host can implement it over real files (the
//! runtime's `StdDisk`), over memory with injected faults ([`MemDisk`](super::MemDisk), used by
//! unit tests and the simulator), or anything else. Files are named by path-like strings
//! relative to the store root (`streams/ORDERS/00000000000000000001.seg`): `/`-separated,
//! non-empty components, never `.` or `..`, never absolute ([`is_valid_path`]).
//!
//! # Durability contract
//!
//! - Data written with [`Disk::write_at`] and a [`Disk::truncate`] are durable only after a
//!   later [`Disk::sync`] of the same file returns `Ok`. Until then a crash may lose them, in
//!   part (a torn write: a prefix survives, the rest is garbage) or in whole.
//! - A file made by [`Disk::create`] is durable (it exists after a crash) after a `sync` of that
//!   file returns `Ok`: the implementation also syncs the directory entry.
//! - [`Disk::remove`] is durable when it returns `Ok` (the implementation syncs the
//!   directory), so removals happen in the order they were made.
//! - A failed `sync` says nothing about what is on disk: the caller must treat every write
//!   since the last successful sync of that file as possibly lost.
//!
//! # Threads
//!
//! Every method takes `&self` and the trait is `Send + Sync`, so a host can share one disk as
//! `Arc<dyn Disk>` and run the slow `sync` on another thread than the writes.

use std::fmt;

/// Why a disk operation failed: io-like kinds, with the host's text for anything else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiskError {
    /// The file (or, for `list`, nothing) does not exist.
    NotFound,
    /// `create` of a file that exists.
    AlreadyExists,
    /// The disk is full; nothing of the write was applied.
    NoSpace,
    /// The path is not a valid relative path ([`is_valid_path`]).
    InvalidPath,
    /// Any other failure, as the host's text.
    Io(String),
}

impl fmt::Display for DiskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiskError::NotFound => f.write_str("file not found"),
            DiskError::AlreadyExists => f.write_str("file already exists"),
            DiskError::NoSpace => f.write_str("no space left on device"),
            DiskError::InvalidPath => f.write_str("invalid path"),
            DiskError::Io(text) => write!(f, "i/o error: {text}"),
        }
    }
}

impl std::error::Error for DiskError {}

/// Synchronous, positional file access relative to a store root. See the module docs for the
/// durability contract.
pub trait Disk: Send + Sync {
    /// Creates an empty file (and any missing parent directories). `AlreadyExists` if it exists.
    fn create(&self, path: &str) -> Result<(), DiskError>;

    /// Opens an existing file so later calls are quick; returns its length in bytes.
    fn open(&self, path: &str) -> Result<u64, DiskError>;

    /// The file's length in bytes, unsynced writes included.
    fn len(&self, path: &str) -> Result<u64, DiskError>;

    /// Reads up to `buf.len()` bytes at `offset`; returns how many were read, fewer only at
    /// the end of the file (zero at or past it).
    fn read_at(&self, path: &str, offset: u64, buf: &mut [u8]) -> Result<usize, DiskError>;

    /// Writes all of `data` at `offset`, extending the file (with zeros in any gap) as needed.
    fn write_at(&self, path: &str, offset: u64, data: &[u8]) -> Result<(), DiskError>;

    /// Makes every earlier write and truncate of the file durable (and its creation).
    fn sync(&self, path: &str) -> Result<(), DiskError>;

    /// Cuts (or extends with zeros) the file to `len_bytes`.
    fn truncate(&self, path: &str, len_bytes: u64) -> Result<(), DiskError>;

    /// Removes the file; durable when this returns `Ok`.
    fn remove(&self, path: &str) -> Result<(), DiskError>;

    /// The names (not paths) of the files directly in `dir` (`""` is the root), sorted. A
    /// directory that does not exist has none.
    fn list(&self, dir: &str) -> Result<Vec<String>, DiskError>;
}

/// Whether `path` is a valid relative path: non-empty `/`-separated components, none of them
/// `.` or `..`, no NUL or `\`, not absolute.
pub fn is_valid_path(path: &str) -> bool {
    !path.is_empty()
        && !path.contains(['\0', '\\'])
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

/// `dir/name`, or `name` when `dir` is the root.
pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_paths() {
        for path in ["a", "a/b", "streams/ORDERS/0001.seg", "a.b/c-d_e"] {
            assert!(is_valid_path(path), "{path}");
        }
        for path in ["", "/a", "a/", "a//b", "./a", "a/../b", "..", "a\\b", "a\0"] {
            assert!(!is_valid_path(path), "{path:?}");
        }
    }

    #[test]
    fn join_with_root() {
        assert_eq!(join("", "x"), "x");
        assert_eq!(join("a/b", "x"), "a/b/x");
    }

    #[test]
    fn errors_display() {
        assert_eq!(DiskError::NoSpace.to_string(), "no space left on device");
        assert_eq!(DiskError::Io("boom".into()).to_string(), "i/o error: boom");
    }
}
