//! The INFO a server sends to clients.
//!
//! Field order, names and omissions follow nats-server's `Info` struct (server/server.go),
//! limited to what a client connection can see: route, gateway and leafnode fields are left
//! out. Strings are escaped like Go's encoding/json (`<`, `>`, `&`, U+2028, U+2029 as `\u....`)
//! so the bytes match nats-server's exactly.

use std::io;

use bytes::{BufMut, BytesMut};
use serde::Serialize;

/// The client protocol version nats-server announces (ClientProtoInfo).
pub const PROTO: i32 = 1;

/// INFO fields. Fields with `skip_serializing_if` are Go `omitempty` fields: absent when
/// false, zero or empty. The others are always present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerInfo {
    pub server_id: String,
    pub server_name: String,
    pub version: String,
    pub proto: i32,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub git_commit: String,
    /// nats-server's Go version; always present there. No client we know reads it (async-nats
    /// and nats.go parse it into a plain string), so any value works; empty is fine.
    pub go: String,
    pub host: String,
    pub port: u16,
    pub headers: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub auth_required: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_required: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_verify: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub tls_available: bool,
    pub max_payload: u32,
    #[serde(skip_serializing_if = "is_false")]
    pub jetstream: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ip: String,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub client_id: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_ip: String,
    /// For nkey/JWT authentication.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub nonce: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    #[serde(skip_serializing_if = "is_false")]
    pub cluster_dynamic: bool,
    /// JetStream domain.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub domain: String,
    /// Other servers of the cluster a client may reconnect to (`host:port`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connect_urls: Vec<String>,
    /// Lame duck mode: the server is about to shut down.
    #[serde(rename = "ldm", skip_serializing_if = "is_false")]
    pub lame_duck_mode: bool,
    /// Set on the INFO nats-server sends after the first PONG to a client whose CONNECT had
    /// `protocol` ≥ 1 (it also carries `remote_account`).
    #[serde(skip_serializing_if = "is_false")]
    pub connect_info: bool,
    /// The account the client is bound to (`$G` for the global account).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub remote_account: String,
    #[serde(rename = "acc_is_sys", skip_serializing_if = "is_false")]
    pub is_system_account: bool,
    /// JetStream API level (3 on nats-server 2.12).
    #[serde(rename = "api_lvl", skip_serializing_if = "is_zero_u32")]
    pub api_level: u32,
    /// The server's x25519 public key, for encrypted auth callouts.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub xkey: String,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

impl Default for ServerInfo {
    /// Empty strings and flags off, except what every nats-server 2.x announces:
    /// `proto` 1, `headers` true, `max_payload` 1 MiB.
    fn default() -> ServerInfo {
        ServerInfo {
            server_id: String::new(),
            server_name: String::new(),
            version: String::new(),
            proto: PROTO,
            git_commit: String::new(),
            go: String::new(),
            host: String::new(),
            port: 0,
            headers: true,
            auth_required: false,
            tls_required: false,
            tls_verify: false,
            tls_available: false,
            max_payload: 1024 * 1024,
            jetstream: false,
            ip: String::new(),
            client_id: 0,
            client_ip: String::new(),
            nonce: String::new(),
            cluster: String::new(),
            cluster_dynamic: false,
            domain: String::new(),
            connect_urls: Vec::new(),
            lame_duck_mode: false,
            connect_info: false,
            remote_account: String::new(),
            is_system_account: false,
            api_level: 0,
            xkey: String::new(),
        }
    }
}

impl ServerInfo {
    /// Appends the JSON object (no `INFO ` prefix; see [`super::encode::info`]).
    pub fn write_json(&self, out: &mut BytesMut) {
        let mut serializer = serde_json::Serializer::with_formatter(out.writer(), GoFormatter);
        self.serialize(&mut serializer).expect(
            "strings, numbers and bools always serialize, and BytesMut never fails a write",
        );
    }
}

/// serde_json's compact output plus the HTML-safe escapes Go's encoding/json adds. Control
/// characters already agree: both write `\b \f \n \r \t` short and the rest as `\u00xx`.
struct GoFormatter;

impl serde_json::ser::Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let escape: &[u8] = match c {
                '<' => b"\\u003c",
                '>' => b"\\u003e",
                '&' => b"\\u0026",
                '\u{2028}' => b"\\u2028",
                '\u{2029}' => b"\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..i])?;
            writer.write_all(escape)?;
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(info: &ServerInfo) -> String {
        let mut out = BytesMut::new();
        info.write_json(&mut out);
        String::from_utf8(out.to_vec()).expect("serde_json writes UTF-8")
    }

    fn like_nats_server() -> ServerInfo {
        ServerInfo {
            server_id: "NASRDSQ".into(),
            server_name: "NASRDSQ".into(),
            version: "2.12.8".into(),
            git_commit: "b692325".into(),
            go: "go1.26.2".into(),
            host: "127.0.0.1".into(),
            port: 39800,
            client_id: 6,
            client_ip: "127.0.0.1".into(),
            api_level: 3,
            xkey: "XCDY".into(),
            ..ServerInfo::default()
        }
    }

    #[test]
    fn greeting_matches_nats_server_2_12_8() {
        // Captured from nats-server 2.12.8 (ids shortened).
        assert_eq!(
            json(&like_nats_server()),
            r#"{"server_id":"NASRDSQ","server_name":"NASRDSQ","version":"2.12.8","proto":1,"git_commit":"b692325","go":"go1.26.2","host":"127.0.0.1","port":39800,"headers":true,"max_payload":1048576,"client_id":6,"client_ip":"127.0.0.1","api_lvl":3,"xkey":"XCDY"}"#
        );
    }

    #[test]
    fn connect_info_and_auth_match_nats_server_2_12_8() {
        let info = ServerInfo {
            connect_info: true,
            remote_account: "$G".into(),
            ..like_nats_server()
        };
        assert!(json(&info).ends_with(
            r#""client_ip":"127.0.0.1","connect_info":true,"remote_account":"$G","api_lvl":3,"xkey":"XCDY"}"#
        ));
        let info = ServerInfo {
            auth_required: true,
            ..like_nats_server()
        };
        assert!(
            json(&info).contains(r#""headers":true,"auth_required":true,"max_payload":1048576,"#)
        );
    }

    #[test]
    fn strings_are_escaped_like_go() {
        // nats-server 2.12.8 started with `-n 'srv&<x>'` sent "srv\u0026\u003cx\u003e".
        let info = ServerInfo {
            server_name: "srv&<x>\u{2028}\"\n".into(),
            jetstream: true,
            ..ServerInfo::default()
        };
        let text = json(&info);
        assert!(
            text.contains(r#""server_name":"srv\u0026\u003cx\u003e\u2028\"\n","#),
            "{text}"
        );
        assert!(
            text.contains(r#""max_payload":1048576,"jetstream":true}"#),
            "{text}"
        );
    }

    #[test]
    fn optional_fields_appear_when_set() {
        let info = ServerInfo {
            tls_required: true,
            connect_urls: vec!["10.0.0.1:4222".into()],
            lame_duck_mode: true,
            ..ServerInfo::default()
        };
        let text = json(&info);
        assert!(text.contains(r#""tls_required":true,"#));
        assert!(
            text.contains(r#""connect_urls":["10.0.0.1:4222"],"ldm":true}"#),
            "{text}"
        );
    }
}
