//! MQTT over TLS for hosts, on rustls with the ring provider.
//!
//! [`TlsConfig`] turns PEM data and a verification mode into a rustls
//! client configuration once, when the client is created, so bad PEM or a
//! wrong key password is reported before any connection is tried.
//! [`TlsTransport`] runs the handshake over a [`TcpTransport`] and then
//! moves application bytes with the same timeout contract as TCP.

use super::tcp::TcpTransport;
use super::Transport;
use crate::Error;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore,
};
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How much the client checks the server's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyMode {
    /// Encrypt only: the certificate is not checked (logged as a warning by
    /// the C API). The handshake's signatures are still checked.
    None,
    /// Check chain and host name, but complete the handshake either way; the
    /// outcome is kept for [`TlsConfig::last_verify_result`].
    Optional,
    /// Check chain and host name; fail the handshake if either is wrong.
    Required,
}

/// What a TLS connection needs, as owned PEM data.
#[derive(Debug, Clone)]
pub struct TlsOptions {
    /// Trusted CA certificates (PEM, one or more). `None`: the Mozilla
    /// roots compiled in from `webpki-roots`.
    pub ca_pem: Option<Vec<u8>>,
    /// How much to check the server's certificate.
    pub verify: VerifyMode,
    /// ALPN protocol names offered, in order of preference (e.g. `b"mqtt"`).
    pub alpn: Vec<Vec<u8>>,
    /// Client certificate chain (PEM, leaf first) for mutual TLS.
    pub client_cert_pem: Option<Vec<u8>>,
    /// The client certificate's private key: PKCS#8, PKCS#1 or SEC1 PEM, or
    /// an encrypted PKCS#8 ("ENCRYPTED PRIVATE KEY") with `key_password`.
    pub client_key_pem: Option<Vec<u8>>,
    /// Password of an encrypted private key.
    pub key_password: Option<Vec<u8>>,
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions {
            ca_pem: None,
            verify: VerifyMode::Required,
            alpn: Vec::new(),
            client_cert_pem: None,
            client_key_pem: None,
            key_password: None,
        }
    }
}

/// A ready rustls configuration plus the slot where the verifier leaves the
/// outcome of the last handshake.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    config: Arc<ClientConfig>,
    outcome: Arc<VerifyOutcome>,
}

/// The verification outcome of the latest handshake.
#[derive(Debug)]
struct VerifyOutcome(Mutex<Result<(), Error>>);

impl VerifyOutcome {
    fn set(&self, result: Result<(), Error>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = result;
    }

    fn get(&self) -> Result<(), Error> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl TlsConfig {
    /// Parses certificates and keys and builds the rustls configuration.
    pub fn new(options: &TlsOptions) -> Result<Self, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        match &options.ca_pem {
            Some(pem) => {
                for cert in parse_certificates(pem)? {
                    roots.add(cert).map_err(|_| Error::TlsBadPem)?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|_| Error::TlsBadPem)?;
        let outcome = Arc::new(VerifyOutcome(Mutex::new(Ok(()))));
        let verifier = Arc::new(ModeVerifier {
            mode: options.verify,
            webpki,
            provider: provider.clone(),
            outcome: outcome.clone(),
        });
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|_| Error::TlsHandshakeFailed)?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let mut config = match (&options.client_cert_pem, &options.client_key_pem) {
            (None, None) => builder.with_no_client_auth(),
            (Some(cert_pem), Some(key_pem)) => {
                let chain = parse_certificates(cert_pem)?;
                let key = parse_private_key(key_pem, options.key_password.as_deref())?;
                // Reject keys the provider cannot sign with now, with a
                // precise error, rather than as a failed handshake later.
                provider
                    .key_provider
                    .load_private_key(key.clone_key())
                    .map_err(|_| Error::TlsUnsupportedKey)?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|_| Error::TlsUnsupportedKey)?
            }
            // A certificate without its key (or the reverse) is a mistake.
            _ => return Err(Error::InvalidArgument),
        };
        config.alpn_protocols = options.alpn.clone();
        Ok(TlsConfig {
            config: Arc::new(config),
            outcome,
        })
    }

    /// How the server's certificate fared in the latest handshake: `Ok` when
    /// verified, [`Error::TlsNotVerified`] in mode none, or why it failed.
    pub fn last_verify_result(&self) -> Result<(), Error> {
        self.outcome.get()
    }
}

/// Every certificate in `pem`; none at all is an error.
fn parse_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| Error::TlsBadPem)?;
    if certs.is_empty() {
        return Err(Error::TlsBadPem);
    }
    Ok(certs)
}

const ENCRYPTED_KEY_LABEL: &str = "ENCRYPTED PRIVATE KEY";

