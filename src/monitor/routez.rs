//! `/routez`: cluster routes. There is no clustering yet, so the list is always empty, in
//! nats-server's shape.

use serde::Serialize;

use super::format::GoTime;
use super::query::{BadRequest, Query};
use crate::broker::Broker;
use crate::time::Now;

/// nats-server's `/routez` answer with no routes.
#[derive(Clone, Debug, Serialize)]
pub struct Routez {
    pub server_id: String,
    pub server_name: String,
    pub now: GoTime,
    pub num_routes: usize,
    /// Always empty (serialized as `[]`, as nats-server does with no routes).
    pub routes: Vec<()>,
}

/// Checks `/routez`'s options (`subs=true|detail`) as nats-server does, though with no routes
/// there is nothing for them to show.
pub fn check_routez_query(query: &Query) -> Result<(), BadRequest> {
    if !query.get("subs").eq_ignore_ascii_case("detail") {
        query.bool("subs")?;
    }
    Ok(())
}

/// `/routez` for `broker` at `now`.
pub fn routez(broker: &Broker, now: Now) -> Routez {
    Routez {
        server_id: broker.server_id().to_string(),
        server_name: broker.server_name().to_string(),
        now: GoTime(now.wall),
        num_routes: 0,
        routes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::Scenario;
    use super::*;
    use crate::config::Config;

    #[test]
    fn no_routes_in_nats_server_shape() {
        let scenario = Scenario::new(Config::default());
        let json = serde_json::to_value(routez(&scenario.broker, scenario.now))
            .expect("routez serializes");
        assert_eq!(json["num_routes"], 0);
        assert_eq!(json["routes"], serde_json::json!([]));
        assert_eq!(json["server_name"], json["server_id"]);
        assert!(check_routez_query(&Query::parse("subs=detail")).is_ok());
        assert_eq!(
            check_routez_query(&Query::parse("subs=x")).unwrap_err().0,
            "Error decoding boolean for 'subs': strconv.ParseBool: parsing \"x\": invalid syntax"
        );
    }
}
