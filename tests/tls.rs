//! MQTT over TLS against mosquitto TLS listeners configured per test, with
//! certificates generated at test time.
#![cfg(feature = "tls")]

#[path = "support/certs.rs"]
mod certs;
mod support;

use certs::{TestPki, KEY_PASSWORD};
use embermq::client::{Client, ClientEvent};
use embermq::codec::{QoS, SubscribeTopic};
use embermq::session::{ConnectOptions, HeapMemory, Session, SessionConfig};
use embermq::transport::tcp::{TcpOptions, TcpTransport};
use embermq::transport::tls::{TlsConfig, TlsOptions, TlsTransport, VerifyMode};
use embermq::transport::StdClock;
use embermq::Error;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use support::{Broker, BrokerConfig};

type TlsClient = Client<HeapMemory, TlsTransport, StdClock, Box<[u8]>>;

/// A temp dir with a fresh certificate set, removed on drop.
struct Pki {
    files: TestPki,
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.files.dir);
    }
}

fn pki() -> Pki {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "embermq-tls-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    Pki {
        files: certs::generate(&dir),
    }
}

/// A broker whose only listener is TLS with `cert`/`key`, trusting client
/// certificates from the test CA; `require_client_cert` makes them
/// mandatory.
fn tls_broker(pki: &TestPki, cert: &Path, key: &Path, require_client_cert: bool) -> Broker {
    Broker::start(
        BrokerConfig::new()
            .extra(&format!("cafile {}", pki.ca.display()))
            .extra(&format!("certfile {}", cert.display()))
            .extra(&format!("keyfile {}", key.display()))
            .extra(&format!("require_certificate {require_client_cert}")),
    )
}

fn read(path: &PathBuf) -> Vec<u8> {
    std::fs::read(path).expect("reading a test certificate")
}

fn options(pki: &TestPki, verify: VerifyMode) -> TlsOptions {
    TlsOptions {
        ca_pem: Some(read(&pki.ca)),
        verify,
        ..TlsOptions::default()
    }
}

fn handshake(broker: &Broker, config: &TlsConfig, name: &str) -> Result<TlsTransport, Error> {
    let tcp = TcpTransport::connect("127.0.0.1", broker.port, &TcpOptions::default())?;
    TlsTransport::handshake(tcp, config, name, 5_000)
}

fn new_client(buffer: usize) -> TlsClient {
    let session = Session::new(
        HeapMemory::new(40, 2 * buffer, 64, buffer),
        SessionConfig::default(),
    );
    Client::new(
        session,
        StdClock::default(),
        vec![0; buffer].into_boxed_slice(),
        5_000,
    )
}

/// Handshake and MQTT connect; the client or the first error.
fn connect(
    broker: &Broker,
    config: &TlsConfig,
    name: &str,
    id: &str,
    buffer: usize,
) -> Result<TlsClient, Error> {
    let transport = handshake(broker, config, name)?;
    let mut client = new_client(buffer);
    let options = ConnectOptions {
        client_id: id,
        keep_alive_secs: 30,
        ..ConnectOptions::default()
    };
    client.connect(transport, &options)?;
    Ok(client)
}

#[test]
fn server_authentication_succeeds_and_is_reported() {
    if !support::require_mosquitto() {
        return;
    }
    let pki = pki();
    let f = &pki.files;
    let broker = tls_broker(f, &f.server_cert, &f.server_key, false);
    let config = TlsConfig::new(&options(f, VerifyMode::Required)).expect("config");
    // By IP (the certificate names 127.0.0.1) and by DNS name.
    for name in ["127.0.0.1", "localhost"] {
        let mut client = connect(&broker, &config, name, "tls-auth", 4096)
            .unwrap_or_else(|e| panic!("connect verifying {name}: {e}"));
        assert!(client.is_connected());
        assert_eq!(config.last_verify_result(), Ok(()));
        client.disconnect().expect("disconnect");
    }
}

#[test]
fn a_wrong_ca_is_rejected() {
    if !support::require_mosquitto() {
        return;
    }
    let pki = pki();
    let f = &pki.files;
    let broker = tls_broker(f, &f.server_cert, &f.server_key, false);
    let config = TlsConfig::new(&TlsOptions {
        ca_pem: Some(read(&f.other_ca)),
        ..TlsOptions::default()
    })
    .expect("config");
    let err = handshake(&broker, &config, "127.0.0.1").expect_err("untrusted server accepted");
    assert_eq!(err, Error::TlsCertNotTrusted);
    // The public roots do not know the test CA either.
    let public = TlsConfig::new(&TlsOptions::default()).expect("webpki roots");
    let err = handshake(&broker, &public, "localhost").expect_err("accepted by public roots");
    assert_eq!(err, Error::TlsCertNotTrusted);
}

