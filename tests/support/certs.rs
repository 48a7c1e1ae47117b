//! Test certificates, generated at test time with rcgen: a CA, a second
//! unrelated CA, server certificates (valid and expired) for 127.0.0.1,
//! ::1 and localhost, and client certificates whose keys come as PKCS#8,
//! SEC1, encrypted PKCS#8 and (RSA) PKCS#1 PEM.
//!
//! Used by the Rust TLS tests and, through `examples/gen_test_certs.rs`,
//! by the C harness.

use pkcs8::der::pem::LineEnding;
use pkcs8::der::Decode;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::fs;
use std::path::{Path, PathBuf};

/// Password of `client-enc.key`.
pub const KEY_PASSWORD: &str = "embermq-key-pass";

/// A 2048-bit RSA key kept in the repository: rcgen with ring cannot
/// generate RSA keys. Test use only.
const RSA_TEST_KEY: &str = include_str!("../data/rsa-test-key.pem");

/// Paths of the generated files.
#[derive(Debug, Clone)]
pub struct TestPki {
    pub dir: PathBuf,
    /// The CA that signed every certificate below.
    pub ca: PathBuf,
    /// A CA that signed nothing here.
    pub other_ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// A server certificate that expired in 2020.
    pub expired_cert: PathBuf,
    pub expired_key: PathBuf,
    pub client_cert: PathBuf,
    /// The client key as PKCS#8 ("PRIVATE KEY").
    pub client_key: PathBuf,
    /// The same key as SEC1 ("EC PRIVATE KEY").
    pub client_key_sec1: PathBuf,
    /// The same key as encrypted PKCS#8, password [`KEY_PASSWORD`].
    pub client_key_encrypted: PathBuf,
    /// A client certificate for the RSA key.
    pub rsa_client_cert: PathBuf,
    /// The RSA key as PKCS#1 ("RSA PRIVATE KEY").
    pub rsa_client_key_pkcs1: PathBuf,
    /// An X25519 key: valid PKCS#8, but no signature algorithm.
    pub unsupported_key: PathBuf,
}

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

fn leaf_params(names: &[&str], usage: ExtendedKeyUsagePurpose) -> CertificateParams {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names).expect("leaf params");
    params
        .distinguished_name
        .push(DnType::CommonName, "embermq test");
    params.extended_key_usages = vec![usage];
    params
}

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, contents).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    path
}

/// The inner key of a PKCS#8 document (SEC1 for EC, PKCS#1 for RSA), as PEM
/// under `label`.
fn inner_key_pem(pkcs8_der: &[u8], label: &'static str) -> String {
    let info = pkcs8::PrivateKeyInfoRef::from_der(pkcs8_der).expect("PKCS#8");
    let inner = info.private_key.as_bytes();
    let document = pkcs8::der::Document::try_from(inner).expect("inner key DER");
    document.to_pem(label, LineEnding::LF).expect("PEM")
}

fn encrypted_pem(pkcs8_der: &[u8], password: &str) -> String {
    let info = pkcs8::PrivateKeyInfoRef::from_der(pkcs8_der).expect("PKCS#8");
    // Fixed salt and IV are fine for a test key; iterations kept low for speed.
    let params = pkcs8::pkcs5::pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(
        2048, &[7u8; 16], [9u8; 16],
    )
    .expect("PBES2 params");
    let encrypted = info
        .encrypt_with_params(params, password)
        .expect("encrypting the key");
    encrypted
        .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
        .expect("PEM")
        .to_string()
}

/// Generates the whole set into `dir` (created if missing).
pub fn generate(dir: &Path) -> TestPki {
    fs::create_dir_all(dir).expect("creating the certificate dir");
    let ca_key = KeyPair::generate().expect("CA key");
    let ca = ca_params("embermq test CA");
    let ca_cert = ca.self_signed(&ca_key).expect("CA cert");
    let issuer = Issuer::new(ca, ca_key);

    let other_key = KeyPair::generate().expect("other CA key");
    let other_cert = ca_params("embermq other CA")
        .self_signed(&other_key)
        .expect("other CA cert");

    let server_names = ["localhost", "127.0.0.1", "::1"];
    let server_key = KeyPair::generate().expect("server key");
    let server_cert = leaf_params(&server_names, ExtendedKeyUsagePurpose::ServerAuth)
        .signed_by(&server_key, &issuer)
        .expect("server cert");

    let expired_key = KeyPair::generate().expect("expired key");
    let mut expired_params = leaf_params(&server_names, ExtendedKeyUsagePurpose::ServerAuth);
    expired_params.not_before = rcgen::date_time_ymd(2019, 1, 1);
    expired_params.not_after = rcgen::date_time_ymd(2020, 1, 1);
    let expired_cert = expired_params
        .signed_by(&expired_key, &issuer)
        .expect("expired cert");

    let client_key = KeyPair::generate().expect("client key");
    let client_cert = leaf_params(&["embermq-client"], ExtendedKeyUsagePurpose::ClientAuth)
        .signed_by(&client_key, &issuer)
        .expect("client cert");
    let client_der = client_key.serialize_der();

    let rsa_key = KeyPair::from_pkcs8_pem_and_sign_algo(RSA_TEST_KEY, &rcgen::PKCS_RSA_SHA256)
        .expect("RSA test key");
    let rsa_cert = leaf_params(&["embermq-rsa-client"], ExtendedKeyUsagePurpose::ClientAuth)
        .signed_by(&rsa_key, &issuer)
        .expect("RSA client cert");

    // PKCS#8 wrapping of an X25519 key (RFC 8410): a key type rustls cannot
    // sign with.
    let mut x25519 = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04,
        0x20,
    ];
    x25519.extend_from_slice(&[0x42; 32]);
    let unsupported = pkcs8::der::Document::try_from(x25519.as_slice())
        .expect("X25519 DER")
        .to_pem("PRIVATE KEY", LineEnding::LF)
        .expect("PEM");

    TestPki {
        dir: dir.to_path_buf(),
        ca: write(dir, "ca.pem", &ca_cert.pem()),
        other_ca: write(dir, "other-ca.pem", &other_cert.pem()),
        server_cert: write(dir, "server.pem", &server_cert.pem()),
        server_key: write(dir, "server.key", &server_key.serialize_pem()),
        expired_cert: write(dir, "expired.pem", &expired_cert.pem()),
        expired_key: write(dir, "expired.key", &expired_key.serialize_pem()),
        client_cert: write(dir, "client.pem", &client_cert.pem()),
        client_key: write(dir, "client.key", &client_key.serialize_pem()),
        client_key_sec1: write(
            dir,
            "client-sec1.key",
            &inner_key_pem(&client_der, "EC PRIVATE KEY"),
        ),
        client_key_encrypted: write(
            dir,
            "client-enc.key",
            &encrypted_pem(&client_der, KEY_PASSWORD),
        ),
        rsa_client_cert: write(dir, "rsa-client.pem", &rsa_cert.pem()),
        rsa_client_key_pkcs1: write(
            dir,
            "rsa-client-pkcs1.key",
            &inner_key_pem(&rsa_key.serialize_der(), "RSA PRIVATE KEY"),
        ),
        unsupported_key: write(dir, "x25519.key", &unsupported),
    }
}
