//! Config reload (SIGHUP): apply what can change on a running server, refuse the rest.
//!
//! As nats-server (server/reload.go): the new config is compared with the running one field
//! by field; if any field that cannot change live differs, nothing is applied and the error
//! names the first such field with Go's field name (`config reload not supported for
//! ServerName: old=a, new=b`). Otherwise every change is applied and logged as
//! `Reloaded: <key> = <value>`.
//!
//! What changes live: limits (`max_payload`, `max_control_line`, `max_connections`),
//! `ping_interval`, `ping_max`, `write_deadline`, the authorization settings. Clients already
//! connected are checked against new credentials and closed (Authorization Violation) when
//! theirs no longer hold, as nats-server's `reloadAuthorization` does.

use super::*;
use crate::config::{go_duration, User};
use crate::session::auth::{self, AuthCheck};

impl Broker {
    /// Applies `new` if only live-changeable fields differ; returns the log lines of what
    /// changed, or nats-server's error naming what cannot change.
    pub fn reload(&mut self, now: Now, new: Config) -> Result<Vec<String>, String> {
        self.now = now;
        refuse_fixed_changes(&self.config, &new)?;
        let old = std::mem::replace(&mut self.config, new);
        let changes = describe_changes(&old, &self.config);
        if old.payload_bytes_max != self.config.payload_bytes_max
            || old.control_line_bytes_max != self.config.control_line_bytes_max
        {
            let (payload, line) = (
                self.config.payload_bytes_max as usize,
                self.config.control_line_bytes_max as usize,
            );
            for session in self.sessions.values_mut() {
                session.parser.set_payload_bytes_max(payload);
                session.parser.set_control_line_bytes_max(line);
            }
        }
        if old.auth != self.config.auth {
            self.recheck_credentials(&old.auth);
        }
        Ok(changes)
    }

    /// Closes connected clients whose credentials the new auth settings refuse. A client
    /// whose user entry (or token) did not change keeps its earlier verdict; a changed bcrypt
    /// entry is verified again off the driver's thread.
    fn recheck_credentials(&mut self, old: &AuthConfig) {
        let mut conns: Vec<ConnId> = self
            .sessions
            .values()
            .filter(|s| s.phase == Phase::Connected)
            .map(|s| s.id)
            .collect();
        conns.sort_unstable();
        for conn in conns {
            let Some(session) = self.sessions.get(&conn) else {
                continue;
            };
            let options = &session.options;
            let user = options.user.as_deref();
            if same_credentials(old, &self.config.auth, user) {
                continue;
            }
            let check = auth::check(
                &self.config.auth,
                user,
                options.pass.as_deref(),
                options.auth_token.as_deref(),
            );
            match check {
                AuthCheck::Allowed => {}
                AuthCheck::Denied => self.auth_violation(conn),
                AuthCheck::Bcrypt { password, hash } => {
                    self.outputs.push_back(Output::Work(Work {
                        conn,
                        recheck: true,
                        password,
                        hash,
                    }))
                }
            }
        }
    }
}

/// Whether a client that was allowed under `old` is still allowed under `new` without
/// checking again: the same mode and the same secret for it.
fn same_credentials(old: &AuthConfig, new: &AuthConfig, user: Option<&str>) -> bool {
    match (old, new) {
        (AuthConfig::None, AuthConfig::None) => true,
        (AuthConfig::Token(a), AuthConfig::Token(b)) => a == b,
        (AuthConfig::Users(a), AuthConfig::Users(b)) => {
            let find = |users: &[User]| {
                users
                    .iter()
                    .find(|u| Some(u.user.as_str()) == user)
                    .cloned()
            };
            let before = find(a);
            before.is_some() && before == find(b)
        }
        _ => false,
    }
}

/// nats-server's refusal for fields that cannot change on a running server, named by its Go
/// option field.
fn refuse_fixed_changes(old: &Config, new: &Config) -> Result<(), String> {
    fn refuse(field: &str, old: impl std::fmt::Display, new: impl std::fmt::Display) -> String {
        format!("config reload not supported for {field}: old={old}, new={new}")
    }
    if old.host != new.host {
        return Err(refuse("Host", &old.host, &new.host));
    }
    // Port 0 on reload means "what was picked at start" (nats-server ignores RANDOM_PORT).
    if old.port != new.port && new.port != 0 {
        return Err(refuse("Port", old.port, new.port));
    }
    if old.server_name != new.server_name {
        return Err(refuse("ServerName", &old.server_name, &new.server_name));
    }
    if old.pending_bytes_max != new.pending_bytes_max {
        return Err(refuse(
            "MaxPending",
            old.pending_bytes_max,
            new.pending_bytes_max,
        ));
    }
    if old.subscriptions_max != new.subscriptions_max {
        return Err(refuse(
            "MaxSubs",
            old.subscriptions_max,
            new.subscriptions_max,
        ));
    }
    if old.lame_duck_duration != new.lame_duck_duration {
        return Err(refuse(
            "LameDuckDuration",
            go_duration(old.lame_duck_duration),
            go_duration(new.lame_duck_duration),
        ));
    }
    if old.lame_duck_grace_period != new.lame_duck_grace_period {
        return Err(refuse(
            "LameDuckGracePeriod",
            go_duration(old.lame_duck_grace_period),
            go_duration(new.lame_duck_grace_period),
        ));
    }
    Ok(())
}

