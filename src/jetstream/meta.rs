//! A file stream's configuration on disk, crash-safe without renames.
//!
//! Layout under the store root: `streams/<name>.meta.0` and `streams/<name>.meta.1` (two
//! slots) and the messages in `streams/<name>/` (a [`crate::store::FileStore`]). Stream names
//! never contain `.` or path separators (validation refuses them), so the meta file names are
//! unambiguous and every stream is found by listing `streams/`.
//!
//! Each write goes to the slot that does not hold the newest version, with a higher version,
//! and is synced before the caller replies; a reader takes the valid slot with the highest
//! version. A crash mid-write leaves the other slot intact, so a stream's config is always
//! the old one or the new one, never lost or mixed. A slot is
//! `"SBM1" | version u64 | created i64 | json_len u32 | crc32 u32 | json` (little endian; the
//! CRC covers version, created, length and json).

use crate::jetstream::config::{decode_config_request, StreamConfig};
use crate::jetstream::json::to_json;
use crate::store::disk::join;
use crate::store::{Disk, DiskError};
use crate::time::Wall;

const MAGIC: &[u8; 4] = b"SBM1";
const HEADER_BYTES: usize = 4 + 8 + 8 + 4 + 4;
/// Where stream files live, under the store root.
pub const STREAMS_DIR: &str = "streams";
const META_SUFFIX_0: &str = ".meta.0";
const META_SUFFIX_1: &str = ".meta.1";

/// A stream's persisted identity: its config, when it was created, and the slot version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamMeta {
    pub config: StreamConfig,
    pub created: Wall,
    pub version: u64,
}

/// The directory of a stream's messages.
pub fn data_dir(name: &str) -> String {
    join(STREAMS_DIR, name)
}

fn slot_path(name: &str, slot: u64) -> String {
    let suffix = if slot % 2 == 0 {
        META_SUFFIX_0
    } else {
        META_SUFFIX_1
    };
    join(STREAMS_DIR, &format!("{name}{suffix}"))
}

/// The names of the streams with a meta file, sorted.
pub fn list_streams(disk: &dyn Disk) -> Result<Vec<String>, DiskError> {
    let mut names: Vec<String> = disk
        .list(STREAMS_DIR)?
        .into_iter()
        .filter_map(|file| {
            file.strip_suffix(META_SUFFIX_0)
                .or_else(|| file.strip_suffix(META_SUFFIX_1))
                .map(str::to_string)
        })
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// Why a stream's meta could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetaError {
    /// Neither slot holds a valid record (each slot's reason).
    Unreadable(String),
    Disk(DiskError),
}

impl std::fmt::Display for MetaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetaError::Unreadable(why) => write!(f, "no valid stream meta: {why}"),
            MetaError::Disk(error) => write!(f, "{error}"),
        }
    }
}

/// Reads the newest valid slot of stream `name`.
pub fn read(disk: &dyn Disk, name: &str) -> Result<StreamMeta, MetaError> {
    let mut best: Option<StreamMeta> = None;
    let mut reasons = Vec::new();
    for slot in 0..2 {
        let path = slot_path(name, slot);
        match read_slot(disk, &path) {
            Ok(meta) => {
                if best.as_ref().is_none_or(|b| meta.version > b.version) {
                    best = Some(meta);
                }
            }
            Err(SlotError::Missing) => {}
            Err(SlotError::Disk(error)) => return Err(MetaError::Disk(error)),
            Err(SlotError::Invalid(why)) => reasons.push(format!("{path}: {why}")),
        }
    }
    best.ok_or_else(|| MetaError::Unreadable(reasons.join("; ")))
}

enum SlotError {
    Missing,
    Invalid(&'static str),
    Disk(DiskError),
}

fn read_slot(disk: &dyn Disk, path: &str) -> Result<StreamMeta, SlotError> {
    let len = match disk.open(path) {
        Ok(len) => len,
        Err(DiskError::NotFound) => return Err(SlotError::Missing),
        Err(error) => return Err(SlotError::Disk(error)),
    };
    if len < HEADER_BYTES as u64 {
        return Err(SlotError::Invalid("too short"));
    }
    let len = usize::try_from(len).map_err(|_| SlotError::Invalid("too long"))?;
    let mut buf = vec![0; len];
    let read = disk.read_at(path, 0, &mut buf).map_err(SlotError::Disk)?;
    match decode(&buf[..read]) {
        // A second read covers a misdirected one; a slot that fails twice is invalid.
        Err(SlotError::Invalid(_)) => {
            let read = disk.read_at(path, 0, &mut buf).map_err(SlotError::Disk)?;
            decode(&buf[..read])
        }
        decoded => decoded,
    }
}

fn decode(buf: &[u8]) -> Result<StreamMeta, SlotError> {
    let field = |at: usize, n: usize| buf.get(at..at + n).ok_or(SlotError::Invalid("too short"));
    if field(0, 4)? != MAGIC {
        return Err(SlotError::Invalid("bad magic"));
    }
    let u64_at = |at: usize| -> Result<u64, SlotError> {
        let bytes: [u8; 8] = field(at, 8)?
            .try_into()
            .map_err(|_| SlotError::Invalid("too short"))?;
        Ok(u64::from_le_bytes(bytes))
    };
    let u32_at = |at: usize| -> Result<u32, SlotError> {
        let bytes: [u8; 4] = field(at, 4)?
            .try_into()
            .map_err(|_| SlotError::Invalid("too short"))?;
        Ok(u32::from_le_bytes(bytes))
    };
    let version = u64_at(4)?;
    let created = u64_at(12)? as i64;
    let json_len = u32_at(20)? as usize;
    let crc = u32_at(24)?;
    let json = field(HEADER_BYTES, json_len)?;
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&buf[4..24]);
    hasher.update(json);
    if hasher.finalize() != crc {
        return Err(SlotError::Invalid("checksum mismatch"));
    }
    let request = decode_config_request(json).map_err(|_| SlotError::Invalid("bad config"))?;
    Ok(StreamMeta {
        config: request.config,
        created: Wall::from_unix_nanos(created),
        version,
    })
}

