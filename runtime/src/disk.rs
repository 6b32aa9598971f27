//! `StdDisk`: the core's [`Disk`] over real files under a root directory.
//!
//! - Positional reads and writes (`pread`/`pwrite` through `FileExt` on Unix; elsewhere a seek
//!   and a read or write under the file's lock), so reads and writes never share a cursor.
//! - `sync` is `sync_data` (fdatasync: the data and the size needed to read it back), plus an
//!   fsync of the file's directory if the file was created since that directory was last
//!   synced: a new file survives a crash once a sync of it returns `Ok`.
//! - `remove` fsyncs the directory before it returns, so removals are durable in order.
//! - Open files are cached behind a mutex as `Arc<File>`; the mutex is held only to look a
//!   handle up, never across IO, so a sync on one thread does not stall writes on another.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use switchboard::store::disk::{is_valid_path, Disk, DiskError};

/// Real files under `root`. See the module docs.
#[derive(Debug)]
pub struct StdDisk {
    root: PathBuf,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    files: BTreeMap<String, Arc<File>>,
    /// Directories (relative) with a created entry not yet made durable.
    dirs_to_sync: BTreeSet<String>,
}

/// ENOSPC, for hosts whose `io::ErrorKind` does not say "storage full".
#[cfg(unix)]
const ENOSPC: i32 = 28;

fn disk_error(error: io::Error) -> DiskError {
    #[cfg(unix)]
    if error.raw_os_error() == Some(ENOSPC) {
        return DiskError::NoSpace;
    }
    match error.kind() {
        io::ErrorKind::NotFound => DiskError::NotFound,
        io::ErrorKind::AlreadyExists => DiskError::AlreadyExists,
        io::ErrorKind::StorageFull => DiskError::NoSpace,
        _ => DiskError::Io(error.to_string()),
    }
}

/// The directory part of a relative path (`""` for a file at the root).
fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

