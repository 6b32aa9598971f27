//! CONNECT options, decoded the way nats-server's Go code decodes them.
//!
//! nats-server unmarshals CONNECT into a struct that starts from `verbose`, `pedantic` and
//! `echo` all true (client.go `defaultOpts`), with Go's encoding/json rules; checked on
//! 2.12.8 and 2.9.10:
//! - keys match case-insensitively, a repeated key's last value wins, unknown keys are
//!   ignored, `null` leaves a field as it was, and a top-level `null` is accepted;
//! - a value of the wrong type (`"verbose":"yes"`, `"protocol":1.0`), text after the object,
//!   or anything that is not an object closes the connection with no `-ERR`;
//! - a second CONNECT is decoded over the first: fields it omits keep their earlier values
//!   (use [`ConnectOptions::update`]).
//!
//! What the session does next, in nats-server's order (client.go processConnect): check
//! credentials (`Authorization Violation`; also when `account` or `new_account` is set), then
//! [`ConnectOptions::check`], then `+OK` if verbose.
//!
//! Deviation: Go turns invalid UTF-8 inside strings into U+FFFD; we reject it.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

use super::errors::ErrText;

/// The CONNECT fields a client connection uses. Strings are `None` when absent, `null` or
/// empty (Go treats an empty string as "not given").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Reply `+OK` to every accepted op. Defaults to true.
    pub verbose: bool,
    /// Check publish subjects (`Invalid Publish Subject`). Defaults to true.
    pub pedantic: bool,
    /// Deliver the client's own messages to its subscriptions. Defaults to true.
    pub echo: bool,
    pub tls_required: bool,
    pub user: Option<String>,
    pub pass: Option<String>,
    pub auth_token: Option<String>,
    pub name: Option<String>,
    pub lang: Option<String>,
    pub version: Option<String>,
    /// 0 (original) or 1 (understands async INFO); anything else is rejected by `check`.
    pub protocol: i64,
    /// Obsolete account designation; nats-server answers `Authorization Violation` when set.
    pub account: Option<String>,
    /// Obsolete; `Authorization Violation` when true, like `account`.
    pub new_account: bool,
    pub headers: bool,
    pub no_responders: bool,
    pub sig: Option<String>,
    pub jwt: Option<String>,
    pub nkey: Option<String>,
}

impl Default for ConnectOptions {
    /// nats-server's options before any CONNECT (these also apply to ops sent before it).
    fn default() -> ConnectOptions {
        ConnectOptions {
            verbose: true,
            pedantic: true,
            echo: true,
            tls_required: false,
            user: None,
            pass: None,
            auth_token: None,
            name: None,
            lang: None,
            version: None,
            protocol: 0,
            account: None,
            new_account: false,
            headers: false,
            no_responders: false,
            sig: None,
            jwt: None,
            nkey: None,
        }
    }
}

/// CONNECT JSON that nats-server would not accept. It closes the connection without `-ERR`.
#[derive(Debug)]
pub struct ConnectError(serde_json::Error);

impl ConnectError {
    /// Always `None`: nats-server sends nothing before closing (kept for symmetry with
    /// [`ParseError::err_text`](super::ParseError::err_text)).
    pub fn err_text(&self) -> Option<ErrText> {
        None
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid CONNECT JSON: {}", self.0)
    }
}

impl std::error::Error for ConnectError {}

/// Decodes a first CONNECT's JSON argument over the defaults.
pub fn parse_connect(json: &[u8]) -> Result<ConnectOptions, ConnectError> {
    let mut options = ConnectOptions::default();
    options.update(json)?;
    Ok(options)
}

impl ConnectOptions {
    /// Decodes a CONNECT over these options, as nats-server does for a repeated CONNECT.
    /// On error the options may be partly updated; the connection is closing anyway.
    pub fn update(&mut self, json: &[u8]) -> Result<(), ConnectError> {
        let mut deserializer = serde_json::Deserializer::from_slice(json);
        Merge(self)
            .deserialize(&mut deserializer)
            .map_err(ConnectError)?;
        deserializer.end().map_err(ConnectError)
    }

