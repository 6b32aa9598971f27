//! nats-server's ports file: `<dir>/<executable>_<pid>.ports`, holding JSON such as
//! `{"nats":["nats://127.0.0.1:4222","nats://[::1]:4222"]}` (server.go `Ports`, `logPorts`).
//! Tools start a server with `-p -1 --ports_file_dir DIR` and read the file to find the port.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// Writes the ports file for a client listener bound to `addr` and returns its path, or logs
/// why it could not (as nats-server does, this is not fatal).
pub fn write_ports_file(
    dir: &Path,
    addr: SocketAddr,
    monitor: Option<SocketAddr>,
) -> Option<PathBuf> {
    let path = dir.join(ports_file_name());
    let mut body = serde_json::json!({ "nats": urls("nats", addr) });
    // nats-server lists the monitoring URLs too, when monitoring runs.
    if let Some(monitor) = monitor {
        body["monitoring"] = serde_json::json!(urls("http", monitor));
    }
    let body = body.to_string();
    match std::fs::write(&path, body) {
        Ok(()) => Some(path),
        Err(error) => {
            tracing::error!("Error writing ports file ({}): {error}", path.display());
            None
        }
    }
}

/// `<executable>_<pid>.ports`, the executable's base name taken from argv[0] as Go does.
fn ports_file_name() -> String {
    let exe = std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "switchboard".to_string());
    format!("{exe}_{}.ports", std::process::id())
}

/// The URLs clients can use: the bound address, or, when bound to every interface, one URL per
/// address of every interface (nats-server's `resolveHostPorts`), IPv4 and IPv6 alike.
fn urls(scheme: &str, addr: SocketAddr) -> Vec<String> {
    let ips = if addr.ip().is_unspecified() {
        interface_ips()
    } else {
        vec![addr.ip()]
    };
    ips.into_iter()
        .map(|ip| format!("{scheme}://{}", SocketAddr::new(ip, addr.port())))
        .collect()
}

/// Every address of every interface, ordered by interface index (as Go's `net.Interfaces`),
/// loopback standing in when they cannot be listed.
fn interface_ips() -> Vec<IpAddr> {
    let ips = interfaces::addresses();
    if ips.is_empty() {
        vec![IpAddr::from([127, 0, 0, 1])]
    } else {
        ips
    }
}

#[cfg(unix)]
mod interfaces {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    pub fn addresses() -> Vec<IpAddr> {
        let mut found: Vec<(u32, IpAddr)> = Vec::new();
        let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
        // SAFETY: getifaddrs fills `list` with a linked list we own until freeifaddrs.
        if unsafe { libc::getifaddrs(&mut list) } != 0 {
            return Vec::new();
        }
        let mut node = list;
        while !node.is_null() {
            // SAFETY: `node` is a non-null entry of the list getifaddrs returned, not yet freed.
            let entry = unsafe { &*node };
            node = entry.ifa_next;
            if entry.ifa_addr.is_null() {
                continue;
            }
            // SAFETY: ifa_addr is non-null and points to a sockaddr whose family tells its
            // real type; we read the matching sockaddr_in / sockaddr_in6 only.
            let ip = unsafe {
                match i32::from((*entry.ifa_addr).sa_family) {
                    libc::AF_INET => {
                        let sin = &*(entry.ifa_addr as *const libc::sockaddr_in);
                        IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)))
                    }
                    libc::AF_INET6 => {
                        let sin6 = &*(entry.ifa_addr as *const libc::sockaddr_in6);
                        IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr))
                    }
                    _ => continue,
                }
            };
            // SAFETY: ifa_name is a NUL-terminated interface name owned by the list.
            let index = unsafe { libc::if_nametoindex(entry.ifa_name) };
            found.push((index, ip));
        }
        // SAFETY: `list` came from a successful getifaddrs and is freed once.
        unsafe { libc::freeifaddrs(list) };
        // Stable: within one interface the OS's order (IPv4 before IPv6) is kept.
        found.sort_by_key(|&(index, _)| index);
        found.into_iter().map(|(_, ip)| ip).collect()
    }
}

#[cfg(not(unix))]
mod interfaces {
    pub fn addresses() -> Vec<std::net::IpAddr> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_specific_address_is_the_only_url() {
        let addr: SocketAddr = "127.0.0.1:4222".parse().unwrap();
        assert_eq!(urls("nats", addr), vec!["nats://127.0.0.1:4222"]);
        let addr: SocketAddr = "[::1]:4222".parse().unwrap();
        assert_eq!(urls("nats", addr), vec!["nats://[::1]:4222"]);
    }

    #[test]
    fn every_interface_includes_loopback() {
        let addr: SocketAddr = "0.0.0.0:4222".parse().unwrap();
        let urls = urls("nats", addr);
        assert!(
            urls.iter().any(|u| u == "nats://127.0.0.1:4222"),
            "{urls:?}"
        );
    }
}
