//! [`Context`]: one side's TLS settings, loaded into rustls configurations
//! once (and again on SIGHUP), and the handshake in either role.
//!
//! Loading follows Munin's leniency where Munin is lenient: a key or
//! certificate that will not load is a warning and the side goes on
//! without it (a node then answers `TLS MAYBE`), except under `paranoid`,
//! where the key must load. A missing CA file is a warning; verification
//! then fails for every peer, as OpenSSL's does with no CA.
//!
//! Under TLS the master reads one line per TLS record (Munin reads one
//! record at a time and takes it as a line), so the stream has a buffer
//! *under* TLS: each line written becomes its own record, and a whole
//! reply still leaves in one write.

use std::sync::Arc;

use regex_lite::Regex;
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, ServerConfig};
use rustls_pki_types::ServerName;
use tokio::io::BufWriter;

use super::files::{self, Identity};
use super::peer::{self, Refusal};
use super::stream::{BoxIo, Rewind};
use super::verify::{ClientCheck, ServerCheck};
use super::{Mode, Settings};

/// Bytes gathered under TLS before they are written out.
const UNDER_TLS_BUFFER: usize = 64 * 1024;

/// Which end of the TLS session this side is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Server,
    Client,
}

/// Why a TLS session could not be had.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// This side cannot take the role asked of it (no key loaded).
    #[error("{0}")]
    Setup(String),
    #[error("TLS handshake failed: {0}")]
    Handshake(std::io::Error),
    #[error("{0}")]
    Refused(#[from] Refusal),
}

/// A failed handshake leaves its alert (why it failed) in the buffer under
/// TLS: it is sent, briefly, so that the peer learns the reason.
async fn send_alert(e: std::io::Error, mut io: BufWriter<Rewind>) -> TlsError {
    use tokio::io::AsyncWriteExt;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), io.flush()).await;
    TlsError::Handshake(e)
}

/// One side's TLS settings, loaded.
pub struct Context {
    pub settings: Settings,
    matcher: Option<Regex>,
    /// Set when a key and certificate loaded: this side can be the server.
    server: Option<Arc<ServerConfig>>,
    client: Arc<ClientConfig>,
    /// Things that did not load, to log once.
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("settings", &self.settings)
            .field("can_serve", &self.server.is_some())
            .finish_non_exhaustive()
    }
}

