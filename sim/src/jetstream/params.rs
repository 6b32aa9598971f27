//! What one seed decides before the run starts: the shape of the workload, every stream's
//! limits, the latencies, and the whole fault plan (so the banner can print it).

use std::fmt;
use std::time::Duration;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use switchboard::Seed;

/// One simulated time, in nanoseconds since the run started.
pub type SimTime = u64;

pub const MILLIS: SimTime = 1_000_000;
pub const SECONDS: SimTime = 1_000_000_000;
/// How long a crash planned "at a sync" waits for one.
pub const CRASH_WAIT_MAX: SimTime = 200 * MILLIS;

/// A stream the workload creates, and what it may do to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamPlan {
    pub name: String,
    /// 0 for none.
    pub max_msgs: i64,
    /// 0 for none.
    pub max_msgs_per_subject: i64,
    /// 0 for none.
    pub max_bytes: i64,
    pub discard_new: bool,
    /// Nanoseconds; 0 for none.
    pub max_age: i64,
    /// Nanoseconds (never 0: the create request sets it, so the model knows it).
    pub duplicate_window: i64,
    /// Whether the workload purges, deletes messages from, rolls up (`allow_rollup_hdrs`),
    /// and deletes and re-creates it.
    pub admin: bool,
}

impl StreamPlan {
    /// The subjects messages are published on: three, so per-subject limits bite.
    pub fn subjects(&self) -> [String; 3] {
        ["a", "b", "c"].map(|token| format!("{}.{token}", self.name))
    }

    /// Whether nothing but a purge, a delete or a bit flip can remove its messages.
    pub fn unlimited(&self) -> bool {
        self.max_msgs == 0
            && self.max_msgs_per_subject == 0
            && self.max_bytes == 0
            && self.max_age == 0
    }

    /// The STREAM.CREATE body.
    pub fn create_json(&self) -> String {
        format!(
            "{{\"name\":\"{name}\",\"subjects\":[\"{name}.>\"],\"retention\":\"limits\",\
             \"storage\":\"file\",\"num_replicas\":1,\"max_msgs\":{max_msgs},\
             \"max_msgs_per_subject\":{per_subject},\"max_bytes\":{max_bytes},\
             \"max_age\":{max_age},\"duplicate_window\":{window},\"discard\":\"{discard}\",\
             \"allow_rollup_hdrs\":{admin}}}",
            name = self.name,
            max_msgs = if self.max_msgs > 0 { self.max_msgs } else { -1 },
            per_subject = if self.max_msgs_per_subject > 0 {
                self.max_msgs_per_subject
            } else {
                -1
            },
            max_bytes = if self.max_bytes > 0 {
                self.max_bytes
            } else {
                -1
            },
            max_age = self.max_age,
            window = self.duplicate_window,
            discard = if self.discard_new { "new" } else { "old" },
            admin = self.admin,
        )
    }
}

impl fmt::Display for StreamPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.name)?;
        let mut parts = Vec::new();
        if self.max_msgs > 0 {
            parts.push(format!("max_msgs={}", self.max_msgs));
        }
        if self.max_msgs_per_subject > 0 {
            parts.push(format!("per_subject={}", self.max_msgs_per_subject));
        }
        if self.max_bytes > 0 {
            parts.push(format!("max_bytes={}", self.max_bytes));
        }
        if self.max_msgs > 0 || self.max_bytes > 0 {
            parts.push(format!(
                "discard={}",
                if self.discard_new { "new" } else { "old" }
            ));
        }
        if self.max_age > 0 {
            parts.push(format!("max_age={}ms", self.max_age / 1_000_000));
        }
        parts.push(format!("window={}ms", self.duplicate_window / 1_000_000));
        if self.admin {
            parts.push("admin".to_string());
        }
        write!(f, "{})", parts.join(","))
    }
}

/// How a server goes down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashKind {
    /// The process dies; the page cache (unsynced writes) survives.
    ProcessKill,
    /// Power loss: unsynced writes are lost ([`switchboard::store::MemDisk::crash`]).
    PowerLoss,
    /// Power loss mid-write: the last unsynced write of each file survives torn.
    PowerLossTearing,
}