fn encode(meta: &StreamMeta) -> Vec<u8> {
    let json = to_json(&meta.config);
    let mut buf = Vec::with_capacity(HEADER_BYTES + json.len());
    buf.extend_from_slice(MAGIC);
    buf.extend_from_slice(&meta.version.to_le_bytes());
    buf.extend_from_slice(&meta.created.as_unix_nanos().to_le_bytes());
    buf.extend_from_slice(&(json.len() as u32).to_le_bytes());
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&buf[4..24]);
    hasher.update(json.as_bytes());
    buf.extend_from_slice(&hasher.finalize().to_le_bytes());
    buf.extend_from_slice(json.as_bytes());
    buf
}

/// Writes `meta` (whose `version` must be one more than the current one, or 1 for a new
/// stream) into its slot and syncs it. Durable when this returns `Ok`.
pub fn write(disk: &dyn Disk, meta: &StreamMeta) -> Result<(), DiskError> {
    let path = slot_path(&meta.config.name, meta.version);
    match disk.create(&path) {
        Ok(()) | Err(DiskError::AlreadyExists) => {}
        Err(error) => return Err(error),
    }
    disk.open(&path)?;
    let bytes = encode(meta);
    disk.truncate(&path, 0)?;
    disk.write_at(&path, 0, &bytes)?;
    disk.sync(&path)
}

/// Removes stream `name`: its meta slots first (from then on it does not exist), then its
/// message files.
pub fn remove(disk: &dyn Disk, name: &str) -> Result<(), DiskError> {
    for slot in 0..2 {
        match disk.remove(&slot_path(name, slot)) {
            Ok(()) | Err(DiskError::NotFound) => {}
            Err(error) => return Err(error),
        }
    }
    remove_data(disk, name)
}

/// Removes every file of stream `name`'s messages (left over from a stream deleted by a crash
/// mid-delete, before a stream of the same name is made).
pub fn remove_data(disk: &dyn Disk, name: &str) -> Result<(), DiskError> {
    let dir = data_dir(name);
    for file in disk.list(&dir)? {
        match disk.remove(&join(&dir, &file)) {
            Ok(()) | Err(DiskError::NotFound) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemDisk;

    fn meta(name: &str, version: u64, max_msgs: i64) -> StreamMeta {
        StreamMeta {
            config: StreamConfig {
                name: name.to_string(),
                subjects: vec![format!("{name}.>")],
                max_msgs,
                ..StreamConfig::default()
            },
            created: Wall::from_unix_nanos(1_700_000_000_000_000_000),
            version,
        }
    }

    #[test]
    fn newest_slot_wins_and_round_trips() {
        let disk = MemDisk::new();
        write(&disk, &meta("A", 1, 10)).unwrap();
        write(&disk, &meta("A", 2, 20)).unwrap();
        write(&disk, &meta("B", 1, 5)).unwrap();
        let a = read(&disk, "A").unwrap();
        assert_eq!(a.version, 2);
        assert_eq!(a.config.max_msgs, 20);
        assert_eq!(a.created, meta("A", 2, 20).created);
        assert_eq!(list_streams(&disk).unwrap(), ["A", "B"]);
    }

    #[test]
    fn a_corrupt_newer_slot_falls_back_to_the_older() {
        let disk = MemDisk::new();
        write(&disk, &meta("A", 1, 10)).unwrap();
        write(&disk, &meta("A", 2, 20)).unwrap();
        // Flip a byte of the JSON in slot 0 (version 2).
        let path = slot_path("A", 2);
        let mut byte = [0u8; 1];
        disk.read_at(&path, HEADER_BYTES as u64 + 3, &mut byte)
            .unwrap();
        disk.write_at(&path, HEADER_BYTES as u64 + 3, &[byte[0] ^ 0x40])
            .unwrap();
        let a = read(&disk, "A").unwrap();
        assert_eq!((a.version, a.config.max_msgs), (1, 10));
    }

    #[test]
    fn both_slots_bad_is_an_error_naming_them() {
        let disk = MemDisk::new();
        disk.create("streams/A.meta.0").unwrap();
        disk.write_at("streams/A.meta.0", 0, b"garbage garbage garbage garbage")
            .unwrap();
        let error = read(&disk, "A").unwrap_err();
        assert!(
            matches!(&error, MetaError::Unreadable(why) if why.contains("streams/A.meta.0: bad magic")),
            "{error}"
        );
    }

    #[test]
    fn remove_takes_meta_and_data() {
        let disk = MemDisk::new();
        write(&disk, &meta("A", 1, 10)).unwrap();
        disk.create("streams/A/00000000000000000001.seg").unwrap();
        remove(&disk, "A").unwrap();
        assert!(list_streams(&disk).unwrap().is_empty());
        assert!(disk.list("streams/A").unwrap().is_empty());
    }

    #[test]
    fn a_misdirected_read_is_read_again() {
        use rand::SeedableRng;
        let disk = MemDisk::new();
        write(&disk, &meta("A", 1, 10)).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        disk.misdirect_next_reads(1, &mut rng);
        assert_eq!(read(&disk, "A").unwrap().config.max_msgs, 10);
    }
}
