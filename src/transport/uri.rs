//! Broker addresses written as URIs, as the firmware modules take them:
//! `mqtt://host:1883`, `mqtts://host` (port 8883), `[::1]:1883`, `host`.

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
}

/// Parses `[scheme://]host[:port][/]`. Schemes: `mqtt` and `tcp` (plain),
/// `mqtts`, `ssl` and `tls` (TLS). Without a scheme, port 8883 means TLS.
pub fn parse(uri: &str) -> Result<BrokerUri<'_>, Error> {
    let (scheme, rest) = match uri.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, uri),
    };
    let scheme_tls = match scheme.map(str::to_ascii_lowercase).as_deref() {
        None => None,
        Some("mqtt" | "tcp") => Some(false),
        Some("mqtts" | "ssl" | "tls") => Some(true),
        Some(_) => return Err(Error::InvalidUri),
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains(['/', '?', '#', '@']) {
        return Err(Error::InvalidUri);
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
    let port = port.unwrap_or(if tls { MQTTS_PORT } else { MQTT_PORT });
    Ok(BrokerUri { host, port, tls })
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
    fn bad_uris_are_refused() {
        for bad in [
            "",
            "ws://broker",
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
