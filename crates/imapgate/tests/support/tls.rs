//! A test certificate authority made with rcgen, and a blocking TLS client
//! that speaks IMAP line by line.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

/// A CA whose certificate and issued leaf certificates live in a temporary
/// directory as PEM files.
pub struct TestCa {
    dir: tempfile::TempDir,
    certificate: rcgen::Certificate,
    key: rcgen::KeyPair,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let dir = tempfile::Builder::new().prefix("imapgate-ca-").tempdir().expect("failed to create a directory");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("valid CA parameters");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        let key = rcgen::KeyPair::generate().expect("key generation works");
        let certificate = params.self_signed(&key).expect("self-signing works");
        std::fs::write(dir.path().join("ca.pem"), certificate.pem()).expect("failed to write the CA certificate");
        TestCa { dir, certificate, key }
    }

    /// The PEM file of the CA certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Issues a certificate for `localhost` and 127.0.0.1; returns the
    /// paths of its PEM certificate and key, named after `label`.
    pub fn issue(&self, label: &str) -> (PathBuf, PathBuf) {
        let params = rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("valid leaf parameters");
        let key = rcgen::KeyPair::generate().expect("key generation works");
        let certificate = params.signed_by(&key, &self.certificate, &self.key).expect("signing works");
        let cert_path = self.dir.path().join(format!("{label}.pem"));
        let key_path = self.dir.path().join(format!("{label}.key"));
        std::fs::write(&cert_path, certificate.pem()).expect("failed to write a certificate");
        std::fs::write(&key_path, key.serialize_pem()).expect("failed to write a key");
        (cert_path, key_path)
    }
}

/// An IMAP client over TLS that reads and writes whole lines (no literals).
pub struct TlsClient {
    stream: BufReader<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>,
    pub transcript: String,
}

fn client_config(ca_file: &Path) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_file_iter(ca_file).expect("CA file readable") {
        roots.add(certificate.expect("valid PEM")).expect("valid CA certificate");
    }
    Arc::new(rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth())
}

impl TlsClient {
    /// Connects with implicit TLS and reads the greeting line.
    pub fn connect(addr: SocketAddr, ca_file: &Path) -> (TlsClient, String) {
        let tcp = TcpStream::connect(addr).expect("connect");
        let mut client = TlsClient::wrap(tcp, ca_file);
        let greeting = client.read_line();
        (client, greeting)
    }

    /// Starts TLS on a plain connection whose STARTTLS was accepted.
    pub fn wrap(tcp: TcpStream, ca_file: &Path) -> TlsClient {
        tcp.set_read_timeout(Some(Duration::from_secs(10))).expect("set timeout");
        let name = ServerName::try_from("localhost").expect("valid name");
        let connection = rustls::ClientConnection::new(client_config(ca_file), name).expect("TLS client");
        TlsClient { stream: BufReader::new(rustls::StreamOwned::new(connection, tcp)), transcript: String::new() }
    }

    pub fn send(&mut self, text: &str) {
        self.transcript.push_str(&format!("C: {text}"));
        let stream = self.stream.get_mut();
        stream.write_all(text.as_bytes()).expect("TLS write");
        stream.flush().expect("TLS flush");
    }

    pub fn read_line(&mut self) -> String {
        let mut line = String::new();
        self.stream
            .read_line(&mut line)
            .unwrap_or_else(|error| panic!("TLS read failed: {error}\n{}", self.transcript));
        self.transcript.push_str(&format!("S: {line}"));
        line
    }

    /// Sends `tag text` and reads lines up to the tagged completion.
    pub fn command(&mut self, tag: &str, text: &str) -> String {
        self.send(&format!("{tag} {text}\r\n"));
        let mut response = String::new();
        loop {
            let line = self.read_line();
            assert!(!line.is_empty(), "connection closed; transcript:\n{}", self.transcript);
            response.push_str(&line);
            if line.starts_with(&format!("{tag} ")) {
                return response;
            }
        }
    }
}

/// Reads one line from a plain stream, byte by byte so that nothing past
/// the line is consumed before a TLS handshake.
pub fn read_plain_line(stream: &mut TcpStream) -> String {
    use std::io::Read;
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\n") {
        match stream.read(&mut byte) {
            Ok(1) => line.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&line).into_owned()
}
