//! The checks Munin's settings ask of a peer's certificate.
//!
//! Munin verifies the chain against the CA file (OpenSSL's `VERIFY_PEER`)
//! and never the peer's name: nodes are often reached by an address their
//! certificate does not name. So the chain is checked by webpki and a name
//! mismatch alone is accepted. Without `tls_verify_certificate` a master
//! takes any node certificate (the handshake signatures are still
//! checked), and a node asks for no client certificate at all.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, Error, RootCertStore};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

/// A chain with more certificates above the peer's own than
/// `tls_verify_depth` allows.
fn too_deep(intermediates: &[CertificateDer<'_>], depth: u32) -> Result<(), Error> {
    if intermediates.len() > depth as usize {
        return Err(Error::General(format!(
            "the peer's chain has {} intermediate certificates, over tls_verify_depth {depth}",
            intermediates.len()
        )));
    }
    Ok(())
}

/// The provider's signature checks, shared by both verifiers.
#[derive(Debug)]
struct Signatures(Arc<CryptoProvider>);

impl Signatures {
    fn tls12(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn tls13(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// How a master (or a node in the `TLS MAYBE` role) checks the other side.
#[derive(Debug)]
pub struct ServerCheck {
    /// `None`: not verifying (`tls_verify_certificate no`).
    chain: Option<Chain>,
    sigs: Signatures,
}

#[derive(Debug)]
struct Chain {
    /// `None`: verifying with no usable CA, so every certificate fails.
    webpki: Option<Arc<WebPkiServerVerifier>>,
    depth: u32,
}

impl ServerCheck {
    pub fn new(
        verify: bool,
        roots: Option<RootCertStore>,
        depth: u32,
        provider: Arc<CryptoProvider>,
    ) -> ServerCheck {
        let chain = verify.then(|| Chain {
            webpki: roots.and_then(|r| {
                WebPkiServerVerifier::builder_with_provider(Arc::new(r), provider.clone())
                    .build()
                    .ok()
            }),
            depth,
        });
        ServerCheck {
            chain,
            sigs: Signatures(provider),
        }
    }
}

impl ServerCertVerifier for ServerCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        too_deep(intermediates, chain.depth)?;
        let Some(webpki) = &chain.webpki else {
            return Err(Error::InvalidCertificate(CertificateError::UnknownIssuer));
        };
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            // The chain is good; only the name differs, which Munin never checks.
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.sigs.tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.sigs.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.sigs.schemes()
    }
}

/// How a node (or a master in the `TLS MAYBE` role) checks a client that
/// presents a certificate, under `tls_verify_certificate yes`. A client
/// may present none (as under OpenSSL's `VERIFY_PEER`); `paranoid` then
/// refuses it after the handshake.
#[derive(Debug)]
pub struct ClientCheck {
    webpki: Option<Arc<dyn ClientCertVerifier>>,
    depth: u32,
    sigs: Signatures,
}

impl ClientCheck {
    pub fn new(
        roots: Option<RootCertStore>,
        depth: u32,
        provider: Arc<CryptoProvider>,
    ) -> ClientCheck {
        let webpki = roots.and_then(|r| {
            WebPkiClientVerifier::builder_with_provider(Arc::new(r), provider.clone())
                .allow_unauthenticated()
                .build()
                .ok()
        });
        ClientCheck {
            webpki,
            depth,
            sigs: Signatures(provider),
        }
    }
}

impl ClientCertVerifier for ClientCheck {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.webpki.as_ref().map_or(&[], |w| w.root_hint_subjects())
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        too_deep(intermediates, self.depth)?;
        match &self.webpki {
            Some(w) => w.verify_client_cert(end_entity, intermediates, now),
            None => Err(Error::InvalidCertificate(CertificateError::UnknownIssuer)),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.sigs.tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.sigs.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.sigs.schemes()
    }
}
