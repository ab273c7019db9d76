//! Munin's RRD file layout: `<dbdir>/<group>/.../<host>-<service>-<field>-<t>.rrd`.
//!
//! A multigraph child `parent.child` becomes `parent-child`; a field name
//! is sanitised as Munin does (first character outside `[A-Za-z_]`, others
//! outside `[A-Za-z0-9_]`, become `_`); `<t>` is the type's first letter.
//! Service names come from the network, so one that could leave the
//! directory (`/`, a leading `.`, NUL) is refused, never cleaned into
//! something else.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::master::conf::Host;

/// A field's data source type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DsType {
    Gauge,
    Counter,
    Derive,
    Absolute,
}

impl DsType {
    /// The `type` attribute; anything else is refused by the caller.
    pub fn parse(s: &str) -> Option<DsType> {
        match s.trim().to_ascii_uppercase().as_str() {
            "GAUGE" => Some(DsType::Gauge),
            "COUNTER" => Some(DsType::Counter),
            "DERIVE" => Some(DsType::Derive),
            "ABSOLUTE" => Some(DsType::Absolute),
            _ => None,
        }
    }

    pub fn letter(self) -> char {
        match self {
            DsType::Gauge => 'g',
            DsType::Counter => 'c',
            DsType::Derive => 'd',
            DsType::Absolute => 'a',
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DsType::Gauge => "GAUGE",
            DsType::Counter => "COUNTER",
            DsType::Derive => "DERIVE",
            DsType::Absolute => "ABSOLUTE",
        }
    }
}

/// Munin's field-name sanitising.
pub fn sanitise_field(field: &str) -> String {
    field
        .chars()
        .enumerate()
        .map(|(i, c)| if kept(i, c) { c } else { '_' })
        .collect()
}

/// Whether Munin keeps the `i`th character `c` of a field name.
fn kept(i: usize, c: char) -> bool {
    c == '_'
        || if i == 0 {
            c.is_ascii_alphabetic()
        } else {
            c.is_ascii_alphanumeric()
        }
}

/// Whether sanitising leaves `field` as it is (most names).
fn is_sanitised(field: &str) -> bool {
    field.chars().enumerate().all(|(i, c)| kept(i, c))
}

/// A service name as it appears in file names, or why it cannot.
pub fn service_part(service: &str) -> Result<String, String> {
    if service.is_empty()
        || service.starts_with('.')
        || service.contains(['/', '\0'])
        || service.chars().any(char::is_control)
        || service.len() > 200
    {
        return Err(format!(
            "service name {service:?} cannot be part of a file name"
        ));
    }
    Ok(service.replace('.', "-"))
}

/// The RRD file of one field of one service of `host`.
pub fn rrd_path(
    dbdir: &Path,
    host: &Host,
    service: &str,
    field: &str,
    ds: DsType,
) -> Result<PathBuf, String> {
    Ok(ServiceFiles::new(dbdir, host, service)?.field(field, ds))
}

/// Where the files of one service of a host go: what their paths share
/// is made once, and each field's path from it (a run makes 100,000).
pub struct ServiceFiles {
    /// `<dbdir>/<group>/.../<host>-<service>-`.
    prefix: OsString,
}

impl ServiceFiles {
    pub fn new(dbdir: &Path, host: &Host, service: &str) -> Result<ServiceFiles, String> {
        let mut p = dbdir.to_path_buf();
        for g in &host.groups {
            p.push(g);
        }
        p.push(format!("{}-{}-", host.name, service_part(service)?));
        Ok(ServiceFiles {
            prefix: p.into_os_string(),
        })
    }

    /// The file of `field`.
    pub fn field(&self, field: &str, ds: DsType) -> PathBuf {
        let mut name = OsString::with_capacity(self.prefix.len() + field.len() + 6);
        name.push(&self.prefix);
        if is_sanitised(field) {
            name.push(field);
        } else {
            name.push(sanitise_field(field));
        }
        name.push("-");
        name.push(ds.letter().encode_utf8(&mut [0; 4]));
        name.push(".rrd");
        PathBuf::from(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> Host {
        Host {
            address: "x".into(),
            ..Host::new(vec!["a".into(), "b".into()], "h.example")
        }
    }

    #[test]
    fn munin_names() {
        let p = rrd_path(
            Path::new("/db"),
            &host(),
            "test_multigraph.sub1",
            "a",
            DsType::Gauge,
        )
        .unwrap();
        assert_eq!(
            p,
            Path::new("/db/a/b/h.example-test_multigraph-sub1-a-g.rrd")
        );
        assert_eq!(sanitise_field("1st-value.x"), "_st_value_x");
        assert_eq!(sanitise_field("_ok9"), "_ok9");
        let files = ServiceFiles::new(Path::new("/db"), &host(), "if_eth0").unwrap();
        for (field, ds, file) in [
            ("rx", DsType::Derive, "h.example-if_eth0-rx-d.rrd"),
            (
                "1st-value.x",
                DsType::Counter,
                "h.example-if_eth0-_st_value_x-c.rrd",
            ),
            ("é", DsType::Absolute, "h.example-if_eth0-_-a.rrd"),
        ] {
            assert_eq!(files.field(field, ds), Path::new("/db/a/b").join(file));
        }
        assert_eq!(DsType::parse("derive").map(DsType::letter), Some('d'));
        assert_eq!(DsType::parse("GAUGEX"), None);
    }

    #[test]
    fn names_from_the_network_never_leave_dbdir() {
        for bad in ["../x", "a/b", ".hidden", "", "a\0b", "..", "x\ny"] {
            assert!(
                rrd_path(Path::new("/db"), &host(), bad, "f", DsType::Gauge).is_err(),
                "{bad:?}"
            );
        }
        // A field name is cleaned: `..` and `/` become `_`.
        let p = rrd_path(Path::new("/db"), &host(), "s", "../../etc", DsType::Gauge).unwrap();
        assert_eq!(p, Path::new("/db/a/b/h.example-s-______etc-g.rrd"));
    }
}
