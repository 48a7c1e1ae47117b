//! TLS options for C, and how a connection picks its transport.

#[cfg(feature = "tls")]
use super::str_arg;
use super::{emq_err, emq_tls_options, emq_transport_choice, opt_str_arg};
#[cfg(feature = "tls")]
use crate::transport::tls::{TlsConfig, TlsOptions, VerifyMode};
use crate::transport::{tcp, HostTransport};
use crate::Error;
#[cfg(feature = "tls")]
use core::ffi::c_char;

/// The client's TLS state: settings from `emq_options.tls` (built once) or
/// the defaults, built when a connection first asks for TLS by port 8883 or
/// an `mqtts://` URI.
#[derive(Default)]
pub(super) struct HostTls {
    /// `Some(true)`: every connection uses TLS (`emq_options.tls` given, or
    /// EMQ_TRANSPORT_TLS); `Some(false)`: none does (EMQ_TRANSPORT_TCP);
    /// `None`: TLS for port 8883.
    forced: Option<bool>,
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    server_name: Option<String>,
    #[cfg(feature = "tls")]
    config: Option<TlsConfig>,
    /// Whether the latest connection used TLS (for the verify result).
    used: bool,
}

/// Reads a PEM source given as text or as a file; text wins.
///
/// # Safety
/// Both pointers must be NULL or NUL-terminated strings.
#[cfg(feature = "tls")]
unsafe fn pem_source(text: *const c_char, file: *const c_char) -> Result<Option<Vec<u8>>, Error> {
    let as_error = |e: emq_err| match e {
        emq_err::EMQ_ERR_INVALID_UTF8 => Error::InvalidUtf8,
        _ => Error::InvalidArgument,
    };
    // SAFETY: forwarded contract.
    if let Some(text) = unsafe { opt_str_arg(text) }.map_err(as_error)? {
        return Ok(Some(text.as_bytes().to_vec()));
    }
    // SAFETY: forwarded contract.
    match unsafe { opt_str_arg(file) }.map_err(as_error)? {
        Some(path) => std::fs::read(path).map(Some).map_err(|_| Error::TlsFile),
        None => Ok(None),
    }
}

impl HostTls {
    /// Copies and checks `emq_options.tls` and the transport choice.
    ///
    /// # Safety
    /// `options` must be NULL or valid, with its pointers as documented.
    pub(super) unsafe fn from_options(
        options: *const emq_tls_options,
        choice: emq_transport_choice,
    ) -> Result<Self, emq_err> {
        let forced = match choice {
            emq_transport_choice::EMQ_TRANSPORT_AUTO => None,
            emq_transport_choice::EMQ_TRANSPORT_TCP => Some(false),
            emq_transport_choice::EMQ_TRANSPORT_TLS => Some(true),
        };
        // SAFETY: NULL or valid per the contract.
        let Some(o) = (unsafe { options.as_ref() }) else {
            return Ok(HostTls {
                forced,
                ..HostTls::default()
            });
        };
        if forced == Some(false) {
            // TLS settings with plain TCP chosen: one of them is a mistake.
            return Err(emq_err::EMQ_ERR_INVALID_ARGUMENT);
        }
        // SAFETY: NUL-terminated or NULL per the contract.
        let server_name = unsafe { opt_str_arg(o.server_name) }?.map(str::to_owned);
        if server_name.as_deref() == Some("") {
            return Err(emq_err::EMQ_ERR_INVALID_ARGUMENT);
        }
        #[cfg(feature = "tls")]
        {
            // SAFETY: forwarded contract (all the option pointers).
            let config = unsafe { tls_config(o) }.map_err(emq_err::from)?;
            Ok(HostTls {
                forced: Some(true),
                server_name,
                config: Some(config),
                used: false,
            })
        }
        #[cfg(not(feature = "tls"))]
        {
            let _ = server_name;
            Err(emq_err::EMQ_ERR_TLS_UNAVAILABLE)
        }
    }

    /// Whether a connection to `port` (or with a TLS scheme) uses TLS.
    pub(super) fn wanted(&self, port: u16, scheme_tls: Option<bool>) -> bool {
        scheme_tls
            .or(self.forced)
            .unwrap_or(port == crate::transport::uri::MQTTS_PORT)
    }

    /// The outcome of the latest handshake, or "not verified" if the latest
    /// connection had no TLS.
    pub(super) fn verify_result(&self) -> Result<(), Error> {
        #[cfg(feature = "tls")]
        if self.used {
            if let Some(config) = &self.config {
                return config.last_verify_result();
            }
        }
        Err(Error::TlsNotVerified)
    }