/// The first private key in `pem`, decrypting an encrypted PKCS#8 key.
fn parse_private_key(pem: &[u8], password: Option<&[u8]>) -> Result<PrivateKeyDer<'static>, Error> {
    let text = core::str::from_utf8(pem).map_err(|_| Error::TlsBadPem)?;
    if text.contains(&format!("-----BEGIN {ENCRYPTED_KEY_LABEL}-----")) {
        return decrypt_pkcs8(text, password);
    }
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        // OpenSSL's legacy PEM encryption: only PKCS#8 (PBES2) is supported.
        return Err(Error::TlsUnsupportedKey);
    }
    PrivateKeyDer::from_pem_slice(pem).map_err(|_| Error::TlsBadPem)
}

fn decrypt_pkcs8(text: &str, password: Option<&[u8]>) -> Result<PrivateKeyDer<'static>, Error> {
    use pkcs8::der::{Decode, SecretDocument};
    // The PEM block alone: a file may hold certificates around it.
    let begin = format!("-----BEGIN {ENCRYPTED_KEY_LABEL}-----");
    let end = format!("-----END {ENCRYPTED_KEY_LABEL}-----");
    let start = text.find(&begin).ok_or(Error::TlsBadPem)?;
    let stop = text[start..].find(&end).ok_or(Error::TlsBadPem)? + start + end.len();
    let (label, document) =
        SecretDocument::from_pem(&text[start..stop]).map_err(|_| Error::TlsBadPem)?;
    if label != ENCRYPTED_KEY_LABEL {
        return Err(Error::TlsBadPem);
    }
    let encrypted = pkcs8::EncryptedPrivateKeyInfoRef::from_der(document.as_bytes())
        .map_err(|_| Error::TlsBadPem)?;
    let password = password.ok_or(Error::TlsKeyPassword)?;
    let decrypted = encrypted.decrypt(password).map_err(|err| match err {
        pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::UnsupportedAlgorithm { .. })
        | pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::AlgorithmParametersInvalid {
            ..
        }) => Error::TlsUnsupportedKey,
        // A wrong password shows as bad padding or as garbage that is not
        // a PrivateKeyInfo.
        _ => Error::TlsKeyPassword,
    })?;
    // Garbage that happened to have valid padding is still not a key.
    pkcs8::PrivateKeyInfoRef::from_der(decrypted.as_bytes()).map_err(|_| Error::TlsKeyPassword)?;
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        decrypted.as_bytes().to_vec(),
    )))
}

/// The named error for a rustls failure.
fn tls_error(err: &rustls::Error) -> Error {
    match err {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => Error::TlsCertExpired,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                Error::TlsHostnameMismatch
            }
            _ => Error::TlsCertNotTrusted,
        },
        _ => Error::TlsHandshakeFailed,
    }
}

/// Applies the verification mode around webpki's verifier.
#[derive(Debug)]
struct ModeVerifier {
    mode: VerifyMode,
    webpki: Arc<WebPkiServerVerifier>,
    provider: Arc<CryptoProvider>,
    outcome: Arc<VerifyOutcome>,
}

impl ServerCertVerifier for ModeVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.mode == VerifyMode::None {
            self.outcome.set(Err(Error::TlsNotVerified));
            return Ok(ServerCertVerified::assertion());
        }
        let verdict = self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        self.outcome
            .set(verdict.as_ref().map(|_| ()).map_err(tls_error));
        match (verdict, self.mode) {
            (Err(_), VerifyMode::Optional) => Ok(ServerCertVerified::assertion()),
            (verdict, _) => verdict,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// `std::io` over a [`TcpTransport`] with a deadline, for rustls' record
/// I/O. A timeout shows as `WouldBlock`, end of stream as `Ok(0)`.
struct DeadlineIo<'a> {
    tcp: &'a mut TcpTransport,
    deadline: Instant,
}

impl DeadlineIo<'_> {
    fn remaining_ms(&self) -> u32 {
        let left = self.deadline.saturating_duration_since(Instant::now());
        u32::try_from(left.as_millis()).unwrap_or(u32::MAX)
    }
}

fn to_io(err: Error) -> io::Error {
    match err {
        Error::ConnectionClosed => io::ErrorKind::UnexpectedEof.into(),
        Error::Timeout => io::ErrorKind::WouldBlock.into(),
        _ => io::Error::other(err),
    }
}

fn from_io(err: &io::Error) -> Error {
    match err.kind() {
        io::ErrorKind::WouldBlock => Error::Timeout,
        io::ErrorKind::UnexpectedEof => Error::ConnectionClosed,
        _ => match err
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<Error>())
        {
            Some(inner) => *inner,
            None => Error::Io,
        },
    }
}

impl Read for DeadlineIo<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let timeout = self.remaining_ms();
        match self.tcp.read(buf, timeout) {
            Ok(0) => Err(io::ErrorKind::WouldBlock.into()),
            Ok(n) => Ok(n),
            Err(Error::ConnectionClosed) => Ok(0),
            Err(err) => Err(to_io(err)),
        }
    }
}

