//! Keys, certificates and CA certificates read from PEM files, with errors
//! naming the file.
//!
//! A key and its certificate may share one file (Munin's default
//! `munin-node.pem` holds both), so each reader takes the items it wants
//! from whatever the file holds.

use std::path::Path;

use rustls::RootCertStore;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// A certificate chain and its key.
#[derive(Debug)]
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl Clone for Identity {
    fn clone(&self) -> Identity {
        Identity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

fn named(path: &Path, why: impl std::fmt::Display) -> String {
    format!("{}: {why}", path.display())
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| named(path, e))
}

/// The first private key in `path` (PKCS#8, PKCS#1 or SEC1).
pub fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let bytes = read(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        pem::Error::NoItemsFound => named(path, "no private key in the file"),
        e => named(path, e),
    })
}

/// Every certificate in `path`, in order (the node's own first).
pub fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| named(path, e))?;
    if certs.is_empty() {
        return Err(named(path, "no certificate in the file"));
    }
    Ok(certs)
}

/// The CA certificates in `path` as trust anchors.
pub fn roots(path: &Path) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    for cert in certificates(path)? {
        store
            .add(cert)
            .map_err(|e| named(path, format!("not a usable CA certificate: {e}")))?;
    }
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "nothing here\n").unwrap();
        let e = private_key(&empty).unwrap_err();
        assert!(e.contains("empty.pem: no private key"), "{e}");
        let e = certificates(&empty).unwrap_err();
        assert!(e.contains("empty.pem: no certificate"), "{e}");
        let e = roots(&dir.path().join("absent.pem")).unwrap_err();
        assert!(e.contains("absent.pem"), "{e}");
    }
}
