//! TLS between master and node, as Munin 2.0 does it: plain text up to the
//! banner, then `STARTTLS`, then a TLS session on the same connection.
//!
//! The node answers `TLS OK` when it has a key and certificate (it is then
//! the TLS server) and `TLS MAYBE` when it has none (it is then the TLS
//! client, and the master must have a key); the roles are Munin's. Each
//! side's `tls` says how much it insists:
//!
//! - `disabled`: the master never asks; a node still answers a master that
//!   asks (Munin's node does).
//! - `auto`: the master asks and goes on in plain text when the node does
//!   not know `STARTTLS`.
//! - `enabled`: TLS or nothing; a node closes a session whose first
//!   command is not `STARTTLS`.
//! - `paranoid`: as `enabled`, and the key must load and the peer's
//!   certificate must be verified (on the node: the master must present
//!   one, which it is only asked for with `tls_verify_certificate yes`).
//!
//! `tls_verify_certificate` checks the peer's chain against
//! `tls_ca_certificate` (not its name: Munin never did; `tls_match` is the
//! way to pin a peer) and `tls_verify_depth` bounds the chain;
//! `tls_match` is a regular expression tried on Munin's text of the peer's
//! certificate (`Subject Name: /C=../CN=..` and `Issuer  Name: ...`).
//!
//! - [`files`]: keys, certificates and CAs read from PEM files.
//! - [`verify`]: the certificate checks Munin's settings ask for.
//! - [`peer`]: what is checked after the handshake (paranoid, `tls_match`).
//! - [`stream`]: one boxed byte stream for TCP, pipes and TLS, and the
//!   bytes read ahead before the handshake.
//! - [`handshake`]: [`Context`] (the settings, loaded) and the handshake in
//!   either role.

pub mod files;
pub mod handshake;
pub mod peer;
pub mod stream;
pub mod verify;

use std::path::PathBuf;

pub use handshake::{Context, Side, TlsError};

/// How much a side insists on TLS (`tls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Disabled,
    Auto,
    Enabled,
    Paranoid,
}

impl Mode {
    /// `disabled`, `auto`, `enabled` or `paranoid`, in any case.
    pub fn parse(word: &str) -> Result<Mode, String> {
        match word.to_ascii_lowercase().as_str() {
            "disabled" => Ok(Mode::Disabled),
            "auto" => Ok(Mode::Auto),
            "enabled" => Ok(Mode::Enabled),
            "paranoid" => Ok(Mode::Paranoid),
            _ => Err(format!(
                "tls {word:?}: expected disabled, auto, enabled or paranoid"
            )),
        }
    }

    /// TLS or nothing.
    pub fn required(self) -> bool {
        matches!(self, Mode::Enabled | Mode::Paranoid)
    }
}

/// One side's TLS settings, with Munin's defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Settings {
    pub mode: Mode,
    pub private_key: PathBuf,
    pub certificate: PathBuf,
    pub ca_certificate: PathBuf,
    pub verify: bool,
    pub verify_depth: u32,
    /// `tls_match`, as written.
    pub matches: Option<String>,
}

impl Settings {
    /// The node's defaults (`/etc/munin/munin-node.pem`, `tls auto`).
    pub fn node_defaults() -> Settings {
        Settings::with_pem(Mode::Auto, "/etc/munin/munin-node.pem")
    }

    /// The master's defaults (`/etc/munin/munin.pem`, `tls disabled`).
    pub fn master_defaults() -> Settings {
        Settings::with_pem(Mode::Disabled, "/etc/munin/munin.pem")
    }

    fn with_pem(mode: Mode, pem: &str) -> Settings {
        Settings {
            mode,
            private_key: pem.into(),
            certificate: pem.into(),
            ca_certificate: "/etc/munin/cacert.pem".into(),
            verify: false,
            verify_depth: 5,
            matches: None,
        }
    }

    /// Sets one `tls*` key; `Ok(false)` when `key` is not one.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, String> {
        match key {
            "tls" => self.mode = Mode::parse(value)?,
            "tls_private_key" => self.private_key = value.into(),
            "tls_certificate" => self.certificate = value.into(),
            "tls_ca_certificate" => self.ca_certificate = value.into(),
            "tls_verify_certificate" => self.verify = munin_bool(value)?,
            "tls_verify_depth" => {
                self.verify_depth = value
                    .parse()
                    .map_err(|_| format!("tls_verify_depth {value:?} is not a number"))?
            }
            "tls_match" => self.matches = Some(value.to_string()),
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// A boolean as Munin reads one (`yes`, `no`, `true`, `false`, `on`,
/// `off`, `1`, `0`).
fn munin_bool(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" | "1" => Ok(true),
        "no" | "false" | "off" | "0" => Ok(false),
        _ => Err(format!("{value:?} is not a boolean (yes or no)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_defaults() {
        let mut s = Settings::node_defaults();
        assert_eq!(s.mode, Mode::Auto);
        assert!(s.set("tls", "Paranoid").unwrap());
        assert!(s.set("tls_verify_certificate", "yes").unwrap());
        assert!(s.set("tls_verify_depth", "2").unwrap());
        assert!(!s.set("host_name", "x").unwrap());
        assert_eq!(
            (s.mode, s.verify, s.verify_depth),
            (Mode::Paranoid, true, 2)
        );
        assert!(s.set("tls", "sometimes").is_err());
        assert!(s.set("tls_verify_certificate", "maybe").is_err());
        assert_eq!(Settings::master_defaults().mode, Mode::Disabled);
    }
}
