//! What is checked once the handshake is done, as Munin checks it: a
//! `paranoid` side wants the peer's certificate verified, and `tls_match`
//! is a regular expression tried on Munin's text of that certificate:
//!
//! ```text
//! Subject Name: /C=NO/O=Example/CN=node1
//! Issuer  Name: /C=NO/O=Example/CN=Example CA
//! ```
//!
//! (Net::SSLeay's `dump_peer_certificate`, names in OpenSSL's one-line
//! form), so a pattern written for Munin matches here too.

use regex_lite::Regex;
use rustls_pki_types::CertificateDer;
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};

/// Munin's text of a certificate; for no certificate, its
/// `undefined` text.
pub fn dump(cert: Option<&CertificateDer<'_>>) -> String {
    let parsed = cert.and_then(|c| X509Certificate::from_der(c.as_ref()).ok());
    match parsed {
        None => "Subject Name: undefined\nIssuer  Name: undefined\n".to_string(),
        Some((_, c)) => format!(
            "Subject Name: {}\nIssuer  Name: {}\n",
            oneline(c.subject()),
            oneline(c.issuer())
        ),
    }
}

/// `/C=NO/CN=name`: each attribute by OpenSSL's short name, or its OID.
fn oneline(name: &X509Name<'_>) -> String {
    let registry = x509_parser::objects::oid_registry();
    let mut out = String::new();
    for rdn in name.iter_rdn() {
        for attr in rdn.iter() {
            let key = x509_parser::objects::oid2sn(attr.attr_type(), registry)
                .map(str::to_string)
                .unwrap_or_else(|_| attr.attr_type().to_id_string());
            let value = attr.as_str().unwrap_or("<binary>");
            out.push('/');
            out.push_str(&key);
            out.push('=');
            out.push_str(value);
        }
    }
    out
}

/// Why a finished handshake is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "tls paranoid: the peer presented no verified certificate{}",
        if *.asked { "" } else { " (a node asks for one only with tls_verify_certificate yes)" }
    )]
    Unverified { asked: bool },
    #[error("tls_match {pattern:?} does not match the peer's certificate: {dump:?}")]
    Unmatched { pattern: String, dump: String },
}

/// The checks after the handshake. `verified`: the peer presented a
/// certificate that passed the configured verification.
pub fn accept(
    paranoid: bool,
    verified: bool,
    asked: bool,
    pattern: Option<(&str, &Regex)>,
    cert: Option<&CertificateDer<'_>>,
) -> Result<(), Refusal> {
    if paranoid && !verified {
        return Err(Refusal::Unverified { asked });
    }
    if let Some((text, re)) = pattern {
        let dump = dump(cert);
        if !re.is_match(&dump) {
            return Err(Refusal::Unmatched {
                pattern: text.to_string(),
                dump,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_certificate_is_munins_undefined_text() {
        assert_eq!(
            dump(None),
            "Subject Name: undefined\nIssuer  Name: undefined\n"
        );
        let re = Regex::new("CN=node1").unwrap();
        let e = accept(false, false, true, Some(("CN=node1", &re)), None).unwrap_err();
        assert!(matches!(e, Refusal::Unmatched { .. }), "{e}");
        assert_eq!(
            accept(true, false, false, None, None),
            Err(Refusal::Unverified { asked: false })
        );
        assert!(accept(true, true, true, None, None).is_ok());
    }
}