#[test]
fn host_name_mismatch_depends_on_the_verify_mode() {
    if !support::require_mosquitto() {
        return;
    }
    let pki = pki();
    let f = &pki.files;
    let broker = tls_broker(f, &f.server_cert, &f.server_key, false);
    let wrong_name = "not-this-broker.example";

    let required = TlsConfig::new(&options(f, VerifyMode::Required)).expect("config");
    let err = handshake(&broker, &required, wrong_name).expect_err("mismatch accepted");
    assert_eq!(err, Error::TlsHostnameMismatch);

    let optional = TlsConfig::new(&options(f, VerifyMode::Optional)).expect("config");
    let mut client = connect(&broker, &optional, wrong_name, "tls-optional", 4096)
        .expect("optional mode connects");
    assert!(client.is_connected());
    assert_eq!(
        optional.last_verify_result(),
        Err(Error::TlsHostnameMismatch)
    );
    client.disconnect().expect("disconnect");

    let none = TlsConfig::new(&options(f, VerifyMode::None)).expect("config");
    let mut client =
        connect(&broker, &none, wrong_name, "tls-none", 4096).expect("mode none connects");
    assert!(client.is_connected());
    assert_eq!(none.last_verify_result(), Err(Error::TlsNotVerified));
    client.disconnect().expect("disconnect");

    // Optional mode still reports success when all is well.
    let mut client = connect(&broker, &optional, "127.0.0.1", "tls-optional-ok", 4096)
        .expect("optional mode, right name");
    assert_eq!(optional.last_verify_result(), Ok(()));
    client.disconnect().expect("disconnect");
}

#[test]
fn an_expired_server_certificate_is_rejected() {
    if !support::require_mosquitto() {
        return;
    }
    let pki = pki();
    let f = &pki.files;
    let broker = tls_broker(f, &f.expired_cert, &f.expired_key, false);
    let config = TlsConfig::new(&options(f, VerifyMode::Required)).expect("config");
    let err = handshake(&broker, &config, "127.0.0.1").expect_err("expired cert accepted");
    assert_eq!(err, Error::TlsCertExpired);
    let optional = TlsConfig::new(&options(f, VerifyMode::Optional)).expect("config");
    handshake(&broker, &optional, "127.0.0.1").expect("optional mode completes");
    assert_eq!(optional.last_verify_result(), Err(Error::TlsCertExpired));
}

#[test]
fn client_certificates_in_every_key_format_are_accepted() {
    if !support::require_mosquitto() {
        return;
    }
    let pki = pki();
    let f = &pki.files;
    let broker = tls_broker(f, &f.server_cert, &f.server_key, true);
    let cases = [
        ("pkcs8", &f.client_cert, &f.client_key, None),
        ("sec1", &f.client_cert, &f.client_key_sec1, None),
        (
            "encrypted-pkcs8",
            &f.client_cert,
            &f.client_key_encrypted,
            Some(KEY_PASSWORD),
        ),
        (
            "rsa-pkcs1",
            &f.rsa_client_cert,
            &f.rsa_client_key_pkcs1,
            None,
        ),
    ];
    for (label, cert, key, password) in cases {
        let config = TlsConfig::new(&TlsOptions {
            client_cert_pem: Some(read(cert)),
            client_key_pem: Some(read(key)),
            key_password: password.map(|p| p.as_bytes().to_vec()),
            ..options(f, VerifyMode::Required)
        })
        .unwrap_or_else(|e| panic!("{label}: {e}"));
        let mut client = connect(&broker, &config, "127.0.0.1", label, 4096)
            .unwrap_or_else(|e| panic!("{label}: connect with a client certificate: {e}"));
        assert!(client.is_connected(), "{label}");
        client.disconnect().expect("disconnect");
    }
}

#[test]
fn a_listener_requiring_client_certificates_refuses_a_client_without_one() {
    if !support::require_mosquitto() {
        return;
    }
    let pki = pki();
    let f = &pki.files;
    let broker = tls_broker(f, &f.server_cert, &f.server_key, true);
    let config = TlsConfig::new(&options(f, VerifyMode::Required)).expect("config");
    let err = connect(&broker, &config, "127.0.0.1", "no-client-cert", 4096)
        .err()
        .expect("connected without a client certificate");
    // TLS 1.3 servers check the client after the client's Finished, so the
    // refusal arrives as an alert while waiting for CONNACK.
    assert_eq!(err, Error::TlsHandshakeFailed);
}

