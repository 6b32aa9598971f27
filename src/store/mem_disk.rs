//! `MemDisk`: a deterministic in-memory [`Disk`] with fault injection.
//!
//! Used by the core's unit tests and by the simulator, so it is pure memory and every random
//! choice comes from a seeded [`ChaCha8Rng`] passed in by the caller. Each file keeps what reads
//! see (`data`) apart from what survives a crash (`durable`, the contents as of its last
//! successful sync) and the writes in between, so:
//!
//! - [`MemDisk::crash`] drops every unsynced write and every file whose creation was not
//!   synced; [`MemDisk::crash_tearing`] also lets the last unsynced write of each file survive
//!   in part (a prefix of it, garbage after), as a power cut mid-write does;
//! - [`MemDisk::flip_bit`] and [`MemDisk::flip_random_bit`] corrupt synced data;
//! - [`MemDisk::misdirect_next_reads`] makes reads return bytes from another offset;
//! - [`MemDisk::fail_next`] fails the next operations of a kind with an I/O error;
//! - [`MemDisk::set_capacity_bytes`] makes writes past a total size fail with `NoSpace`.
//!
//! Every injected fault is appended to a log ([`MemDisk::faults`]) the caller can print. A
//! failed sync (injected) leaves the file's writes unsynced: they are lost at the next crash.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::disk::{is_valid_path, Disk, DiskError};

/// One kind of disk operation, to aim injected errors ([`MemDisk::fail_next`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskOp {
    Create,
    Open,
    Len,
    Read,
    Write,
    Sync,
    Truncate,
    Remove,
    List,
}

/// A fault [`MemDisk`] injected, in the order they happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultEvent {
    /// A crash: unsynced writes and files whose creation was not synced are gone.
    Crash {
        writes_lost: usize,
        files_lost: Vec<String>,
    },
    /// At a crash, `kept_bytes` of a `len_bytes` write at `offset` survived; the rest is garbage.
    TornWrite {
        path: String,
        offset: u64,
        len_bytes: usize,
        kept_bytes: usize,
    },
    /// One bit of synced data flipped.
    BitFlip { path: String, offset: u64, bit: u8 },
    /// A read of `requested` was served from `served`.
    MisdirectedRead {
        path: String,
        requested: u64,
        served: u64,
    },
    /// An operation failed on purpose.
    InjectedError { op: DiskOp, path: String },
    /// A write of `len_bytes` at `offset` would have gone past the capacity.
    NoSpace {
        path: String,
        offset: u64,
        len_bytes: usize,
    },
}

impl fmt::Display for FaultEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultEvent::Crash {
                writes_lost,
                files_lost,
            } => write!(
                f,
                "crash: {writes_lost} unsynced writes lost, files lost {files_lost:?}"
            ),
            FaultEvent::TornWrite {
                path,
                offset,
                len_bytes,
                kept_bytes,
            } => write!(
                f,
                "torn write {path}@{offset}: {kept_bytes} of {len_bytes} bytes kept"
            ),
            FaultEvent::BitFlip { path, offset, bit } => {
                write!(f, "bit flip {path}@{offset} bit {bit}")
            }
            FaultEvent::MisdirectedRead {
                path,
                requested,
                served,
            } => write!(
                f,
                "misdirected read {path}@{requested} served from {served}"
            ),
            FaultEvent::InjectedError { op, path } => write!(f, "injected error: {op:?} {path}"),
            FaultEvent::NoSpace {
                path,
                offset,
                len_bytes,
            } => write!(f, "no space: write {path}@{offset} of {len_bytes} bytes"),
        }
    }
}

/// A write or truncate since the file's last sync.
#[derive(Clone, Debug)]
enum Unsynced {
    Write { offset: u64, data: Vec<u8> },
    Truncate { len_bytes: u64 },
}

#[derive(Clone, Debug, Default)]
struct MemFile {
    /// What reads see.
    data: Vec<u8>,
    /// The contents as of the last successful sync; `None` until the creation is synced.
    durable: Option<Vec<u8>>,
    /// Changes since the last sync, oldest first; replayed onto `durable` by a sync.
    unsynced: Vec<Unsynced>,
}

