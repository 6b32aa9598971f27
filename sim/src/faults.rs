//! The fault plan: what the nemesis does to the run, drawn from the `faults` stream.
//!
//! Kinds (each on or off per seed in swarm mode, see `Params::faults`):
//! - **Partition**: a client and a server cannot reach each other; segments in flight are lost,
//!   so a TCP stream across it is broken for good (turmoil TCP has no retransmission).
//! - **Hold**: a client and a server's segments are held, then all delivered on release.
//! - **Latency**: a client–server link's latency rises to hundreds of milliseconds.
//! - **Loss**: a client–server link drops segments at random (breaking streams across it).
//! - **Disconnect**: a client drops its connection abruptly, then reconnects.
//! - **Bounce**: a server crashes (every connection gone) and restarts later, empty.
//! - **ClockJump** / **ClockDrift**: a server's wall clock jumps; its clocks run fast or slow
//!   (drift is drawn once per host, see `clock.rs`).
//! - **SlowReader**: a client stops reading while traffic for it piles up (`client/slow.rs`).
//!
//! Every fault is healed when the safety phase ends ([`heal`]).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use rand::seq::IndexedRandom;
use rand::Rng;
use switchboard::Seed;
use turmoil::Sim;

use crate::client::slow::SLOW_PAYLOAD_BYTES;
use crate::client::Control;
use crate::clock::HostClock;
use crate::history::{Event, FaultKind, Recorder};
use crate::params::Params;
use crate::server::ServerHost;

/// How long a slow reader stops reading: the write deadline plus time to fill the TCP window
/// and the budget, with margin.
pub fn slow_reader_length(params: &Params) -> Duration {
    params.config.write_deadline + Duration::from_secs(3)
}

/// One step of the plan.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Partition {
        client: u32,
        server: u32,
        on: bool,
    },
    Hold {
        client: u32,
        server: u32,
        on: bool,
    },
    /// `Some(max)` raises the link's maximum latency; `None` restores the base.
    Latency {
        client: u32,
        server: u32,
        max: Option<Duration>,
    },
    /// `Some(rate)` makes the link lose segments; `None` stops it.
    Loss {
        client: u32,
        server: u32,
        rate: Option<f64>,
    },
    Disconnect {
        client: u32,
    },
    Crash {
        server: u32,
    },
    Restart {
        server: u32,
    },
    ClockJump {
        server: u32,
        nanos: i64,
    },
    Slow {
        client: u32,
        length: Duration,
    },
}

/// An action and when it happens (from the start of the run).
#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    pub at: Duration,
    pub action: Action,
}

/// Every fault of a run, in time order.
#[derive(Clone, Debug, Default)]
pub struct FaultPlan {
    pub actions: Vec<Planned>,
}