#[test]
fn key_errors_are_named() {
    let pki = pki();
    let f = &pki.files;
    let with_key = |key: &PathBuf, password: Option<&str>| {
        TlsConfig::new(&TlsOptions {
            client_cert_pem: Some(read(&f.client_cert)),
            client_key_pem: Some(read(key)),
            key_password: password.map(|p| p.as_bytes().to_vec()),
            ..options(f, VerifyMode::Required)
        })
        .err()
    };
    assert_eq!(
        with_key(&f.client_key_encrypted, Some("wrong password")),
        Some(Error::TlsKeyPassword)
    );
    assert_eq!(
        with_key(&f.client_key_encrypted, None),
        Some(Error::TlsKeyPassword)
    );
    assert_eq!(with_key(&f.client_key_encrypted, Some(KEY_PASSWORD)), None);
    assert_eq!(
        with_key(&f.unsupported_key, None),
        Some(Error::TlsUnsupportedKey)
    );
    // A certificate where the key should be, and text that is no PEM.
    assert_eq!(with_key(&f.client_cert, None), Some(Error::TlsBadPem));
    let bad = |ca: &[u8]| {
        TlsConfig::new(&TlsOptions {
            ca_pem: Some(ca.to_vec()),
            ..TlsOptions::default()
        })
        .err()
    };
    assert_eq!(bad(b"not a certificate"), Some(Error::TlsBadPem));
    assert_eq!(
        bad(b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"),
        Some(Error::TlsBadPem)
    );
    // A certificate without its key is refused.
    let err = TlsConfig::new(&TlsOptions {
        client_cert_pem: Some(read(&f.client_cert)),
        ..TlsOptions::default()
    })
    .err();
    assert_eq!(err, Some(Error::InvalidArgument));
}

/// Publishes `payload` to our own subscription and waits for it.
fn round_trip(client: &mut TlsClient, topic: &str, payload: &[u8], qos: QoS) {
    let id = client.publish(topic, payload, qos, false).expect("publish");
    let deadline = Instant::now() + Duration::from_secs(20);
    let (mut received, mut acked) = (false, false);
    while !(received && acked) {
        assert!(
            Instant::now() < deadline,
            "{} bytes at {qos:?}: timed out",
            payload.len()
        );
        match client.poll_event(100).expect("poll") {
            Some(ClientEvent::Message {
                topic: t,
                payload: p,
                qos: got_qos,
                ..
            }) => {
                assert_eq!(client.bytes(t), topic.as_bytes());
                assert_eq!(got_qos, qos);
                assert!(
                    client.bytes(p) == payload,
                    "{} bytes at {qos:?} arrived changed",
                    payload.len()
                );
                assert!(!received, "delivered twice");
                received = true;
            }
            Some(ClientEvent::Published { packet_id }) => {
                assert_eq!(packet_id, id);
                acked = true;
            }
            _ => {}
        }
    }
}

#[test]
fn qos1_and_qos2_messages_up_to_256_kib_cross_intact() {
    if !support::require_mosquitto() {
        return;
    }
    let pki = pki();
    let f = &pki.files;
    let broker = tls_broker(f, &f.server_cert, &f.server_key, false);
    let config = TlsConfig::new(&options(f, VerifyMode::Required)).expect("config");
    let mut client =
        connect(&broker, &config, "127.0.0.1", "tls-payloads", 300 * 1024).expect("connect");
    let topic = "embermq/tls/payload";
    client
        .subscribe(&[SubscribeTopic {
            filter: topic,
            qos: QoS::ExactlyOnce,
        }])
        .expect("subscribe");
    // A pattern that shows shifted or dropped bytes, not only wrong lengths.
    let pattern = |len: usize| -> Vec<u8> { (0..len).map(|i| (i * 31 + i / 251) as u8).collect() };
    for len in [0, 1, 1000, 16 * 1024 + 7, 64 * 1024, 256 * 1024] {
        for qos in [QoS::AtLeastOnce, QoS::ExactlyOnce] {
            round_trip(&mut client, topic, &pattern(len), qos);
        }
    }
    client.disconnect().expect("disconnect");
}