#[derive(Debug, Default)]
struct State {
    files: BTreeMap<String, MemFile>,
    capacity_bytes: Option<u64>,
    /// Pending injected errors: (which ops, how many more).
    failures: Vec<(Option<DiskOp>, u32)>,
    /// One random number per pending misdirected read, drawn when it was injected.
    misdirects: Vec<u64>,
    faults: Vec<FaultEvent>,
}

/// An in-memory disk with fault injection. See the module docs.
#[derive(Debug, Default)]
pub struct MemDisk {
    state: Mutex<State>,
}

fn to_usize(value: u64) -> Result<usize, DiskError> {
    usize::try_from(value).map_err(|_| DiskError::Io("offset beyond memory".into()))
}

/// Writes `data` at `offset` into `buf`, extending it with zeros as needed.
fn write_into(buf: &mut Vec<u8>, offset: usize, data: &[u8]) {
    let end = offset + data.len();
    if buf.len() < end {
        buf.resize(end, 0);
    }
    buf[offset..end].copy_from_slice(data);
}

fn replay(durable: &mut Vec<u8>, change: &Unsynced) {
    match change {
        Unsynced::Write { offset, data } => {
            // Offsets were checked to fit in memory when the write was made.
            let offset = usize::try_from(*offset).expect("offset checked at write");
            write_into(durable, offset, data);
        }
        Unsynced::Truncate { len_bytes } => {
            let len = usize::try_from(*len_bytes).expect("length checked at truncate");
            durable.resize(len, 0);
        }
    }
}