impl FaultPlan {
    pub fn draw(params: &Params) -> FaultPlan {
        let mut rng = Seed(params.seed).stream("faults");
        let kinds: Vec<FaultKind> = params
            .faults
            .iter()
            .copied()
            .filter(|&k| k != FaultKind::ClockDrift)
            .collect();
        let mut actions = Vec::new();
        if kinds.is_empty() {
            return FaultPlan { actions };
        }
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let latest = ms(params.safety).saturating_sub(1_000);
        for _ in 0..params.fault_count {
            let kind = *kinds.choose(&mut rng).expect("kinds is not empty");
            let client = rng.random_range(0..params.clients);
            let server = rng.random_range(0..params.servers);
            let start = rng.random_range(300..latest.max(301));
            let length = Duration::from_millis(rng.random_range(200..=3_000));
            let at = Duration::from_millis(start);
            let end = (at + length).min(params.safety);
            let mut window = |on: Action, off: Action| {
                actions.push(Planned { at, action: on });
                actions.push(Planned {
                    at: end,
                    action: off,
                });
            };
            match kind {
                FaultKind::Partition => window(
                    Action::Partition {
                        client,
                        server,
                        on: true,
                    },
                    Action::Partition {
                        client,
                        server,
                        on: false,
                    },
                ),
                FaultKind::Hold => window(
                    Action::Hold {
                        client,
                        server,
                        on: true,
                    },
                    Action::Hold {
                        client,
                        server,
                        on: false,
                    },
                ),
                FaultKind::Latency => {
                    let max = Duration::from_millis(rng.random_range(100..=800));
                    window(
                        Action::Latency {
                            client,
                            server,
                            max: Some(max),
                        },
                        Action::Latency {
                            client,
                            server,
                            max: None,
                        },
                    )
                }
                FaultKind::Loss => {
                    let rate = rng.random_range(0.005..0.05);
                    window(
                        Action::Loss {
                            client,
                            server,
                            rate: Some(rate),
                        },
                        Action::Loss {
                            client,
                            server,
                            rate: None,
                        },
                    )
                }
                FaultKind::Bounce => window(Action::Crash { server }, Action::Restart { server }),
                FaultKind::Disconnect => actions.push(Planned {
                    at,
                    action: Action::Disconnect { client },
                }),
                FaultKind::ClockJump => {
                    let seconds = rng.random_range(1..=3_600i64);
                    let sign = if rng.random_bool(0.5) { 1 } else { -1 };
                    actions.push(Planned {
                        at,
                        action: Action::ClockJump {
                            server,
                            nanos: sign * seconds * 1_000_000_000,
                        },
                    });
                }
                FaultKind::SlowReader => {
                    let length = slow_reader_length(params);
                    // It must be over (and the cut-off seen) before the safety phase ends.
                    let last = params
                        .safety
                        .saturating_sub(length + Duration::from_millis(2_500));
                    if last > Duration::from_millis(300) {
                        let at = Duration::from_millis(rng.random_range(300..=ms(last)));
                        actions.push(Planned {
                            at,
                            action: Action::Slow { client, length },
                        });
                    }
                }
                FaultKind::ClockDrift => unreachable!("drift is not planned, it is drawn per host"),
            }
        }
        actions.sort_by_key(|p| p.at);
        FaultPlan { actions }
    }
}

/// The state the nemesis left a client–server link in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    Healthy,
    Partitioned,
    Held,
}

/// What the nemesis acts on.
pub struct Targets<'a> {
    /// Links the nemesis partitioned or held (absent: healthy).
    pub links: RefCell<BTreeMap<(u32, u32), Link>>,
    pub recorder: &'a Recorder,
    pub controls: &'a [Rc<RefCell<Control>>],
    pub servers: &'a [Arc<ServerHost>],
    pub clocks: &'a [Arc<HostClock>],
    pub base_latency_max: Duration,
}

pub fn client_name(client: u32) -> String {
    format!("client{client}")
}

