//! `/healthz`: the readiness probe. Once the monitor answers at all the client listener is up,
//! so the server is healthy, as a single nats-server answers (its JetStream asset checks,
//! `account`, `stream`, `consumer`, are about clustering). nats-server's argument errors
//! remain: a `stream` without an `account`, or a `consumer` without a `stream`, is a `400`.
//!
//! Beyond nats-server: a JetStream stream whose store failed (a sync error: it takes no more
//! writes and acks nothing) makes the server unhealthy (`503`, `"status":"unavailable"`, one
//! `JETSTREAM` error per stream), so an orchestrator sees it instead of a silent stall.

use serde::Serialize;

use super::query::{BadRequest, Query};

/// `/healthz`'s query options.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HealthzOptions {
    /// `js-enabled` (deprecated in nats-server), `js-enabled-only`, `js-server-only`,
    /// `js-meta-only`: JetStream checks, all satisfied while JetStream is disabled.
    pub js_enabled: bool,
    pub js_enabled_only: bool,
    pub js_server_only: bool,
    pub js_meta_only: bool,
    /// `details=true`: errors as a list of typed entries instead of one string.
    pub details: bool,
    pub account: String,
    pub stream: String,
    pub consumer: String,
}

impl HealthzOptions {
    /// Reads the options in nats-server's order (`HandleHealthz`).
    pub fn from_query(query: &Query) -> Result<HealthzOptions, BadRequest> {
        Ok(HealthzOptions {
            js_enabled: query.bool("js-enabled")?,
            js_enabled_only: query.bool("js-enabled-only")?,
            js_server_only: query.bool("js-server-only")?,
            js_meta_only: query.bool("js-meta-only")?,
            details: query.bool("details")?,
            account: query.get("account").to_string(),
            stream: query.get("stream").to_string(),
            consumer: query.get("consumer").to_string(),
        })
    }
}

/// nats-server's `HealthStatus`, as served over HTTP (without `status_code`, which is the
/// HTTP status).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HealthStatus {
    pub status: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<HealthzError>,
}

/// One error of a `details=true` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HealthzError {
    /// `BAD_REQUEST`, `CONNECTION`, `JETSTREAM`...
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub error: String,
}

/// The HTTP status and body of `/healthz`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Health {
    pub http_status: u16,
    pub status: HealthStatus,
}

/// `/healthz` for these options; `failed_streams` are (stream, why) of JetStream streams whose
/// store failed (none when JetStream is off).
pub fn healthz(options: &HealthzOptions, failed_streams: &[(String, String)]) -> Health {
    let bad_request = if options.account.is_empty() && !options.stream.is_empty() {
        Some("\"account\" must not be empty when checking stream health")
    } else if options.stream.is_empty() && !options.consumer.is_empty() {
        Some("\"stream\" must not be empty when checking consumer health")
    } else {
        None
    };
    let Some(error) = bad_request else {
        if !failed_streams.is_empty() && !options.js_server_only {
            return unavailable(options, failed_streams);
        }
        return Health {
            http_status: 200,
            status: HealthStatus {
                status: "ok",
                error: String::new(),
                errors: Vec::new(),
            },
        };
    };
    let status = if options.details {
        HealthStatus {
            status: "error",
            error: String::new(),
            errors: vec![HealthzError {
                kind: "BAD_REQUEST",
                error: error.to_string(),
            }],
        }
    } else {
        HealthStatus {
            status: "error",
            error: error.to_string(),
            errors: Vec::new(),
        }
    };
    Health {
        http_status: 400,
        status,
    }
}

/// `503`: streams whose store failed.
fn unavailable(options: &HealthzOptions, failed: &[(String, String)]) -> Health {
    let describe = |(stream, why): &(String, String)| {
        format!("JetStream stream '$G > {stream}' store failed: {why}")
    };
    let status = if options.details {
        HealthStatus {
            status: "unavailable",
            error: String::new(),
            errors: failed
                .iter()
                .map(|failure| HealthzError {
                    kind: "JETSTREAM",
                    error: describe(failure),
                })
                .collect(),
        }
    } else {
        HealthStatus {
            status: "unavailable",
            error: failed.iter().map(describe).collect::<Vec<_>>().join("; "),
            errors: Vec::new(),
        }
    };
    Health {
        http_status: 503,
        status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(query: &str) -> (u16, String) {
        let options = HealthzOptions::from_query(&Query::parse(query)).expect("valid options");
        let health = healthz(&options, &[]);
        let json = serde_json::to_string(&health.status).expect("health serializes");
        (health.http_status, json)
    }

    #[test]
    fn a_failed_stream_store_is_unhealthy() {
        let failed = [("ORDERS".to_string(), "i/o error: EIO".to_string())];
        let options = HealthzOptions::default();
        let health = healthz(&options, &failed);
        assert_eq!(health.http_status, 503);
        assert_eq!(
            serde_json::to_string(&health.status).unwrap(),
            r#"{"status":"unavailable","error":"JetStream stream '$G > ORDERS' store failed: i/o error: EIO"}"#
        );
        let details = HealthzOptions::from_query(&Query::parse("details=true")).unwrap();
        assert_eq!(
            serde_json::to_string(&healthz(&details, &failed).status).unwrap(),
            r#"{"status":"unavailable","errors":[{"type":"JETSTREAM","error":"JetStream stream '$G > ORDERS' store failed: i/o error: EIO"}]}"#
        );
        let server_only = HealthzOptions::from_query(&Query::parse("js-server-only=true")).unwrap();
        assert_eq!(healthz(&server_only, &failed).http_status, 200);
    }

    /// Expected answers are nats-server 2.12.8's, JetStream disabled.
    #[test]
    fn answers_as_nats_server_without_jetstream() {
        let ok = (200, r#"{"status":"ok"}"#.to_string());
        for query in [
            "",
            "js-enabled-only=true",
            "js-server-only=true",
            "js-enabled=1",
            "js-meta-only=true",
            "details=true",
            "account=x",
        ] {
            assert_eq!(answer(query), ok, "{query}");
        }
        assert_eq!(
            answer("stream=foo"),
            (
                400,
                r#"{"status":"error","error":"\"account\" must not be empty when checking stream health"}"#
                    .to_string()
            )
        );
        assert_eq!(
            answer("details=true&stream=x"),
            (
                400,
                r#"{"status":"error","errors":[{"type":"BAD_REQUEST","error":"\"account\" must not be empty when checking stream health"}]}"#
                    .to_string()
            )
        );
        assert_eq!(
            answer("consumer=x&account=y"),
            (
                400,
                r#"{"status":"error","error":"\"stream\" must not be empty when checking consumer health"}"#
                    .to_string()
            )
        );
    }

    #[test]
    fn bad_booleans_are_refused() {
        let error = HealthzOptions::from_query(&Query::parse("js-enabled-only=x")).unwrap_err();
        assert_eq!(
            error.0,
            "Error decoding boolean for 'js-enabled-only': strconv.ParseBool: parsing \"x\": invalid syntax"
        );
    }
}