/// `Reloaded: ...` lines, worded as nats-server's option `Apply` methods log them.
fn describe_changes(old: &Config, new: &Config) -> Vec<String> {
    let mut lines = Vec::new();
    if old.payload_bytes_max != new.payload_bytes_max {
        lines.push(format!("Reloaded: max_payload = {}", new.payload_bytes_max));
    }
    if old.control_line_bytes_max != new.control_line_bytes_max {
        lines.push(format!(
            "Reloaded: max_control_line = {}",
            new.control_line_bytes_max
        ));
    }
    if old.connections_max != new.connections_max {
        lines.push(format!(
            "Reloaded: max_connections = {}",
            new.connections_max
        ));
    }
    if old.ping_interval != new.ping_interval {
        lines.push(format!(
            "Reloaded: ping_interval = {}",
            go_duration(new.ping_interval)
        ));
    }
    if old.pings_outstanding_max != new.pings_outstanding_max {
        lines.push(format!(
            "Reloaded: ping_max = {}",
            new.pings_outstanding_max
        ));
    }
    if old.write_deadline != new.write_deadline {
        lines.push(format!(
            "Reloaded: write_deadline = {}",
            go_duration(new.write_deadline)
        ));
    }
    if old.auth_timeout != new.auth_timeout {
        lines.push(format!(
            "Reloaded: authorization timeout = {}",
            old_go_seconds(new.auth_timeout)
        ));
    }
    match (&old.auth, &new.auth) {
        (a, b) if a == b => {}
        (_, AuthConfig::Token(_)) | (AuthConfig::Token(_), _) => {
            lines.push("Reloaded: authorization token".to_string())
        }
        _ => lines.push("Reloaded: authorization users".to_string()),
    }
    lines
}

/// nats-server logs the auth timeout as a float of seconds (`%v` of a float64).
fn old_go_seconds(d: Duration) -> String {
    let seconds = d.as_secs_f64();
    if seconds.fract() == 0.0 {
        format!("{}", seconds as u64)
    } else {
        format!("{seconds}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(list: &[(&str, &str)]) -> AuthConfig {
        AuthConfig::Users(
            list.iter()
                .map(|(user, password)| User {
                    user: user.to_string(),
                    password: password.to_string(),
                })
                .collect(),
        )
    }

    #[test]
    fn fixed_fields_are_refused_by_their_go_names() {
        let old = Config::default();
        let renamed = Config {
            server_name: "b".into(),
            ..Config::default()
        };
        assert_eq!(
            refuse_fixed_changes(&old, &renamed),
            Err("config reload not supported for ServerName: old=, new=b".into())
        );
        let pending = Config {
            pending_bytes_max: 1,
            ..Config::default()
        };
        assert_eq!(
            refuse_fixed_changes(&old, &pending),
            Err("config reload not supported for MaxPending: old=67108864, new=1".into())
        );
        let ping = Config {
            ping_interval: Duration::from_secs(30),
            payload_bytes_max: 2048,
            ..Config::default()
        };
        assert_eq!(refuse_fixed_changes(&old, &ping), Ok(()));
        assert_eq!(
            describe_changes(&old, &ping),
            [
                "Reloaded: max_payload = 2048",
                "Reloaded: ping_interval = 30s"
            ]
        );
    }

    #[test]
    fn unchanged_user_entries_keep_their_verdict() {
        let before = users(&[("a", "x"), ("b", "y")]);
        let after = users(&[("a", "x"), ("b", "z")]);
        assert!(same_credentials(&before, &after, Some("a")));
        assert!(!same_credentials(&before, &after, Some("b")));
        assert!(!same_credentials(&before, &after, Some("c")));
        assert!(!same_credentials(&AuthConfig::None, &after, Some("a")));
        assert!(same_credentials(
            &AuthConfig::Token("t".into()),
            &AuthConfig::Token("t".into()),
            None
        ));
    }
}