/// Applies one action to the simulation and records it.
pub fn apply(sim: &mut Sim<'_>, targets: &Targets<'_>, action: &Action) {
    let c = client_name;
    let s = ServerHost::name_of;
    let record = |kind, on, client: Option<u32>, server: Option<u32>, detail: String| {
        targets.recorder.record(Event::Fault {
            kind,
            on,
            client,
            server,
            detail,
        });
    };
    match *action {
        Action::Partition { client, server, on } => {
            targets.links.borrow_mut().insert(
                (client, server),
                if on { Link::Partitioned } else { Link::Healthy },
            );
            if on {
                sim.partition(c(client), s(server));
            } else {
                sim.repair(c(client), s(server));
            }
            record(
                FaultKind::Partition,
                on,
                Some(client),
                Some(server),
                String::new(),
            );
        }
        Action::Hold { client, server, on } => {
            targets.links.borrow_mut().insert(
                (client, server),
                if on { Link::Held } else { Link::Healthy },
            );
            if on {
                sim.hold(c(client), s(server));
            } else {
                sim.release(c(client), s(server));
            }
            record(
                FaultKind::Hold,
                on,
                Some(client),
                Some(server),
                String::new(),
            );
        }
        Action::Latency {
            client,
            server,
            max,
        } => {
            let value = max.unwrap_or(targets.base_latency_max);
            sim.set_link_max_message_latency(c(client), s(server), value);
            record(
                FaultKind::Latency,
                max.is_some(),
                Some(client),
                Some(server),
                format!("max {value:?}"),
            );
        }
        Action::Loss {
            client,
            server,
            rate,
        } => {
            sim.set_link_fail_rate(c(client), s(server), rate.unwrap_or(0.0));
            record(
                FaultKind::Loss,
                rate.is_some(),
                Some(client),
                Some(server),
                format!("rate {:.3}", rate.unwrap_or(0.0)),
            );
        }
        Action::Disconnect { client } => {
            let control = &targets.controls[client as usize];
            if !control.borrow().healed {
                control.borrow_mut().disconnect = true;
                record(
                    FaultKind::Disconnect,
                    true,
                    Some(client),
                    None,
                    String::new(),
                );
            }
        }
        Action::Crash { server } => {
            if sim.is_host_running(s(server)) {
                targets.recorder.record(Event::ServerCrashed { server });
                crash(sim, targets, server);
                record(FaultKind::Bounce, true, None, Some(server), "crash".into());
            }
        }
        Action::Restart { server } => {
            if !sim.is_host_running(s(server)) {
                record(
                    FaultKind::Bounce,
                    false,
                    None,
                    Some(server),
                    "restart".into(),
                );
                sim.bounce(s(server));
            }
        }
        Action::ClockJump { server, nanos } => {
            targets.clocks[server as usize].jump(nanos);
            record(
                FaultKind::ClockJump,
                true,
                None,
                Some(server),
                format!("{:+}s", nanos / 1_000_000_000),
            );
        }
        Action::Slow { client, length } => {
            let control = &targets.controls[client as usize];
            if !control.borrow().healed {
                control.borrow_mut().slow = Some(length);
                record(
                    FaultKind::SlowReader,
                    true,
                    Some(client),
                    None,
                    format!("{length:?}, {SLOW_PAYLOAD_BYTES} B messages"),
                );
            }
        }
    }
}

/// Crashes `server` as a machine losing power: its connections die silently.
///
/// turmoil crashes a host by dropping its tokio runtime, whose tasks (and their sockets) drop
/// in an order that depends on tokio's process-wide task ids, so FIN/RST segments sent while
/// dropping would reach the network in an order that differs between runs in one process (and
/// each send draws a latency from turmoil's shared RNG). The server's links are therefore cut
/// while it goes down, so nothing it sends while dying gets out, then put back as the nemesis
/// had them. Clients learn of the crash as after a power loss: a reset when they next write
/// (the restarted host has no such socket), or a flush timing out.
fn crash(sim: &mut Sim<'_>, targets: &Targets<'_>, server: u32) {
    let clients = targets.controls.len() as u32;
    let name = ServerHost::name_of(server);
    for client in 0..clients {
        sim.partition(client_name(client), name.as_str());
    }
    sim.crash(name.as_str());
    let links = targets.links.borrow();
    for client in 0..clients {
        match links
            .get(&(client, server))
            .copied()
            .unwrap_or(Link::Healthy)
        {
            Link::Healthy => sim.repair(client_name(client), name.as_str()),
            Link::Partitioned => {}
            Link::Held => sim.hold(client_name(client), name.as_str()),
        }
    }
}

/// Ends the safety phase: every link healthy (held segments delivered), base latency, no loss,
/// every crashed server restarted, and clients told to ignore the nemesis from now on.
pub fn heal(sim: &mut Sim<'_>, targets: &Targets<'_>) {
    for control in targets.controls {
        let mut control = control.borrow_mut();
        control.healed = true;
        control.disconnect = false;
        control.slow = None;
    }
    for client in 0..targets.controls.len() as u32 {
        for server in 0..targets.servers.len() as u32 {
            let (c, s) = (client_name(client), ServerHost::name_of(server));
            sim.release(c.as_str(), s.as_str());
            sim.set_link_fail_rate(c.as_str(), s.as_str(), 0.0);
            sim.set_link_max_message_latency(c.as_str(), s.as_str(), targets.base_latency_max);
        }
    }
    for server in 0..targets.servers.len() as u32 {
        if !sim.is_host_running(ServerHost::name_of(server)) {
            sim.bounce(ServerHost::name_of(server));
        }
    }
    targets.links.borrow_mut().clear();
    targets.recorder.record(Event::Healed);
}