    /// The checks nats-server makes after authentication (client.go processConnect): the
    /// protocol version, then no_responders requiring headers. Both errors close.
    pub fn check(&self) -> Result<(), ErrText> {
        if !(0..=1).contains(&self.protocol) {
            return Err(ErrText::InvalidClientProtocol);
        }
        if self.no_responders && !self.headers {
            return Err(ErrText::NoRespondersRequiresHeaders);
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for ConnectOptions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ConnectOptions, D::Error> {
        let mut options = ConnectOptions::default();
        Merge(&mut options).deserialize(deserializer)?;
        Ok(options)
    }
}

/// Decodes JSON over existing options with Go's rules (see the module docs).
struct Merge<'a>(&'a mut ConnectOptions);

impl<'de> DeserializeSeed<'de> for Merge<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Merge<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let o = self.0;
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Verbose => set(&mut o.verbose, map.next_value()?),
                Field::Pedantic => set(&mut o.pedantic, map.next_value()?),
                Field::Echo => set(&mut o.echo, map.next_value()?),
                Field::TlsRequired => set(&mut o.tls_required, map.next_value()?),
                Field::User => set_string(&mut o.user, map.next_value()?),
                Field::Pass => set_string(&mut o.pass, map.next_value()?),
                Field::AuthToken => set_string(&mut o.auth_token, map.next_value()?),
                Field::Name => set_string(&mut o.name, map.next_value()?),
                Field::Lang => set_string(&mut o.lang, map.next_value()?),
                Field::Version => set_string(&mut o.version, map.next_value()?),
                Field::Protocol => set(&mut o.protocol, map.next_value()?),
                Field::Account => set_string(&mut o.account, map.next_value()?),
                Field::NewAccount => set(&mut o.new_account, map.next_value()?),
                Field::Headers => set(&mut o.headers, map.next_value()?),
                Field::NoResponders => set(&mut o.no_responders, map.next_value()?),
                Field::Sig => set_string(&mut o.sig, map.next_value()?),
                Field::Jwt => set_string(&mut o.jwt, map.next_value()?),
                Field::Nkey => set_string(&mut o.nkey, map.next_value()?),
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// `null` (read as `None`) leaves the field alone, as Go does.
fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

fn set_string(slot: &mut Option<String>, value: Option<String>) {
    if let Some(value) = value {
        *slot = (!value.is_empty()).then_some(value);
    }
}

#[derive(Clone, Copy)]
enum Field {
    Verbose,
    Pedantic,
    Echo,
    TlsRequired,
    User,
    Pass,
    AuthToken,
    Name,
    Lang,
    Version,
    Protocol,
    Account,
    NewAccount,
    Headers,
    NoResponders,
    Sig,
    Jwt,
    Nkey,
    Other,
}

/// JSON names from client.go `ClientOpts`.
const FIELDS: [(&str, Field); 18] = [
    ("verbose", Field::Verbose),
    ("pedantic", Field::Pedantic),
    ("echo", Field::Echo),
    ("tls_required", Field::TlsRequired),
    ("user", Field::User),
    ("pass", Field::Pass),
    ("auth_token", Field::AuthToken),
    ("name", Field::Name),
    ("lang", Field::Lang),
    ("version", Field::Version),
    ("protocol", Field::Protocol),
    ("account", Field::Account),
    ("new_account", Field::NewAccount),
    ("headers", Field::Headers),
    ("no_responders", Field::NoResponders),
    ("sig", Field::Sig),
    ("jwt", Field::Jwt),
    ("nkey", Field::Nkey),
];

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Field, D::Error> {
        struct FieldVisitor;
        impl Visitor<'_> for FieldVisitor {
            type Value = Field;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }

            fn visit_str<E: de::Error>(self, key: &str) -> Result<Field, E> {
                // Go's encoding/json matches keys case-insensitively.
                let found = FIELDS
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(key));
                Ok(found.map_or(Field::Other, |&(_, field)| field))
            }
        }
        deserializer.deserialize_identifier(FieldVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn omitted_fields_take_nats_server_defaults() {
        let o = parse_connect(b"{}").expect("empty object is valid");
        assert_eq!(o, ConnectOptions::default());
        assert!(o.verbose && o.pedantic && o.echo);
        assert!(!o.headers && !o.no_responders && o.protocol == 0 && o.user.is_none());
    }

    #[test]
    fn typical_client_connect() {
        let json = br#"{"verbose":false,"pedantic":false,"lang":"rust","version":"0.51.0","protocol":1,"echo":false,"headers":true,"no_responders":true,"tls_required":false,"user":"a","pass":"b","auth_token":"t","name":"svc","sig":"s","jwt":"j","nkey":"k","extra":{"x":[1,2]}}"#;
        let o = parse_connect(json).expect("valid");
        assert!(!o.verbose && !o.pedantic && !o.echo && o.headers && o.no_responders);
        assert_eq!(o.protocol, 1);
        assert_eq!(o.lang.as_deref(), Some("rust"));
        assert_eq!(o.version.as_deref(), Some("0.51.0"));
        assert_eq!(
            (o.user.as_deref(), o.pass.as_deref()),
            (Some("a"), Some("b"))
        );
        assert_eq!(o.auth_token.as_deref(), Some("t"));
        assert_eq!(o.name.as_deref(), Some("svc"));
        assert_eq!(
            (o.sig.as_deref(), o.jwt.as_deref(), o.nkey.as_deref()),
            (Some("s"), Some("j"), Some("k"))
        );
        assert_eq!(o.check(), Ok(()));
    }

    #[test]
    fn go_json_leniencies() {
        // Each was accepted by nats-server 2.12.8 with the effect checked via +OK.
        assert!(parse_connect(b"null").expect("null is accepted").verbose);
        assert!(
            parse_connect(br#"{"verbose":null}"#)
                .expect("null field")
                .verbose
        );
        assert!(
            !parse_connect(br#"{"VERBOSE":false}"#)
                .expect("any case")
                .verbose
        );
        let dup = br#"{"VERBOSE":false, "verbose":true, "Verbose":false}"#;
        assert!(!parse_connect(dup).expect("last wins").verbose);
        assert!(
            !parse_connect(br#"{"verbose":true,"verbose":false}"#)
                .expect("dup")
                .verbose
        );
        assert_eq!(
            parse_connect(br#" {"user":""} "#).expect("blank").user,
            None
        );
    }

    #[test]
    fn rejected_like_nats_server() {
        // nats-server 2.12.8 closed the connection, without -ERR, on each of these.
        for json in [
            &b"{bad"[..],
            b"",
            br#"{"verbose":"yes"}"#,
            br#"{"protocol":1.0}"#,
            br#"{"verbose":false} xx"#,
            br#""x""#,
            b"[1]",
            b"7",
        ] {
            let err = parse_connect(json).expect_err(&String::from_utf8_lossy(json));
            assert_eq!(err.err_text(), None);
        }
    }

    #[test]
    fn second_connect_updates_the_first() {
        let mut o = parse_connect(br#"{"verbose":false,"name":"a"}"#).expect("valid");
        o.update(br#"{"name":"b"}"#).expect("valid");
        assert!(!o.verbose, "an omitted field keeps its earlier value");
        assert_eq!(o.name.as_deref(), Some("b"));
    }

    #[test]
    fn check_protocol_then_no_responders() {
        let with = |json: &[u8]| parse_connect(json).expect("valid").check();
        assert_eq!(
            with(br#"{"protocol":2}"#),
            Err(ErrText::InvalidClientProtocol)
        );
        assert_eq!(
            with(br#"{"protocol":-1}"#),
            Err(ErrText::InvalidClientProtocol)
        );
        assert_eq!(
            with(br#"{"protocol":2,"no_responders":true}"#),
            Err(ErrText::InvalidClientProtocol)
        );
        assert_eq!(
            with(br#"{"no_responders":true}"#),
            Err(ErrText::NoRespondersRequiresHeaders)
        );
        assert_eq!(with(br#"{"no_responders":true,"headers":true}"#), Ok(()));
    }
}
