//! A test CA and certificates made with openssl at test time, as a Munin
//! admin makes them: a CA, then a key and certificate per side signed by
//! it, each side's key and certificate in one PEM file (Munin's
//! `munin-node.pem` and `munin.pem` layout).

use std::path::{Path, PathBuf};
use std::process::Command;

/// One CA's files in a directory.
pub struct Ca {
    pub dir: PathBuf,
    pub name: String,
}

impl Ca {
    /// The CA's certificate (`tls_ca_certificate`).
    pub fn cert(&self) -> PathBuf {
        self.dir.join(format!("{}.crt", self.name))
    }

    fn key(&self) -> PathBuf {
        self.dir.join(format!("{}.key", self.name))
    }

    /// A key and certificate for `cn`, signed by this CA, in one PEM file
    /// (`tls_private_key` and `tls_certificate`).
    pub fn issue(&self, cn: &str) -> PathBuf {
        let key = self.dir.join(format!("{cn}.key"));
        let csr = self.dir.join(format!("{cn}.csr"));
        let crt = self.dir.join(format!("{cn}.crt"));
        let ext = self.dir.join(format!("{cn}.ext"));
        std::fs::write(
            &ext,
            format!(
                "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
                 extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:{cn}\n"
            ),
        )
        .unwrap();
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            p(&key),
            "-out",
            p(&csr),
            "-subj",
            &format!("/C=NO/O=munin-rs tests/CN={cn}"),
        ]);
        openssl(&[
            "x509",
            "-req",
            "-in",
            p(&csr),
            "-CA",
            p(&self.cert()),
            "-CAkey",
            p(&self.key()),
            "-CAcreateserial",
            "-out",
            p(&crt),
            "-days",
            "2",
            "-extfile",
            p(&ext),
        ]);
        let pem = self.dir.join(format!("{cn}.pem"));
        let both = std::fs::read_to_string(&key).unwrap() + &std::fs::read_to_string(&crt).unwrap();
        std::fs::write(&pem, both).unwrap();
        pem
    }
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl (apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A new CA named `name` in `dir`.
pub fn ca(dir: &Path, name: &str) -> Ca {
    std::fs::create_dir_all(dir).unwrap();
    let ca = Ca {
        dir: dir.to_path_buf(),
        name: name.to_string(),
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        p(&ca.key()),
        "-out",
        p(&ca.cert()),
        "-days",
        "2",
        "-subj",
        &format!("/C=NO/O=munin-rs tests/CN={name}"),
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    ca
}

/// The munin.conf or munin-node.conf lines for `tls paranoid` with
/// verification, with `pem` as key and certificate.
pub fn paranoid_lines(ca: &Ca, pem: &Path) -> String {
    format!(
        "tls paranoid\ntls_verify_certificate yes\ntls_private_key {0}\ntls_certificate {0}\ntls_ca_certificate {1}\n",
        pem.display(),
        ca.cert().display()
    )
}