impl MemDisk {
    pub fn new() -> MemDisk {
        MemDisk::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock is a bug in this file; the state is still usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes past this total of file sizes fail with `NoSpace`; `None` is unlimited.
    pub fn set_capacity_bytes(&self, capacity_bytes: Option<u64>) {
        self.lock().capacity_bytes = capacity_bytes;
    }

    /// The next `count` operations of kind `op` (any kind for `None`) fail with an I/O error.
    pub fn fail_next(&self, op: Option<DiskOp>, count: u32) {
        self.lock().failures.push((op, count));
    }

    /// The next `count` reads return bytes from another offset of the same file.
    pub fn misdirect_next_reads(&self, count: u32, rng: &mut ChaCha8Rng) {
        let mut state = self.lock();
        for _ in 0..count {
            let draw = rng.random();
            state.misdirects.push(draw);
        }
    }

    /// Every fault injected so far, oldest first.
    pub fn faults(&self) -> Vec<FaultEvent> {
        self.lock().faults.clone()
    }

    /// A file's contents as reads see them, or `None` if it does not exist.
    pub fn contents(&self, path: &str) -> Option<Vec<u8>> {
        self.lock().files.get(path).map(|file| file.data.clone())
    }

    /// Every file's path, sorted.
    pub fn paths(&self) -> Vec<String> {
        self.lock().files.keys().cloned().collect()
    }

    /// Puts a file with `data`, created and synced (test and fuzz setup).
    pub fn put_durable(&self, path: &str, data: &[u8]) {
        let file = MemFile {
            data: data.to_vec(),
            durable: Some(data.to_vec()),
            unsynced: Vec::new(),
        };
        self.lock().files.insert(path.to_string(), file);
    }

    /// Loses every unsynced write and every file whose creation was not synced.
    pub fn crash(&self) {
        self.crash_inner(None);
    }

    /// As [`MemDisk::crash`], but the last unsynced write of each file survives torn: a random
    /// prefix of it (possibly empty) is kept and the rest of its range is random garbage.
    pub fn crash_tearing(&self, rng: &mut ChaCha8Rng) {
        self.crash_inner(Some(rng));
    }

    fn crash_inner(&self, mut rng: Option<&mut ChaCha8Rng>) {
        let mut state = self.lock();
        let mut writes_lost = 0;
        let mut files_lost = Vec::new();
        let mut torn = Vec::new();
        for (path, file) in &mut state.files {
            writes_lost += file.unsynced.len();
            let Some(durable) = file.durable.clone() else {
                files_lost.push(path.clone());
                continue;
            };
            file.data = durable;
            let last = file.unsynced.pop();
            file.unsynced.clear();
            if let (Some(rng), Some(Unsynced::Write { offset, data })) = (rng.as_deref_mut(), last)
            {
                let kept_bytes = rng.random_range(0..data.len().max(1));
                let mut torn_data = data.clone();
                rng.fill(&mut torn_data[kept_bytes..]);
                let start = usize::try_from(offset).expect("offset checked at write");
                write_into(&mut file.data, start, &torn_data);
                // The torn bytes are on the platter now: they survive the next crash too.
                file.durable = Some(file.data.clone());
                torn.push(FaultEvent::TornWrite {
                    path: path.clone(),
                    offset,
                    len_bytes: data.len(),
                    kept_bytes,
                });
            }
        }
        for path in &files_lost {
            state.files.remove(path);
        }
        state.faults.push(FaultEvent::Crash {
            writes_lost,
            files_lost,
        });
        state.faults.extend(torn);
    }

    /// Flips bit `bit` (0-7) of the byte at `offset` of `path`, in synced data and in what
    /// reads see. Returns whether such a byte exists.
    pub fn flip_bit(&self, path: &str, offset: u64, bit: u8) -> bool {
        let mut state = self.lock();
        let Some(file) = state.files.get_mut(path) else {
            return false;
        };
        let Ok(index) = usize::try_from(offset) else {
            return false;
        };
        let mask = 1u8 << (bit % 8);
        let Some(byte) = file.durable.as_mut().and_then(|d| d.get_mut(index)) else {
            return false;
        };
        *byte ^= mask;
        if let Some(byte) = file.data.get_mut(index) {
            *byte ^= mask;
        }
        state.faults.push(FaultEvent::BitFlip {
            path: path.to_string(),
            offset,
            bit: bit % 8,
        });
        true
    }

    /// Flips one random bit of synced data in a random non-empty file; returns where, or `None`
    /// if no file has synced data.
    pub fn flip_random_bit(&self, rng: &mut ChaCha8Rng) -> Option<(String, u64, u8)> {
        let candidates: Vec<(String, usize)> = self
            .lock()
            .files
            .iter()
            .filter_map(|(path, file)| Some((path.clone(), file.durable.as_ref()?.len())))
            .filter(|(_, len)| *len > 0)
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let (path, len) = &candidates[rng.random_range(0..candidates.len())];
        let offset = rng.random_range(0..*len) as u64;
        let bit = rng.random_range(0..8u8);
        self.flip_bit(path, offset, bit);
        Some((path.clone(), offset, bit))
    }
}

impl State {
    /// Consumes a pending injected failure for `op`, if one is armed.
    fn injected(&mut self, op: DiskOp, path: &str) -> Result<(), DiskError> {
        let Some(index) = self
            .failures
            .iter()
            .position(|(kind, count)| *count > 0 && kind.is_none_or(|kind| kind == op))
        else {
            return Ok(());
        };
        self.failures[index].1 -= 1;
        self.failures.retain(|(_, count)| *count > 0);
        self.faults.push(FaultEvent::InjectedError {
            op,
            path: path.to_string(),
        });
        Err(DiskError::Io(format!("injected {op:?} failure")))
    }

    /// Checks the path and any injected failure before an operation on `path`.
    fn begin(&mut self, op: DiskOp, path: &str) -> Result<(), DiskError> {
        if !is_valid_path(path) {
            return Err(DiskError::InvalidPath);
        }
        self.injected(op, path)
    }

    fn file(&mut self, path: &str) -> Result<&mut MemFile, DiskError> {
        self.files.get_mut(path).ok_or(DiskError::NotFound)
    }

    fn total_bytes(&self) -> u64 {
        self.files.values().map(|file| file.data.len() as u64).sum()
    }

    /// `NoSpace` (logged) if growing `path` to `end` bytes goes past the capacity.
    fn reserve(&mut self, path: &str, offset: u64, data_len: usize) -> Result<(), DiskError> {
        let Some(capacity_bytes) = self.capacity_bytes else {
            return Ok(());
        };
        let current = self
            .files
            .get(path)
            .map_or(0, |file| file.data.len() as u64);
        let end = offset.saturating_add(data_len as u64);
        let growth = end.saturating_sub(current);
        if self.total_bytes().saturating_add(growth) <= capacity_bytes {
            return Ok(());
        }
        self.faults.push(FaultEvent::NoSpace {
            path: path.to_string(),
            offset,
            len_bytes: data_len,
        });
        Err(DiskError::NoSpace)
    }