impl Write for DeadlineIo<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let timeout = self.remaining_ms();
        match self.tcp.write(buf, timeout) {
            Ok(0) if !buf.is_empty() => Err(io::ErrorKind::WouldBlock.into()),
            Ok(n) => Ok(n),
            Err(err) => Err(to_io(err)),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A TLS connection to a broker.
#[derive(Debug)]
pub struct TlsTransport {
    tcp: TcpTransport,
    conn: ClientConnection,
}

impl TlsTransport {
    /// The TCP socket's descriptor (see [`TcpTransport::raw_fd`]).
    pub fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        self.tcp.raw_fd()
    }

    /// Runs the TLS handshake over `tcp`, checking the server against
    /// `server_name` (a DNS name or an IP address), within `timeout_ms`.
    pub fn handshake(
        mut tcp: TcpTransport,
        config: &TlsConfig,
        server_name: &str,
        timeout_ms: u32,
    ) -> Result<Self, Error> {
        let name = server_name.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(name.to_owned()).map_err(|_| Error::InvalidArgument)?;
        config.outcome.set(Ok(()));
        let mut conn =
            ClientConnection::new(config.config.clone(), name).map_err(|e| tls_error(&e))?;
        let deadline = Instant::now() + Duration::from_millis(u64::from(timeout_ms));
        let mut io = DeadlineIo {
            tcp: &mut tcp,
            deadline,
        };
        while conn.is_handshaking() {
            if Instant::now() >= deadline {
                return Err(Error::Timeout);
            }
            match conn.complete_io(&mut io) {
                Ok(_) => {}
                Err(err) => {
                    let failure = match err
                        .get_ref()
                        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                    {
                        Some(tls) => tls_error(tls),
                        None if err.kind() == io::ErrorKind::InvalidData => {
                            Error::TlsHandshakeFailed
                        }
                        // The server hung up mid-handshake: not a TLS
                        // server (a plain MQTT port), or it refused us.
                        None => match from_io(&err) {
                            Error::ConnectionClosed => Error::TlsHandshakeFailed,
                            other => other,
                        },
                    };
                    // Let the server hear our alert before the socket goes.
                    let _ = conn.write_tls(&mut io);
                    return Err(failure);
                }
            }
        }
        Ok(TlsTransport { tcp, conn })
    }

    /// Writes out records rustls holds, within `deadline`. `Ok(false)`: some
    /// are still waiting.
    fn flush_records(&mut self, deadline: Instant) -> Result<bool, Error> {
        let mut io = DeadlineIo {
            tcp: &mut self.tcp,
            deadline,
        };
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut io) {
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(err) => return Err(from_io(&err)),
            }
        }
        Ok(true)
    }
}

fn deadline_after(timeout_ms: u32) -> Instant {
    Instant::now() + Duration::from_millis(u64::from(timeout_ms))
}

impl Transport for TlsTransport {
    fn read(&mut self, buf: &mut [u8], timeout_ms: u32) -> Result<usize, Error> {
        let deadline = deadline_after(timeout_ms);
        loop {
            match self.conn.reader().read(buf) {
                // Zero bytes into a non-empty buffer: close_notify came.
                Ok(0) if !buf.is_empty() => return Err(Error::ConnectionClosed),
                Ok(n) => return Ok(n),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                // Closed without close_notify: closed all the same.
                Err(_) => return Err(Error::ConnectionClosed),
            }
            // Records rustls queued (alerts, key updates, our data).
            self.flush_records(deadline)?;
            let mut io = DeadlineIo {
                tcp: &mut self.tcp,
                deadline,
            };
            match self.conn.read_tls(&mut io) {
                Ok(0) => return Err(Error::ConnectionClosed),
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(0),
                Err(err) => return Err(from_io(&err)),
            }
            if let Err(err) = self.conn.process_new_packets() {
                let _ = self.flush_records(deadline);
                return Err(match err {
                    // The server refused us after the handshake (TLS 1.3
                    // checks the client certificate then).
                    rustls::Error::AlertReceived(_) => Error::TlsHandshakeFailed,
                    other => tls_error(&other),
                });
            }
        }
    }

    fn write(&mut self, buf: &[u8], timeout_ms: u32) -> Result<usize, Error> {
        let deadline = deadline_after(timeout_ms);
        // Older records first, so the stream keeps its order and rustls'
        // buffer stays bounded.
        if !self.flush_records(deadline)? {
            return Ok(0);
        }
        let accepted = self.conn.writer().write(buf).map_err(|e| from_io(&e))?;
        // What does not go out now is flushed by the next read or write.
        self.flush_records(deadline)?;
        Ok(accepted)
    }

    fn close(&mut self) {
        self.conn.send_close_notify();
        let _ = self.flush_records(deadline_after(100));
        self.tcp.close();
    }
}
