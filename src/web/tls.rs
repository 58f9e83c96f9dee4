//! `tls_server_config`: the server certificate, client certificates, versions, cipher
//! suites and curves, turned into a rustls server configuration. What is refused (unverified
//! client certificates, TLS 1.0/1.1, a client CA without a client_auth_type that uses it) is
//! refused here, with the setting named; the handshake itself is the HTTP side's.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

/// `tls_server_config` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFile {
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    cert: Option<String>,
    key: Option<String>,
    client_auth_type: Option<String>,
    client_ca_file: Option<PathBuf>,
    client_ca: Option<String>,
    client_allowed_sans: Option<Vec<String>>,
    cipher_suites: Option<Vec<String>>,
    curve_preferences: Option<Vec<String>>,
    min_version: Option<String>,
    max_version: Option<String>,
    prefer_server_cipher_suites: Option<bool>,
}

fn read_certs(
    file: Option<&PathBuf>,
    inline: Option<&String>,
    base: &Path,
    what: &str,
    watched: &mut Vec<PathBuf>,
) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<CertificateDer<'static>> = match (file, inline) {
        (Some(f), _) => {
            let p = base.join(f);
            watched.push(p.clone());
            CertificateDer::pem_file_iter(&p)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| anyhow::anyhow!("cannot read {what} {}: {e}", p.display()))?
        }
        (None, Some(text)) => CertificateDer::pem_slice_iter(text.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("bad inline {what}: {e}"))?,
        (None, None) => Vec::new(),
    };
    Ok(certs)
}

