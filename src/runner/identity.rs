//! The user and groups a plugin runs as.
//!
//! When the node runs as root, each plugin runs as the `user` and `group` of
//! its plugin-conf.d section, else as the default plugin user (`nobody`, or
//! `default_plugin_user` from munin-node.conf) and the default group (the
//! `munin` group where it exists, else `nogroup`, else the user's own group;
//! `default_plugin_group` overrides). The group list becomes the supplementary
//! groups; `(name)` marks a group that is skipped when it does not exist.
//! Users and groups may be names or numeric ids.
//!
//! When the node is not root it cannot switch, so plugins run as the node's
//! own user (the real node prints a warning into the plugin output instead;
//! we log it once at start-up).

use nix::unistd::{Gid, Group, Uid, User};

use crate::config::plugin_conf::Section;

/// The ids to switch to in the child before `exec`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switch {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

/// Who a plugin runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// User name, used for the per-user plugin state directory.
    pub user_name: String,
    pub uid: u32,
    /// `None` when the node is not root and the plugin runs as the node's user.
    pub switch: Option<Switch>,
}

/// The defaults that apply when a section names no user or group.
#[derive(Debug, Clone)]
pub struct Defaults {
    pub user: String,
    pub gid: u32,
}

impl Defaults {
    /// Resolves the configured defaults; errors name the missing user/group.
    pub fn resolve(user: Option<&str>, group: Option<&str>) -> Result<Defaults, String> {
        let user = user.unwrap_or("nobody").to_string();
        let gid = match group {
            Some(g) => lookup_group(g)
                .ok_or_else(|| format!("default plugin group {g:?} does not exist"))?,
            None => ["munin", "nogroup"]
                .iter()
                .find_map(|g| lookup_group(g))
                .or_else(|| lookup_user(&user).map(|u| u.gid.as_raw()))
                .unwrap_or(65534),
        };
        Ok(Defaults { user, gid })
    }
}

fn lookup_user(spec: &str) -> Option<User> {
    let found = match spec.parse::<u32>() {
        Ok(n) => User::from_uid(Uid::from_raw(n)),
        Err(_) => User::from_name(spec),
    };
    found.ok().flatten()
}

fn lookup_group(spec: &str) -> Option<u32> {
    match spec.parse::<u32>() {
        Ok(n) => Group::from_gid(Gid::from_raw(n)).ok().flatten().map(|_| n),
        Err(_) => Group::from_name(spec)
            .ok()
            .flatten()
            .map(|g| g.gid.as_raw()),
    }
}

/// The identity of the process itself, used when it cannot switch.
pub fn current() -> Identity {
    let uid = nix::unistd::getuid();
    let user_name = User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| uid.to_string());
    Identity {
        user_name,
        uid: uid.as_raw(),
        switch: None,
    }
}

/// Resolves who plugin `service` with settings `section` runs as.
pub fn resolve(
    service: &str,
    section: &Section,
    defaults: &Defaults,
    as_root: bool,
) -> Result<Identity, String> {
    if !as_root {
        return Ok(current());
    }
    let spec = section.user.as_deref().unwrap_or(&defaults.user);
    let user = lookup_user(spec)
        .ok_or_else(|| format!("user {spec:?} required for plugin {service:?} does not exist"))?;
    let mut groups = Vec::new();
    for g in section.group.iter().flatten() {
        let (name, optional) = match g.strip_prefix('(').and_then(|s| s.strip_suffix(')')) {
            Some(inner) => (inner, true),
            None => (g.as_str(), false),
        };
        match lookup_group(name) {
            Some(gid) => groups.push(gid),
            None if optional => {}
            None => {
                return Err(format!(
                    "group {name:?} required for plugin {service:?} does not exist"
                ));
            }
        }
    }
    let gid = groups.first().copied().unwrap_or(defaults.gid);
    if groups.is_empty() {
        groups.push(gid);
    }
    Ok(Identity {
        user_name: user.name,
        uid: user.uid.as_raw(),
        switch: Some(Switch {
            uid: user.uid.as_raw(),
            gid,
            groups,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(user: Option<&str>, group: Option<&[&str]>) -> Section {
        Section {
            user: user.map(str::to_string),
            group: group.map(|g| g.iter().map(|s| s.to_string()).collect()),
            ..Section::default()
        }
    }

    fn defaults() -> Defaults {
        Defaults {
            user: "nobody".into(),
            gid: 4242,
        }
    }

    #[test]
    fn default_user_and_group() {
        let id = resolve("p", &section(None, None), &defaults(), true).unwrap();
        assert_eq!(id.user_name, "nobody");
        let sw = id.switch.unwrap();
        assert_eq!(sw.gid, 4242);
        assert_eq!(sw.groups, vec![4242]);
    }

    #[test]
    fn root_user_numeric_ids_and_optional_groups() {
        let id = resolve(
            "p",
            &section(Some("0"), Some(&["(no-such-group-xyz)", "0"])),
            &defaults(),
            true,
        )
        .unwrap();
        assert_eq!(id.uid, 0);
        assert_eq!(id.user_name, "root");
        assert_eq!(id.switch.unwrap().groups, vec![0]);
    }

    #[test]
    fn missing_user_or_group_is_an_error_naming_it() {
        let e = resolve(
            "p",
            &section(Some("no-such-user-xyz"), None),
            &defaults(),
            true,
        )
        .unwrap_err();
        assert!(e.contains("no-such-user-xyz") && e.contains("\"p\""), "{e}");
        let e = resolve(
            "p",
            &section(None, Some(&["no-such-group-xyz"])),
            &defaults(),
            true,
        )
        .unwrap_err();
        assert!(e.contains("no-such-group-xyz"), "{e}");
    }

    #[test]
    fn without_root_the_plugin_runs_as_us() {
        let id = resolve(
            "p",
            &section(Some("no-such-user-xyz"), None),
            &defaults(),
            false,
        )
        .unwrap();
        assert_eq!(id.switch, None);
        assert_eq!(id.uid, nix::unistd::getuid().as_raw());
    }
}
