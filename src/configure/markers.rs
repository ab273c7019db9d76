//! What a plugin says about itself: `#%# family=...` and
//! `#%# capabilities=...` lines in its file, as Munin reads them. Our own
//! programs (`munin-plugins`, `tahoe-stats`) are binaries without such
//! lines; for a library entry that is one of them, the answer comes from
//! what the program knows it can do.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

/// Munin reads the whole file; a plugin is a script, and a binary bigger
/// than this is not one we would find markers in anyway.
const MAX_READ: u64 = 64 * 1024 * 1024;

/// The family and capabilities of a plugin file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Markers {
    pub family: Option<String>,
    pub capabilities: BTreeSet<String>,
}

/// The markers of library entry `name` at `path`. `Err` when the file
/// cannot be read (Munin then leaves the defaults).
pub fn read(name: &str, path: &Path) -> std::io::Result<Markers> {
    if let Some(known) = ours(name, path) {
        return Ok(known);
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_READ)
        .read_to_end(&mut bytes)?;
    Ok(parse(&bytes))
}

/// Munin's rules: on any line, `#%#` then blanks then `family` `=` a word;
/// or `capabilities` `=` a blank-separated list (each such line adds).
/// The last family line wins.
pub fn parse(bytes: &[u8]) -> Markers {
    let mut m = Markers {
        family: None,
        capabilities: BTreeSet::new(),
    };
    for line in bytes.split(|&b| b == b'\n') {
        let Some(at) = memchr::memmem::find(line, b"#%#") else {
            continue;
        };
        let line = String::from_utf8_lossy(&line[at..]);
        // Munin tries the family pattern first, anywhere on the line, and
        // only then the capabilities pattern.
        let values = |key: &'static str| {
            let line = &line;
            line.match_indices("#%#")
                .filter_map(move |(i, _)| value_of(&line[i + 3..], key))
        };
        if let Some(word) = values("family").find_map(|v| v.split_whitespace().next()) {
            m.family = Some(word.to_string());
        } else if let Some(v) = values("capabilities").find(|v| !v.trim().is_empty()) {
            m.capabilities
                .extend(v.split_whitespace().map(str::to_string));
        }
    }
    m
}

/// `  key = value` (at least one blank before `key`) → `value`.
fn value_of<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let trimmed = s.trim_start();
    if trimmed.len() == s.len() {
        return None;
    }
    let v = trimmed.strip_prefix(key)?.trim_start().strip_prefix('=')?;
    Some(v.trim_start())
}

/// Markers for our own programs, which carry none in their files.
fn ours(name: &str, path: &Path) -> Option<Markers> {
    let target = std::fs::canonicalize(path).ok()?;
    let program = target.file_name()?.to_str()?;
    let mut caps = BTreeSet::from(["autoconf".to_string()]);
    match program {
        crate::runner::builtin::PROGRAM => {
            let (plugin, _) = crate::plugins::lookup_for(name, Some("suggest"))?;
            if plugin.name().ends_with('_') && plugin.name() == name {
                caps.insert("suggest".into());
            }
        }
        "tahoe-stats" if name != "tahoe-stats" => {}
        _ => return None,
    }
    Some(Markers {
        family: Some("auto".into()),
        capabilities: caps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_family_and_capabilities_as_munin() {
        let m =
            parse(b"#!/bin/sh\n# foo\n#%# family=auto\n#%#  capabilities=autoconf   suggest \n");
        assert_eq!(m.family.as_deref(), Some("auto"));
        assert_eq!(
            m.capabilities.iter().collect::<Vec<_>>(),
            ["autoconf", "suggest"]
        );
    }

    #[test]
    fn needs_a_blank_after_the_marker_and_takes_the_last_family() {
        let m = parse(b"#%#family=auto\n#%# family = manual\n#%# family=contrib x\n");
        assert_eq!(m.family.as_deref(), Some("contrib"));
        assert!(m.capabilities.is_empty());
        assert_eq!(parse(b"#%#family=auto\n").family, None);
    }

    #[test]
    fn binary_garbage_is_no_marker() {
        let m = parse(&[0xff, 0, b'#', b'%', b'#', 0xfe, b'\n']);
        assert_eq!(m.family, None);
    }
}