/// Builds the TLS settings of `tls_server_config`; relative paths are relative to `base`, and
/// every file read is added to `watched`.
pub fn build_tls(t: TlsFile, base: &Path, watched: &mut Vec<PathBuf>) -> anyhow::Result<Tls> {
    let certs = read_certs(
        t.cert_file.as_ref(),
        t.cert.as_ref(),
        base,
        "certificate",
        watched,
    )?;
    if certs.is_empty() {
        bail!("cert_file (or cert) is required and must hold a PEM certificate");
    }
    let key: PrivateKeyDer<'static> = match (&t.key_file, &t.key) {
        (Some(f), _) => {
            let p = base.join(f);
            watched.push(p.clone());
            PrivateKeyDer::from_pem_file(&p)
                .map_err(|e| anyhow::anyhow!("cannot read key_file {}: {e}", p.display()))?
        }
        (None, Some(text)) => PrivateKeyDer::from_pem_slice(text.as_bytes())
            .map_err(|e| anyhow::anyhow!("bad inline key: {e}"))?,
        (None, None) => bail!("key_file (or key) is required"),
    };
    if t.client_allowed_sans.is_some() {
        bail!(
            "client_allowed_sans is not supported by xmail_exporter: use a client CA that only signs allowed clients"
        );
    }

    let mut provider: CryptoProvider = rustls::crypto::ring::default_provider();
    if let Some(names) = &t.cipher_suites {
        let mut chosen = Vec::new();
        for name in names {
            let wanted = name.trim_end_matches("_SHA256");
            let found = provider.cipher_suites.iter().find(|s| {
                let have = format!("{:?}", s.suite());
                have == *name || have.trim_end_matches("_SHA256") == wanted
            });
            match found {
                Some(s) => chosen.push(*s),
                None => bail!(
                    "cipher_suites: {name:?} is not supported (supported: the TLS 1.2 ECDHE suites with AES-GCM or ChaCha20-Poly1305)"
                ),
            }
        }
        // As in Go, the list applies to TLS 1.2; TLS 1.3 suites are always enabled.
        let tls13: Vec<_> = provider
            .cipher_suites
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS13)
            .copied()
            .collect();
        chosen.extend(tls13);
        provider.cipher_suites = chosen;
    }
    if let Some(curves) = &t.curve_preferences {
        use rustls::crypto::ring::kx_group;
        let mut groups = Vec::new();
        for c in curves {
            groups.push(match c.as_str() {
                "X25519" => kx_group::X25519,
                "CurveP256" => kx_group::SECP256R1,
                "CurveP384" => kx_group::SECP384R1,
                other => bail!("curve_preferences: {other:?} is not supported (use X25519, CurveP256 or CurveP384)"),
            });
        }
        provider.kx_groups = groups;
    }
    let version = |v: &Option<String>, default: u8| -> anyhow::Result<u8> {
        match v.as_deref() {
            None => Ok(default),
            Some("TLS12") => Ok(12),
            Some("TLS13") => Ok(13),
            Some(other @ ("TLS10" | "TLS11")) => {
                bail!("{other} is not supported: TLS 1.2 is the oldest version offered")
            }
            Some(other) => bail!("unknown TLS version {other:?}: use TLS12 or TLS13"),
        }
    };
    let (min, max) = (version(&t.min_version, 12)?, version(&t.max_version, 13)?);
    if min > max {
        bail!("min_version is above max_version");
    }
    let mut versions = Vec::new();
    if min <= 12 {
        versions.push(&rustls::version::TLS12);
    }
    if max >= 13 {
        versions.push(&rustls::version::TLS13);
    }
    let provider = Arc::new(provider);
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .context("no TLS version left")?;

    let has_ca = t.client_ca_file.is_some() || t.client_ca.is_some();
    let client_auth = match t.client_auth_type.as_deref() {
        None | Some("NoClientCert") if has_ca => bail!(
            "client_ca_file (or client_ca) is set without a client_auth_type that uses it: add client_auth_type: RequireAndVerifyClientCert (or VerifyClientCertIfGiven), or remove the CA"
        ),
        None => "NoClientCert",
        Some(a) => a,
    };
    let ca = read_certs(
        t.client_ca_file.as_ref(),
        t.client_ca.as_ref(),
        base,
        "client_ca_file",
        watched,
    )?;
    let builder = match client_auth {
        "NoClientCert" => builder.with_no_client_auth(),
        "VerifyClientCertIfGiven" | "RequireAndVerifyClientCert" => {
            if ca.is_empty() {
                bail!("client_auth_type {client_auth} needs client_ca_file");
            }
            let mut roots = RootCertStore::empty();
            for c in ca {
                roots
                    .add(c)
                    .context("client_ca_file holds a certificate that cannot be used as a CA")?;
            }
            let mut v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            if client_auth == "VerifyClientCertIfGiven" {
                v = v.allow_unauthenticated();
            }
            builder.with_client_cert_verifier(
                v.build()
                    .context("cannot build the client certificate verifier")?,
            )
        }
        "RequestClientCert" | "RequireAnyClientCert" => bail!(
            "client_auth_type {client_auth} (accepting unverified client certificates) is not supported: use VerifyClientCertIfGiven or RequireAndVerifyClientCert"
        ),
        other => bail!("unknown client_auth_type {other:?}"),
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .context("the certificate and the key do not go together")?;
    config.ignore_client_order = t.prefer_server_cipher_suites.unwrap_or(false);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let client_certs = match client_auth {
        "RequireAndVerifyClientCert" => ClientCerts::Required,
        "VerifyClientCertIfGiven" => ClientCerts::VerifiedIfGiven,
        _ => ClientCerts::None,
    };
    Ok(Tls {
        server: Arc::new(config),
        client_certs,
    })
}

/// What client certificates are asked for: an ordering, so a reload that weakens it can be
/// told apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ClientCerts {
    /// None (`NoClientCert`).
    None,
    /// Verified when a client sends one (`VerifyClientCertIfGiven`).
    VerifiedIfGiven,
    /// Required and verified (`RequireAndVerifyClientCert`).
    Required,
}

/// Validated TLS settings.
#[derive(Clone)]
pub struct Tls {
    /// For the handshake.
    pub server: Arc<rustls::ServerConfig>,
    /// What is asked of clients.
    pub client_certs: ClientCerts,
}