    /// Where a read at `requested` is served from: another offset if a misdirect is pending.
    fn read_offset(&mut self, path: &str, requested: u64, file_len: u64) -> u64 {
        if file_len < 2 {
            return requested;
        }
        let Some(draw) = self.misdirects.pop() else {
            return requested;
        };
        let mut served = draw % file_len;
        if served == requested {
            served = (served + 1) % file_len;
        }
        self.faults.push(FaultEvent::MisdirectedRead {
            path: path.to_string(),
            requested,
            served,
        });
        served
    }
}

impl Disk for MemDisk {
    fn create(&self, path: &str) -> Result<(), DiskError> {
        let mut state = self.lock();
        state.begin(DiskOp::Create, path)?;
        if state.files.contains_key(path) {
            return Err(DiskError::AlreadyExists);
        }
        state.files.insert(path.to_string(), MemFile::default());
        Ok(())
    }

    fn open(&self, path: &str) -> Result<u64, DiskError> {
        let mut state = self.lock();
        state.begin(DiskOp::Open, path)?;
        Ok(state.file(path)?.data.len() as u64)
    }

    fn len(&self, path: &str) -> Result<u64, DiskError> {
        let mut state = self.lock();
        state.begin(DiskOp::Len, path)?;
        Ok(state.file(path)?.data.len() as u64)
    }

    fn read_at(&self, path: &str, offset: u64, buf: &mut [u8]) -> Result<usize, DiskError> {
        let mut state = self.lock();
        state.begin(DiskOp::Read, path)?;
        let file_len = state.file(path)?.data.len() as u64;
        let served = state.read_offset(path, offset, file_len);
        let data = &state.file(path)?.data;
        let Ok(start) = usize::try_from(served) else {
            return Ok(0);
        };
        let available = data.get(start..).unwrap_or_default();
        let count = available.len().min(buf.len());
        buf[..count].copy_from_slice(&available[..count]);
        Ok(count)
    }

    fn write_at(&self, path: &str, offset: u64, data: &[u8]) -> Result<(), DiskError> {
        let mut state = self.lock();
        state.begin(DiskOp::Write, path)?;
        state.file(path)?;
        let start = to_usize(offset)?;
        to_usize(offset.saturating_add(data.len() as u64))?;
        state.reserve(path, offset, data.len())?;
        let file = state.file(path)?;
        write_into(&mut file.data, start, data);
        file.unsynced.push(Unsynced::Write {
            offset,
            data: data.to_vec(),
        });
        Ok(())
    }

    fn sync(&self, path: &str) -> Result<(), DiskError> {
        let mut state = self.lock();
        state.begin(DiskOp::Sync, path)?;
        let file = state.file(path)?;
        let mut durable = file.durable.take().unwrap_or_default();
        for change in file.unsynced.drain(..) {
            replay(&mut durable, &change);
        }
        debug_assert_eq!(
            durable, file.data,
            "a sync makes the durable copy what reads see"
        );
        file.durable = Some(durable);
        Ok(())
    }

    fn truncate(&self, path: &str, len_bytes: u64) -> Result<(), DiskError> {
        let mut state = self.lock();
        state.begin(DiskOp::Truncate, path)?;
        let len = to_usize(len_bytes)?;
        let current = state.file(path)?.data.len();
        if len > current {
            state.reserve(path, current as u64, len - current)?;
        }
        let file = state.file(path)?;
        file.data.resize(len, 0);
        file.unsynced.push(Unsynced::Truncate { len_bytes });
        Ok(())
    }

    fn remove(&self, path: &str) -> Result<(), DiskError> {
        let mut state = self.lock();
        state.begin(DiskOp::Remove, path)?;
        state
            .files
            .remove(path)
            .map(|_| ())
            .ok_or(DiskError::NotFound)
    }

    fn list(&self, dir: &str) -> Result<Vec<String>, DiskError> {
        let mut state = self.lock();
        if !dir.is_empty() {
            state.begin(DiskOp::List, dir)?;
        } else {
            state.injected(DiskOp::List, dir)?;
        }
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        Ok(state
            .files
            .keys()
            .filter_map(|path| path.strip_prefix(&prefix))
            .filter(|name| !name.contains('/'))
            .map(str::to_string)
            .collect())
    }
}

#[cfg(test)]
#[path = "mem_disk_tests.rs"]
mod tests;
