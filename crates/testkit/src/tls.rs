//! Test-only TLS material and server set-up, shared by every test that runs a local TLS server.
//!
//! `fixtures/tls` holds a throwaway CA (its key discarded) and a `localhost`/`127.0.0.1`
//! server certificate it signed (see its README); none of it is a secret.

use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The test CA's certificate (PEM).
pub const CA_PEM: &[u8] = include_bytes!("../fixtures/tls/ca.pem");
const SERVER_PEM: &[u8] = include_bytes!("../fixtures/tls/server.pem");
const SERVER_KEY_PEM: &[u8] = include_bytes!("../fixtures/tls/server.pkcs8.pem");

/// Makes this process's TLS clients trust the test CA. Call before the first TLS connection;
/// under nextest each test is its own process, under `cargo test` the first call wins and later
/// ones are refused harmlessly.
pub fn trust_test_ca() {
    let _ = kestrel_fire::tls::trust_extra_roots_pem(CA_PEM);
}

/// A rustls server config with the test certificate (TLS 1.2 and 1.3).
///
/// # Panics
/// If the committed fixtures do not parse (a broken checkout).
pub fn server_config() -> Arc<ServerConfig> {
    server_config_with(rustls::DEFAULT_VERSIONS)
}

/// [`server_config`] offering only `versions` (e.g. a TLS 1.2-only server).
///
/// # Panics
/// As [`server_config`].
pub fn server_config_with(
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<ServerConfig> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(SERVER_PEM)
        .collect::<Result<_, _>>()
        .expect("fixtures/tls/server.pem");
    let key = PrivateKeyDer::from_pem_slice(SERVER_KEY_PEM).expect("fixtures/tls/server.pkcs8.pem");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Arc::new(
        ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .expect("rustls protocol versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("the test certificate and key"),
    )
}
