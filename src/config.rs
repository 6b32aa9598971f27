//! What a broker is told at construction. Every limit has a name ending in its unit and a
//! default equal to nats-server's (server/const.go, opts.go).

use std::time::Duration;

/// How clients must prove who they are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AuthConfig {
    /// Anyone may connect.
    #[default]
    None,
    /// CONNECT must carry `auth_token` equal to this.
    Token(String),
    /// CONNECT must carry `user`/`pass` matching one of these.
    Users(Vec<User>),
}

/// One user. `password` is plain text, or a bcrypt hash when it starts with `$2`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub user: String,
    pub password: String,
}

/// Broker configuration. `Config::default()` matches nats-server's defaults.
#[derive(Clone, Debug)]
pub struct Config {
    /// Shown as INFO `server_name`; defaults to the server id when empty.
    pub server_name: String,
    /// Shown as INFO `server_id`; generated from the seed when empty.
    pub server_id: String,
    /// Host and port shown in INFO (the runtime fills in what it bound).
    pub host: String,
    pub port: u16,
    /// Version reported in INFO. Clients gate features on it, so it is a nats-server version
    /// whose protocol we speak, not our crate version.
    pub version: String,
    pub payload_bytes_max: u32,
    pub control_line_bytes_max: u32,
    /// Outbound bytes a client may have queued (buffered plus being written) before it is cut
    /// off as a slow consumer.
    pub pending_bytes_max: u64,
    /// A write that has not finished in this time marks the client a slow consumer.
    pub write_deadline: Duration,
    pub ping_interval: Duration,
    /// Unanswered server PINGs after which the connection is closed as stale.
    pub pings_outstanding_max: u32,
    /// When auth is on, CONNECT must arrive within this time.
    pub auth_timeout: Duration,
    pub connections_max: u32,
    /// Subscriptions per connection; 0 is unlimited.
    pub subscriptions_max: u32,
    pub auth: AuthConfig,
    /// Lame duck mode closes clients over this time (nats-server `lame_duck_duration`).
    pub lame_duck_duration: Duration,
    /// Lame duck mode waits this long before it starts closing clients.
    pub lame_duck_grace_period: Duration,
}

impl Config {
    /// Refuses settings nats-server refuses, with its wording (server/opts.go).
    pub fn validate(&self) -> Result<(), String> {
        if u64::from(self.payload_bytes_max) > self.pending_bytes_max {
            return Err(format!(
                "max_payload ({}) cannot be higher than max_pending ({})",
                self.payload_bytes_max, self.pending_bytes_max
            ));
        }
        if !self.lame_duck_duration.is_zero()
            && self.lame_duck_grace_period >= self.lame_duck_duration
        {
            return Err(format!(
                "lame duck grace period ({}) should be strictly lower than lame duck duration ({})",
                go_duration(self.lame_duck_grace_period),
                go_duration(self.lame_duck_duration)
            ));
        }
        Ok(())
    }
}

/// A duration as Go's `time.Duration.String` prints it (`2m0s`, `1.5s`, `250ms`, `0s`), for
/// messages that must read like nats-server's.
pub fn go_duration(d: Duration) -> String {
    crate::conf::format_go_duration(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

impl Default for Config {
    fn default() -> Config {
        Config {
            server_name: String::new(),
            server_id: String::new(),
            host: "0.0.0.0".to_string(),
            port: 4222,
            version: "2.10.24".to_string(),
            payload_bytes_max: 1024 * 1024,
            control_line_bytes_max: 4096,
            pending_bytes_max: 64 * 1024 * 1024,
            write_deadline: Duration::from_secs(10),
            ping_interval: Duration::from_secs(120),
            pings_outstanding_max: 2,
            auth_timeout: Duration::from_secs(2),
            connections_max: 64 * 1024,
            subscriptions_max: 0,
            auth: AuthConfig::None,
            lame_duck_duration: Duration::from_secs(120),
            lame_duck_grace_period: Duration::from_secs(10),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_go() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(7), "7ns"),
            (Duration::from_micros(2), "2µs"),
            (Duration::from_micros(1500), "1.5ms"),
            (Duration::from_millis(250), "250ms"),
            (Duration::from_secs(10), "10s"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_secs(120), "2m0s"),
            (Duration::from_secs(3600), "1h0m0s"),
            (Duration::from_secs(3723), "1h2m3s"),
        ];
        for (d, text) in cases {
            assert_eq!(go_duration(d), text);
        }
    }

    #[test]
    fn lame_duck_grace_must_be_under_the_duration() {
        let config = Config {
            lame_duck_duration: Duration::from_secs(10),
            lame_duck_grace_period: Duration::from_secs(10),
            ..Config::default()
        };
        assert_eq!(
            config.validate(),
            Err("lame duck grace period (10s) should be strictly lower than lame duck duration (10s)".to_string())
        );
    }

    #[test]
    fn payload_above_pending_is_refused() {
        assert_eq!(Config::default().validate(), Ok(()));
        let config = Config {
            payload_bytes_max: 2048,
            pending_bytes_max: 1024,
            ..Config::default()
        };
        assert_eq!(
            config.validate(),
            Err("max_payload (2048) cannot be higher than max_pending (1024)".to_string())
        );
    }
}
