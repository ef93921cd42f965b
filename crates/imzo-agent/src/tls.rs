//! The `wss://127.0.0.1:64443` endpoint for https pages: a local CA made at first start,
//! a certificate for 127.0.0.1 / localhost issued by it, and the TLS listener.
//!
//! The CA's private key is used once, to issue the server certificate, and never
//! stored: a stolen copy of the module's files cannot mint certificates the browser
//! would trust. The CA is also name-constrained to 127.0.0.1 and localhost, so even while
//! it existed it could not vouch for any other site.

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DnType, ExtendedKeyUsagePurpose,
    GeneralSubtree, IsCa, KeyPair, KeyUsagePurpose, NameConstraints, SanType,
};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// The default wss port.
pub const DEFAULT_TLS_PORT: u16 = 64443;

/// The nickname the CA gets in certificate stores.
pub const CA_NICKNAME: &str = "Imzo local signing module";

/// Why the local certificates could not be made or used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Making a certificate failed.
    #[error("cannot make the local certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The stored certificate or key is unusable.
    #[error("TLS setup: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Where the local TLS files live.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The CA certificate (PEM) to install into browsers' stores.
    pub ca_pem: PathBuf,
    /// The server certificate (DER).
    pub cert_der: PathBuf,
    /// The server key (DER PKCS#8, mode 0600).
    pub key_der: PathBuf,
}

impl TlsFiles {
    /// The files in `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        TlsFiles {
            ca_pem: dir.join("agent-ca.pem"),
            cert_der: dir.join("agent-tls-cert.der"),
            key_der: dir.join("agent-tls-key.der"),
        }
    }

    /// Whether all three exist.
    pub fn exist(&self) -> bool {
        self.ca_pem.is_file() && self.cert_der.is_file() && self.key_der.is_file()
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(io(path))?;
        f.write_all(bytes).map_err(io(path))
    }
    #[cfg(not(unix))]
    {
        std::fs::write(path, bytes).map_err(io(path))
    }
}

/// Makes the CA and the 127.0.0.1 certificate unless they exist; returns whether new
/// ones were made (the CA must then be trusted again: `imzo agent trust`).
pub fn ensure_files(files: &TlsFiles) -> Result<bool, TlsError> {
    if files.exist() {
        return Ok(false);
    }
    if let Some(dir) = files.ca_pem.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let now = time::OffsetDateTime::now_utc();
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name.push(
        DnType::CommonName,
        format!("{CA_NICKNAME} (this computer only)"),
    );
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![
            GeneralSubtree::IpAddress(CidrSubnet::V4([127, 0, 0, 1], [255, 255, 255, 255])),
            GeneralSubtree::DnsName("localhost".into()),
        ],
        excluded_subtrees: Vec::new(),
    });
    ca.not_before = now - time::Duration::hours(1);
    ca.not_after = now + time::Duration::days(3650);
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;

    let mut leaf = CertificateParams::new(vec!["localhost".to_string()])?;
    leaf.subject_alt_names
        .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    leaf.distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.not_before = now - time::Duration::hours(1);
    leaf.not_after = now + time::Duration::days(3649);
    let leaf_key = KeyPair::generate()?;
    let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key)?;
    // ca_key is dropped here, unsaved.
    write_private(&files.key_der, &leaf_key.serialize_der())?;
    std::fs::write(&files.cert_der, leaf_cert.der()).map_err(io(&files.cert_der))?;
    std::fs::write(&files.ca_pem, ca_cert.pem()).map_err(io(&files.ca_pem))?;
    Ok(true)
}

/// The TLS acceptor for the stored certificate.
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, TlsError> {
    let cert = std::fs::read(&files.cert_der).map_err(io(&files.cert_der))?;
    let key = std::fs::read(&files.key_der).map_err(io(&files.key_der))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![rustls::pki_types::CertificateDer::from(cert)],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.into()),
        )?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A TCP listener whose connections are TLS (for `axum::serve`).
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl TlsListener {
    /// Wraps `tcp`.
    pub fn new(tcp: TcpListener, acceptor: TlsAcceptor) -> Self {
        TlsListener { tcp, acceptor }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                // Out of file descriptors and the like: wait rather than spin.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            // A client that never finishes its handshake must not hold up the others
            // for long.
            match tokio::time::timeout(Duration::from_secs(3), self.acceptor.accept(stream)).await {
                Ok(Ok(tls)) => return (tls, addr),
                Ok(Err(e)) => tracing::debug!(%addr, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%addr, "TLS handshake timed out"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