/// One planned fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// Down for `downtime`, with `flips` random bit flips in segment files while down, and
    /// whether bytes on their way to clients are lost with the server. `at_sync`: wait (up to
    /// [`CRASH_WAIT_MAX`]) until a sync is in flight, the moment a crash loses the most.
    Crash {
        kind: CrashKind,
        downtime: SimTime,
        flips: u32,
        drop_in_flight: bool,
        at_sync: bool,
    },
    /// Writes fail with "no space" for `length`.
    DiskFull { length: SimTime },
    /// The next sync fails (a stream's store then takes no writes until a restart).
    SyncError,
    /// The next read returns bytes from another offset (a transient fault: the store's one
    /// retry reads right; two in a row are more than it promises to cover).
    MisdirectRead,
    /// The wall clock jumps by this many nanoseconds (either way).
    WallJump { by: i64 },
}

/// Everything a seed decides up front.
#[derive(Clone, Debug)]
pub struct JsParams {
    pub seed: u64,
    /// Workload clients (a verifier connects besides them).
    pub clients: u32,
    pub streams: Vec<StreamPlan>,
    /// The safety phase (faults, random workload); the liveness phase follows.
    pub safety: SimTime,
    pub latency_min: SimTime,
    pub latency_max: SimTime,
    pub sync_latency_min: SimTime,
    pub sync_latency_max: SimTime,
    /// Time between one client's actions, at most.
    pub think_max: SimTime,
    /// Requests one client keeps in flight, at most.
    pub in_flight_max: usize,
    pub segment_bytes_max: u64,
    pub payload_bytes_max: usize,
    /// The fault plan, by time.
    pub faults: Vec<(SimTime, FaultAction)>,
}

impl JsParams {
    pub fn draw(seed: u64) -> JsParams {
        let mut rng = Seed(seed).stream("js.params");
        let clients = rng.random_range(2..=5);
        let stream_count = rng.random_range(2..=4);
        let streams = (0..stream_count)
            .map(|index| draw_stream(&mut rng, index))
            .collect();
        let safety = rng.random_range(5 * SECONDS..=9 * SECONDS);
        let latency_min = rng.random_range(20_000..200_000);
        let latency_max = latency_min + rng.random_range(0..3 * MILLIS);
        let sync_latency_min = rng.random_range(100_000..500_000);
        let sync_latency_max = sync_latency_min + rng.random_range(0..8 * MILLIS);
        let think_max = rng.random_range(2 * MILLIS..=30 * MILLIS);
        let in_flight_max = rng.random_range(1..=8);
        let segment_bytes_max = [1024, 4096, 16 * 1024, 256 * 1024][rng.random_range(0..4)];
        let payload_bytes_max = [16, 200, 600][rng.random_range(0..3)];
        let faults = draw_faults(&mut rng, safety);
        JsParams {
            seed,
            clients,
            streams,
            safety,
            latency_min,
            latency_max,
            sync_latency_min,
            sync_latency_max,
            think_max,
            in_flight_max,
            segment_bytes_max,
            payload_bytes_max,
            faults,
        }
    }

    /// The line that replays this run, printed on failure.
    pub fn replay_line(&self) -> String {
        format!(
            "SWITCHBOARD_SEED={} cargo test -p switchboard-sim --test jetstream -- --nocapture   \
             (or: cargo run -p switchboard-sim -- --jetstream --seed {})",
            self.seed, self.seed
        )
    }
}

/// Stream 0 is the plain one (no limits, never purged or deleted): every acked message of it
/// must survive every restart. The others draw limits.
fn draw_stream(rng: &mut ChaCha8Rng, index: u32) -> StreamPlan {
    let mut plan = StreamPlan {
        name: format!("S{index}"),
        max_msgs: 0,
        max_msgs_per_subject: 0,
        max_bytes: 0,
        discard_new: false,
        max_age: 0,
        duplicate_window: rng.random_range(500..4000) * 1_000_000,
        admin: false,
    };
    if index == 0 {
        return plan;
    }
    plan.admin = rng.random_bool(0.6);
    match rng.random_range(0..6) {
        0 => plan.max_msgs = rng.random_range(3..40),
        1 => plan.max_msgs_per_subject = rng.random_range(1..6),
        2 => plan.max_bytes = rng.random_range(400..6000),
        3 => {}
        4 => {
            plan.max_msgs = rng.random_range(5..60);
            plan.max_msgs_per_subject = rng.random_range(1..8);
            plan.max_bytes = rng.random_range(1000..20_000);
        }
        _ => plan.max_msgs = rng.random_range(3..40),
    }
    plan.discard_new = rng.random_bool(0.4);
    if rng.random_bool(0.5) {
        plan.max_age = rng.random_range(800..5000) * 1_000_000;
        // nats-server refuses a duplicate window longer than max_age.
        plan.duplicate_window = plan.duplicate_window.min(plan.max_age);
    }
    plan
}

