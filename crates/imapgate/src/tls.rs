//! TLS settings and the rustls objects built from them: an acceptor for
//! clients and a connector for the upstream.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde::Deserialize;
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// TLS on a listener.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListenTls {
    /// Plain IMAP only.
    #[default]
    None,
    /// TLS from the first byte (port 993 style).
    Implicit,
    /// Plain IMAP with STARTTLS offered.
    Starttls,
}

/// TLS toward the upstream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpstreamTls {
    #[default]
    None,
    Implicit,
    Starttls,
}

/// The `[tls]` section: imapgate's certificate for clients.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file with the certificate chain, leaf first.
    pub certificate: String,
    /// PEM file with the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: String,
}

/// Verification settings for the upstream's certificate.
#[derive(Clone, Debug, Default)]
pub struct UpstreamTrust {
    /// PEM file of CA certificates; the system's roots when `None`.
    pub ca_file: Option<String>,
    /// `false` accepts any certificate (for labs only).
    pub verify: bool,
}

/// Builds the acceptor for client TLS from PEM files.
pub fn acceptor(config: &TlsConfig) -> Result<TlsAcceptor, String> {
    let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&config.certificate)
        .map_err(|error| format!("cannot read certificates from {}: {error}", config.certificate))?
        .collect::<Result<_, _>>()
        .map_err(|error| format!("invalid PEM in {}: {error}", config.certificate))?;
    if certificates.is_empty() {
        return Err(format!("{} contains no certificate", config.certificate));
    }
    let key = PrivateKeyDer::from_pem_file(&config.key)
        .map_err(|error| format!("cannot read a private key from {}: {error}", config.key))?;
    let server = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("TLS setup failed: {error}"))?
        .with_no_client_auth()
        .with_single_cert(certificates, key)
        .map_err(|error| {
            format!("certificate {} and key {} do not form a valid pair: {error}", config.certificate, config.key)
        })?;
    Ok(TlsAcceptor::from(Arc::new(server)))
}

/// Builds the connector for upstream TLS.
pub fn connector(trust: &UpstreamTrust) -> Result<TlsConnector, String> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("TLS setup failed: {error}"))?;
    let client = if trust.verify {
        builder.with_root_certificates(root_store(trust.ca_file.as_deref())?).with_no_client_auth()
    } else {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate)).with_no_client_auth()
    };
    Ok(TlsConnector::from(Arc::new(client)))
}

/// The name the upstream's certificate must carry: the host of `address`.
pub fn server_name(address: &str, configured: Option<&str>) -> Result<ServerName<'static>, String> {
    let host = match configured {
        Some(name) => name,
        None => address.rsplit_once(':').map_or(address, |(host, _)| host),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_string()).map_err(|error| format!("{host:?} is not a valid TLS server name: {error}"))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn root_store(ca_file: Option<&str>) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            for certificate in CertificateDer::pem_file_iter(path)
                .map_err(|error| format!("cannot read CA certificates from {path}: {error}"))?
            {
                let certificate = certificate.map_err(|error| format!("invalid PEM in {path}: {error}"))?;
                roots.add(certificate).map_err(|error| format!("invalid CA certificate in {path}: {error}"))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for certificate in found.certs {
                let _ = roots.add(certificate);
            }
        }
    }
    if roots.is_empty() {
        return Err(match ca_file {
            Some(path) => format!("{path} contains no CA certificate"),
            None => "no system CA certificates found; install ca-certificates or set upstream.ca_file".to_string(),
        });
    }
    Ok(roots)
}

/// Accepts every upstream certificate: `upstream.verify = false`.
#[derive(Debug)]
struct AcceptAnyCertificate;

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            certificate,
            signature,
            &provider().signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            certificate,
            signature,
            &provider().signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        provider().signature_verification_algorithms.supported_schemes()
    }
}