    /// Opens TCP to `host:port`, then TLS on top when `tls`.
    pub(super) fn open(
        &mut self,
        host: &str,
        port: u16,
        tls: bool,
        tcp_options: &tcp::TcpOptions,
    ) -> Result<HostTransport, Error> {
        self.used = false;
        if !tls {
            let tcp = tcp::TcpTransport::connect(host, port, tcp_options)?;
            return Ok(HostTransport::Tcp(tcp));
        }
        #[cfg(feature = "tls")]
        {
            if self.config.is_none() {
                self.config = Some(TlsConfig::new(&TlsOptions::default())?);
            }
            let config = self.config.as_ref().ok_or(Error::TlsUnavailable)?;
            let tcp = tcp::TcpTransport::connect(host, port, tcp_options)?;
            let name = self.server_name.as_deref().unwrap_or(host);
            self.used = true;
            let tls = crate::transport::tls::TlsTransport::handshake(
                tcp,
                config,
                name,
                tcp_options.connect_timeout_ms,
            )?;
            Ok(HostTransport::Tls(Box::new(tls)))
        }
        #[cfg(not(feature = "tls"))]
        Err(Error::TlsUnavailable)
    }
}

/// Builds the rustls configuration from C options.
///
/// # Safety
/// The pointers in `o` must be NULL or valid as documented.
#[cfg(feature = "tls")]
unsafe fn tls_config(o: &emq_tls_options) -> Result<TlsConfig, Error> {
    let verify = match o.verify_mode {
        0 => VerifyMode::None,
        1 => VerifyMode::Optional,
        2 => VerifyMode::Required,
        _ => return Err(Error::InvalidArgument),
    };
    // SAFETY (all calls below): pointers from `o`, valid per the contract.
    let ca_pem = unsafe { pem_source(o.ca_pem, o.ca_file) }?;
    let client_cert_pem = unsafe { pem_source(o.client_cert_pem, o.client_cert_file) }?;
    let client_key_pem = unsafe { pem_source(o.client_key_pem, o.client_key_file) }?;
    let key_password = unsafe { opt_str_arg(o.client_key_password) }
        .map_err(|_| Error::InvalidUtf8)?
        .map(|p| p.as_bytes().to_vec());
    if o.alpn_count > 0 && o.alpn_protocols.is_null() {
        return Err(Error::InvalidArgument);
    }
    let mut alpn = Vec::new();
    for index in 0..o.alpn_count {
        // SAFETY: `alpn_count` readable entries per the contract.
        let entry = unsafe { *o.alpn_protocols.add(index) };
        let name = unsafe { str_arg(entry) }.map_err(|_| Error::InvalidArgument)?;
        // ALPN names are 1 to 255 bytes.
        if name.is_empty() || name.len() > 255 {
            return Err(Error::InvalidArgument);
        }
        alpn.push(name.as_bytes().to_vec());
    }
    TlsConfig::new(&TlsOptions {
        ca_pem,
        verify,
        alpn,
        client_cert_pem,
        client_key_pem,
        key_password,
    })
}

/// The outcome of the latest TLS handshake's certificate check: EMQ_OK when
/// the broker was verified; EMQ_ERR_TLS_NOT_VERIFIED in verify mode none or
/// when the latest connection did not use TLS; otherwise why verification
/// failed (EMQ_ERR_TLS_CERT_NOT_TRUSTED, EMQ_ERR_TLS_HOSTNAME_MISMATCH,
/// EMQ_ERR_TLS_CERT_EXPIRED), which in optional mode did not stop the
/// connection.
///
/// # Safety
/// `client` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn emq_client_tls_verify_result(client: *const super::emq_client) -> emq_err {
    // SAFETY: NULL or live per the contract.
    match unsafe { crate::ffi::client::handle(client) } {
        Err(err) => err,
        Ok(c) => c.core().extra.tls_verify,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_8883_and_tls_schemes_select_tls() {
        let plain = HostTls::default();
        assert!(plain.wanted(8883, None), "port 8883 means TLS");
        assert!(!plain.wanted(1883, None));
        assert!(
            plain.wanted(1883, Some(true)),
            "an mqtts:// URI on any port"
        );
        assert!(
            !plain.wanted(8883, Some(false)),
            "mqtt:// wins over the port"
        );
        let configured = HostTls {
            forced: Some(true),
            ..HostTls::default()
        };
        assert!(configured.wanted(1883, None), "emq_options.tls on any port");
        let tcp = HostTls {
            forced: Some(false),
            ..HostTls::default()
        };
        assert!(!tcp.wanted(8883, None), "EMQ_TRANSPORT_TCP on port 8883");
        assert!(tcp.wanted(8883, Some(true)), "an mqtts:// URI still wins");
        assert_eq!(plain.verify_result(), Err(Error::TlsNotVerified));
    }
}