impl StdDisk {
    /// A disk rooted at `root` (created if missing).
    pub fn new(root: impl Into<PathBuf>) -> io::Result<StdDisk> {
        let root = root.into();
        fs::create_dir_all(&root)?;
        Ok(StdDisk {
            root,
            state: Mutex::new(State::default()),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The lock guards a cache; a panic elsewhere leaves it consistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn full_path(&self, path: &str) -> Result<PathBuf, DiskError> {
        if !is_valid_path(path) {
            return Err(DiskError::InvalidPath);
        }
        Ok(self.root.join(path))
    }

    /// The cached handle of `path`, opening it (read-write) if needed.
    fn file(&self, path: &str) -> Result<Arc<File>, DiskError> {
        if let Some(file) = self.lock().files.get(path) {
            return Ok(file.clone());
        }
        let full = self.full_path(path)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(full)
            .map_err(disk_error)?;
        let file = Arc::new(file);
        self.lock()
            .files
            .entry(path.to_string())
            .or_insert(file.clone());
        Ok(file)
    }

    /// fsyncs a directory (relative; `""` is the root).
    fn sync_dir(&self, dir: &str) -> Result<(), DiskError> {
        let full = if dir.is_empty() {
            self.root.clone()
        } else {
            self.full_path(dir)?
        };
        sync_directory(&full).map_err(disk_error)
    }
}

#[cfg(unix)]
fn sync_directory(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Directories cannot be opened for syncing everywhere; their entries are durable there when
/// the file's own sync returns.
#[cfg(not(unix))]
fn sync_directory(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn read_at(file: &File, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

#[cfg(unix)]
fn write_at(file: &File, offset: u64, data: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.write_all_at(data, offset)
}

/// Seek-based fallback: one cursor per file, so seek and IO happen under a lock.
#[cfg(not(unix))]
static SEEK_LOCK: Mutex<()> = Mutex::new(());

#[cfg(not(unix))]
fn read_at(mut file: &File, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
    use std::io::{Read, Seek, SeekFrom};
    let _guard = SEEK_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    file.seek(SeekFrom::Start(offset))?;
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

#[cfg(not(unix))]
fn write_at(mut file: &File, offset: u64, data: &[u8]) -> io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    let _guard = SEEK_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    file.seek(SeekFrom::Start(offset))?;
    file.write_all(data)
}

impl Disk for StdDisk {
    fn create(&self, path: &str) -> Result<(), DiskError> {
        let full = self.full_path(path)?;
        if let Some(dir) = full.parent() {
            fs::create_dir_all(dir).map_err(disk_error)?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&full)
            .map_err(disk_error)?;
        let mut state = self.lock();
        state.files.insert(path.to_string(), Arc::new(file));
        state.dirs_to_sync.insert(parent(path).to_string());
        Ok(())
    }

    fn open(&self, path: &str) -> Result<u64, DiskError> {
        self.len(path)
    }

    fn len(&self, path: &str) -> Result<u64, DiskError> {
        let file = self.file(path)?;
        Ok(file.metadata().map_err(disk_error)?.len())
    }

    fn read_at(&self, path: &str, offset: u64, buf: &mut [u8]) -> Result<usize, DiskError> {
        let file = self.file(path)?;
        read_at(&file, offset, buf).map_err(disk_error)
    }

    fn write_at(&self, path: &str, offset: u64, data: &[u8]) -> Result<(), DiskError> {
        let file = self.file(path)?;
        write_at(&file, offset, data).map_err(disk_error)
    }

    fn sync(&self, path: &str) -> Result<(), DiskError> {
        let file = self.file(path)?;
        file.sync_data().map_err(disk_error)?;
        let dir = parent(path);
        // Take the mark before syncing: a create racing with this sync marks it again.
        let pending = self.lock().dirs_to_sync.remove(dir);
        if pending {
            if let Err(error) = self.sync_dir(dir) {
                self.lock().dirs_to_sync.insert(dir.to_string());
                return Err(error);
            }
        }
        Ok(())
    }

    fn truncate(&self, path: &str, len_bytes: u64) -> Result<(), DiskError> {
        let file = self.file(path)?;
        file.set_len(len_bytes).map_err(disk_error)
    }

    fn remove(&self, path: &str) -> Result<(), DiskError> {
        let full = self.full_path(path)?;
        self.lock().files.remove(path);
        fs::remove_file(full).map_err(disk_error)?;
        self.sync_dir(parent(path))
    }

    fn list(&self, dir: &str) -> Result<Vec<String>, DiskError> {
        let full = if dir.is_empty() {
            self.root.clone()
        } else {
            self.full_path(dir)?
        };
        let entries = match fs::read_dir(full) {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(disk_error(error)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(disk_error)?;
            if entry.file_type().map_err(disk_error)?.is_file() {
                if let Some(name) = entry.file_name().to_str() {
                    names.push(name.to_string());
                }
            }
        }
        names.sort();
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use switchboard::store::{FileStore, FileStoreConfig, Store};
    use switchboard::{Mono, Wall};

    use super::*;

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            static NEXT: AtomicU64 = AtomicU64::new(0);
            let name = format!(
                "switchboard-disk-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            );
            TempDir(std::env::temp_dir().join(name))
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn positional_io_and_listing() {
        let tmp = TempDir::new();
        let disk = StdDisk::new(&tmp.0).unwrap();
        disk.create("a/f").unwrap();
        assert_eq!(disk.create("a/f"), Err(DiskError::AlreadyExists));
        disk.write_at("a/f", 3, b"xyz").unwrap();
        disk.write_at("a/f", 0, b"ab").unwrap();
        disk.sync("a/f").unwrap();
        let mut buf = [9u8; 8];
        assert_eq!(disk.read_at("a/f", 0, &mut buf).unwrap(), 6);
        assert_eq!(&buf[..6], b"ab\0xyz");
        assert_eq!(disk.read_at("a/f", 10, &mut buf).unwrap(), 0);
        disk.truncate("a/f", 2).unwrap();
        assert_eq!(disk.open("a/f").unwrap(), 2);
        disk.create("a/g").unwrap();
        fs::create_dir_all(tmp.0.join("a/sub")).unwrap();
        assert_eq!(disk.list("a").unwrap(), vec!["f", "g"]);
        assert!(disk.list("missing").unwrap().is_empty());
        disk.remove("a/g").unwrap();
        assert_eq!(disk.remove("a/g"), Err(DiskError::NotFound));
        assert_eq!(disk.len("a/g"), Err(DiskError::NotFound));
        assert_eq!(disk.create("../escape"), Err(DiskError::InvalidPath));
    }

    #[test]
    fn sync_runs_on_another_thread() {
        let tmp = TempDir::new();
        let disk: Arc<dyn Disk> = Arc::new(StdDisk::new(&tmp.0).unwrap());
        disk.create("f").unwrap();
        let writer = disk.clone();
        let syncer = disk.clone();
        let writes = std::thread::spawn(move || {
            for i in 0..100u64 {
                writer
                    .write_at("f", i * 4, &(i as u32).to_le_bytes())
                    .unwrap();
            }
        });
        let syncs = std::thread::spawn(move || {
            for _ in 0..10 {
                syncer.sync("f").unwrap();
            }
        });
        writes.join().unwrap();
        syncs.join().unwrap();
        disk.sync("f").unwrap();
        assert_eq!(disk.len("f").unwrap(), 400);
    }

    #[test]
    fn file_store_survives_reopen_on_real_files() {
        let tmp = TempDir::new();
        let config = FileStoreConfig::new("streams/S");
        let disk: Arc<dyn Disk> = Arc::new(StdDisk::new(&tmp.0).unwrap());
        let mut store = FileStore::open(disk.clone(), config.clone()).unwrap();
        for i in 0..10u8 {
            let payload = bytes::Bytes::from(vec![i; 100]);
            store
                .store_msg(b"s", bytes::Bytes::new(), payload, Wall::from_unix_nanos(1))
                .unwrap();
        }
        let request = store.sync_request(Mono::ZERO).expect("writes wait");
        let result = request.run(&*disk);
        store.synced(&request, result);
        assert_eq!(store.durable_seq(), 10);
        drop(store);
        let disk: Arc<dyn Disk> = Arc::new(StdDisk::new(&tmp.0).unwrap());
        let store = FileStore::open(disk, config).unwrap();
        assert!(store.recovery_report().is_clean());
        assert_eq!(store.state().msgs, 10);
        assert_eq!(store.load_msg(7).unwrap().payload, vec![6u8; 100]);
    }
}