/// The fault plan: each kind on with some probability (a swarm), at random times in the
/// safety phase. A crash always happens at the end too (see the host); these are the others.
fn draw_faults(rng: &mut ChaCha8Rng, safety: SimTime) -> Vec<(SimTime, FaultAction)> {
    let mut faults = Vec::new();
    let crashes = rng.random_range(0..=4);
    let tearing = rng.random_bool(0.6);
    let flips = rng.random_bool(0.4);
    for _ in 0..crashes {
        let kind = match rng.random_range(0..3) {
            0 => CrashKind::ProcessKill,
            1 => CrashKind::PowerLoss,
            _ if tearing => CrashKind::PowerLossTearing,
            _ => CrashKind::PowerLoss,
        };
        let action = FaultAction::Crash {
            kind,
            downtime: rng.random_range(10 * MILLIS..800 * MILLIS),
            flips: if flips { rng.random_range(0..=2) } else { 0 },
            drop_in_flight: rng.random_bool(0.5),
            at_sync: rng.random_bool(0.7),
        };
        faults.push((rng.random_range(200 * MILLIS..safety), action));
    }
    if rng.random_bool(0.5) {
        for _ in 0..rng.random_range(1..=2) {
            let length = rng.random_range(50 * MILLIS..1500 * MILLIS);
            faults.push((
                rng.random_range(0..safety),
                FaultAction::DiskFull { length },
            ));
        }
    }
    if rng.random_bool(0.4) {
        for _ in 0..rng.random_range(1..=2) {
            faults.push((rng.random_range(0..safety), FaultAction::SyncError));
        }
    }
    if rng.random_bool(0.4) {
        for _ in 0..rng.random_range(1..=4) {
            faults.push((rng.random_range(0..safety), FaultAction::MisdirectRead));
        }
    }
    if rng.random_bool(0.6) {
        for _ in 0..rng.random_range(1..=4) {
            let by = rng.random_range(-8_000..8_000i64) * 1_000_000;
            faults.push((rng.random_range(0..safety), FaultAction::WallJump { by }));
        }
    }
    faults.sort_by_key(|(at, _)| *at);
    faults
}

fn ms(nanos: SimTime) -> String {
    format!("{:.3}ms", nanos as f64 / 1e6)
}

impl fmt::Display for FaultAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultAction::Crash {
                kind,
                downtime,
                flips,
                drop_in_flight,
                at_sync,
            } => write!(
                f,
                "crash {kind:?} down {} flips {flips} drop_in_flight {drop_in_flight}{}",
                ms(*downtime),
                if *at_sync { " at a sync" } else { "" }
            ),
            FaultAction::DiskFull { length } => write!(f, "disk full for {}", ms(*length)),
            FaultAction::SyncError => f.write_str("next sync fails"),
            FaultAction::MisdirectRead => f.write_str("next read misdirected"),
            FaultAction::WallJump { by } => write!(f, "wall clock jumps {}ms", by / 1_000_000),
        }
    }
}

impl fmt::Display for JsParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let streams: Vec<String> = self.streams.iter().map(ToString::to_string).collect();
        let faults: Vec<String> = self
            .faults
            .iter()
            .map(|(at, action)| format!("{}: {action}", ms(*at)))
            .collect();
        write!(
            f,
            "seed={} clients={} streams=[{}] safety={} latency={}..{} sync={}..{} think_max={} \
             in_flight_max={} segment_bytes_max={} payload_bytes_max={} faults=[{}]",
            self.seed,
            self.clients,
            streams.join(" "),
            ms(self.safety),
            ms(self.latency_min),
            ms(self.latency_max),
            ms(self.sync_latency_min),
            ms(self.sync_latency_max),
            ms(self.think_max),
            self.in_flight_max,
            self.segment_bytes_max,
            self.payload_bytes_max,
            faults.join("; "),
        )
    }
}

/// A duration for display.
pub fn duration(nanos: SimTime) -> Duration {
    Duration::from_nanos(nanos)
}