/// *ring*: it builds with nothing but a C compiler, which every machine
/// that builds Rust has (aws-lc-rs wants more of the build host). rustls
/// deprecates it for lacking post-quantum key exchange; monitoring values
/// do not need secrecy for decades.
#[allow(deprecated)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl Context {
    /// Loads `settings`' files. Fails only where Munin's side would never
    /// start TLS: a `paranoid` key that does not load, a `tls_match` that
    /// is no regular expression.
    pub fn load(settings: Settings) -> Result<Context, String> {
        let paranoid = settings.mode == Mode::Paranoid;
        let mut warnings = Vec::new();
        let matcher = match &settings.matches {
            Some(p) => Some(Regex::new(p).map_err(|e| format!("tls_match {p:?}: {e}"))?),
            None => None,
        };
        let key = match files::private_key(&settings.private_key) {
            Ok(k) => Some(k),
            Err(e) if paranoid => return Err(format!("tls paranoid: {e}")),
            Err(e) => {
                warnings.push(format!("{e}; going on without a private key"));
                None
            }
        };
        let chain = match files::certificates(&settings.certificate) {
            Ok(c) => Some(c),
            Err(e) => {
                warnings.push(format!("{e}; going on without a certificate"));
                None
            }
        };
        let identity = key.zip(chain).map(|(key, chain)| Identity { chain, key });
        let roots = if settings.verify {
            match files::roots(&settings.ca_certificate) {
                Ok(r) => Some(r),
                Err(e) => {
                    warnings.push(format!(
                        "{e}; going on without a CA certificate (no peer can be verified)"
                    ));
                    None
                }
            }
        } else {
            None
        };
        let versions = rustls::ALL_VERSIONS;
        let check = ServerCheck::new(
            settings.verify,
            roots.clone(),
            settings.verify_depth,
            provider(),
        );
        let client = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(versions)
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(check));
        let client = match &identity {
            Some(id) => match client
                .clone()
                .with_client_auth_cert(id.chain.clone(), id.key.clone_key())
            {
                Ok(c) => c,
                Err(e) => {
                    warnings.push(format!(
                        "{}: {e}; no client certificate is presented",
                        settings.certificate.display()
                    ));
                    client.with_no_client_auth()
                }
            },
            None => client.with_no_client_auth(),
        };
        let server = match identity {
            None => None,
            Some(id) => {
                let builder = ServerConfig::builder_with_provider(provider())
                    .with_protocol_versions(versions)
                    .map_err(|e| e.to_string())?;
                let builder = if settings.verify {
                    builder.with_client_cert_verifier(Arc::new(ClientCheck::new(
                        roots,
                        settings.verify_depth,
                        provider(),
                    )))
                } else {
                    builder.with_no_client_auth()
                };
                match builder.with_single_cert(id.chain, id.key) {
                    Ok(mut s) => {
                        // Sessions are one poll long: tickets are bytes for nothing.
                        s.send_tls13_tickets = 0;
                        Some(Arc::new(s))
                    }
                    Err(e) => {
                        let why = format!(
                            "{} with {}: {e}",
                            settings.certificate.display(),
                            settings.private_key.display()
                        );
                        if paranoid {
                            return Err(format!("tls paranoid: {why}"));
                        }
                        warnings.push(format!("{why}; this side cannot be a TLS server"));
                        None
                    }
                }
            }
        };
        Ok(Context {
            settings,
            matcher,
            server,
            client: Arc::new(client),
            warnings,
        })
    }

    /// Whether a key and certificate loaded (a node then answers `TLS OK`).
    pub fn can_serve(&self) -> bool {
        self.server.is_some()
    }

    /// Runs the handshake on `io` (after `ahead`, bytes already read from
    /// it) as `side`, then Munin's checks of the peer. `name` is the peer's
    /// name or address, sent as SNI when it is a DNS name.
    pub async fn secure(
        &self,
        io: BoxIo,
        ahead: Vec<u8>,
        side: Side,
        name: &str,
    ) -> Result<BoxIo, TlsError> {
        let io = BufWriter::with_capacity(UNDER_TLS_BUFFER, Rewind::new(ahead, io));
        let paranoid = self.settings.mode == Mode::Paranoid;
        let pattern = self.settings.matches.as_deref().zip(self.matcher.as_ref());
        match side {
            Side::Server => {
                let config = self.server.clone().ok_or_else(|| {
                    TlsError::Setup(
                        "no private key and certificate loaded: cannot be the TLS server"
                            .to_string(),
                    )
                })?;
                let tls = match tokio_rustls::TlsAcceptor::from(config)
                    .accept(io)
                    .into_fallible()
                    .await
                {
                    Ok(tls) => tls,
                    Err((e, io)) => return Err(send_alert(e, io).await),
                };
                let certs = tls.get_ref().1.peer_certificates();
                // A client is only asked for a certificate when verifying,
                // and one that was presented has passed.
                let verified = certs.is_some_and(|c| !c.is_empty());
                let asked = self.settings.verify;
                peer::accept(
                    paranoid,
                    verified,
                    asked,
                    pattern,
                    certs.and_then(|c| c.first()),
                )?;
                Ok(Box::new(tls))
            }
            Side::Client => {
                let server_name = ServerName::try_from(name.to_string())
                    .unwrap_or_else(|_| ServerName::try_from("munin-node").expect("a DNS name"));
                let tls = match tokio_rustls::TlsConnector::from(self.client.clone())
                    .connect(server_name, io)
                    .into_fallible()
                    .await
                {
                    Ok(tls) => tls,
                    Err((e, io)) => return Err(send_alert(e, io).await),
                };
                let certs = tls.get_ref().1.peer_certificates();
                // A server always presents one; unverified it is still
                // "verified" to Munin, whose callback accepts when not
                // verifying.
                let verified = certs.is_some_and(|c| !c.is_empty());
                peer::accept(
                    paranoid,
                    verified,
                    true,
                    pattern,
                    certs.and_then(|c| c.first()),
                )?;
                Ok(Box::new(tls))
            }
        }
    }
}
