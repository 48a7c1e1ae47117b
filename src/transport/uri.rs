//! Broker addresses written as URIs, as the firmware modules take them:
//! `mqtt://host:1883`, `mqtts://host` (port 8883), `[::1]:1883`, `host`,
//! and MQTT over WebSocket: `ws://host:8080/mqtt`, `wss://host/mqtt`.

use crate::Error;

/// The standard port of MQTT over TCP.
pub const MQTT_PORT: u16 = 1883;
/// The standard port of MQTT over TLS; connecting to it selects TLS.
pub const MQTTS_PORT: u16 = 8883;

/// A parsed broker address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUri<'a> {
    /// Host name or IP address (IPv6 without brackets).
    pub host: &'a str,
    /// TCP port.
    pub port: u16,
    /// Whether the scheme (or, without one, the port) asks for TLS.
    pub tls: bool,
    /// For `ws://` and `wss://`: the request path (with any query), `/mqtt`
    /// when the URI names none. `None`: plain MQTT.
    pub ws_path: Option<&'a str>,
}

/// Parses `[scheme://]host[:port][/]`. Schemes: `mqtt` and `tcp` (plain),
/// `mqtts`, `ssl` and `tls` (TLS). Without a scheme, port 8883 means TLS.
/// `ws://host[:port][/path]` (port 80) and `wss://...` (port 443, TLS)
/// carry MQTT over WebSocket; the path defaults to `/mqtt`.
pub fn parse(uri: &str) -> Result<BrokerUri<'_>, Error> {
    let (scheme, rest) = match uri.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, uri),
    };
    let (scheme_tls, websocket) = match scheme.map(str::to_ascii_lowercase).as_deref() {
        None => (None, false),
        Some("mqtt" | "tcp") => (Some(false), false),
        Some("mqtts" | "ssl" | "tls") => (Some(true), false),
        Some("ws") => (Some(false), true),
        Some("wss") => (Some(true), true),
        Some(_) => return Err(Error::InvalidUri),
    };
    let (authority, ws_path) = if websocket {
        match rest.find('/') {
            Some(at) => (&rest[..at], Some(&rest[at..])),
            None => (rest, Some(crate::transport::ws::DEFAULT_PATH)),
        }
    } else {
        (rest.strip_suffix('/').unwrap_or(rest), None)
    };
    if authority.contains(['/', '?', '#', '@']) {
        return Err(Error::InvalidUri);
    }
    if let Some(path) = ws_path {
        if path.contains('#') || crate::transport::ws::check_path(path).is_err() {
            return Err(Error::InvalidUri);
        }
    }
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or(Error::InvalidUri)?;
        match after {
            "" => (host, None),
            _ => (
                host,
                Some(after.strip_prefix(':').ok_or(Error::InvalidUri)?),
            ),
        }
    } else if authority.matches(':').count() > 1 {
        // A bare IPv6 address: no port possible without brackets.
        (authority, None)
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(Error::InvalidUri);
    }
    let port = match port {
        Some(text) => match text.parse::<u16>() {
            Ok(0) | Err(_) => return Err(Error::InvalidUri),
            Ok(port) => Some(port),
        },
        None => None,
    };
    let tls = scheme_tls.unwrap_or(port == Some(MQTTS_PORT));
    let default_port = match (websocket, tls) {
        (false, false) => MQTT_PORT,
        (false, true) => MQTTS_PORT,
        (true, false) => crate::transport::ws::WS_PORT,
        (true, true) => crate::transport::ws::WSS_PORT,
    };
    let port = port.unwrap_or(default_port);
    Ok(BrokerUri {
        host,
        port,
        tls,
        ws_path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(uri: &str) -> (String, u16, bool) {
        let parsed = parse(uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
        (parsed.host.to_owned(), parsed.port, parsed.tls)
    }

    #[test]
    fn schemes_select_transport_and_default_port() {
        assert_eq!(ok("mqtt://broker"), ("broker".into(), 1883, false));
        assert_eq!(ok("tcp://broker:1884"), ("broker".into(), 1884, false));
        assert_eq!(ok("mqtts://broker"), ("broker".into(), 8883, true));
        assert_eq!(ok("ssl://broker:443"), ("broker".into(), 443, true));
        assert_eq!(ok("TLS://broker/"), ("broker".into(), 8883, true));
    }

    #[test]
    fn port_8883_without_scheme_means_tls() {
        assert_eq!(ok("broker:8883"), ("broker".into(), 8883, true));
        assert_eq!(ok("broker"), ("broker".into(), 1883, false));
        // An explicit plain scheme wins over the port.
        assert_eq!(ok("mqtt://broker:8883"), ("broker".into(), 8883, false));
    }

    #[test]
    fn ipv6_hosts() {
        assert_eq!(ok("mqtt://[::1]:1883"), ("::1".into(), 1883, false));
        assert_eq!(ok("[fe80::1]"), ("fe80::1".into(), 1883, false));
        assert_eq!(ok("::1"), ("::1".into(), 1883, false));
    }

    #[test]
    fn websocket_uris_carry_a_path() {
        let ws = |uri| {
            let p = parse(uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
            (
                p.host.to_owned(),
                p.port,
                p.tls,
                p.ws_path.map(str::to_owned),
            )
        };
        let some = |path: &str| Some(path.to_owned());
        assert_eq!(
            ws("ws://broker"),
            ("broker".into(), 80, false, some("/mqtt"))
        );
        assert_eq!(
            ws("WSS://broker"),
            ("broker".into(), 443, true, some("/mqtt"))
        );
        assert_eq!(
            ws("ws://broker:8080/"),
            ("broker".into(), 8080, false, some("/"))
        );
        assert_eq!(
            ws("wss://[::1]:8443/mqtt/ws?token=a%20b"),
            ("::1".into(), 8443, true, some("/mqtt/ws?token=a%20b"))
        );
        assert_eq!(ok("mqtt://broker").0, "broker");
        assert_eq!(parse("mqtt://broker").map(|p| p.ws_path), Ok(None));
    }

    #[test]
    fn bad_uris_are_refused() {
        for bad in [
            "",
            "http://broker",
            "ws://user@broker/mqtt",
            "ws://broker/a b",
            "ws://broker/mqtt#frag",
            "ws://broker:0/mqtt",
            "mqtt://",
            "mqtt://broker:0",
            "mqtt://broker:65536",
            "mqtt://broker:x",
            "mqtt://user@broker",
            "mqtt://broker/path",
            "[::1",
            "[::1]x",
        ] {
            assert_eq!(parse(bad), Err(Error::InvalidUri), "{bad}");
        }
    }
}
