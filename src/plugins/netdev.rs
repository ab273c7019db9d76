//! Interface counters for `if_` and `if_err_`: `/sys/class/net/<if>/statistics`
//! where the kernel has it, else /proc/net/dev; and the interfaces worth a
//! graph (`suggest`).

use crate::proc::ProcRoot;

/// One interface's line of /proc/net/dev: the 16 counters after the colon
/// (receive: bytes packets errs drop fifo frame compressed multicast;
/// transmit: bytes packets errs drop fifo colls carrier compressed).
pub fn parse_line<'a>(netdev: &'a str, iface: &str) -> Option<Vec<&'a str>> {
    netdev.lines().find_map(|l| {
        let (name, rest) = l.split_once(':')?;
        (name.trim() == iface).then(|| rest.split_whitespace().collect())
    })
}

/// Interface names of /proc/net/dev, in file order.
pub fn interfaces(netdev: &str) -> Vec<&str> {
    netdev
        .lines()
        .filter_map(|l| Some(l.split_once(':')?.0.trim()))
        .filter(|n| !n.is_empty())
        .collect()
}

/// Whether `suggest` leaves an interface out, as Munin's plugins do:
/// loopback, `greN` (one digit), `sitN` and VLAN names like `eth0.100`.
pub fn skip_suggest(name: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if name == "lo" {
        return true;
    }
    if let Some(n) = name.strip_prefix("gre")
        && n.len() == 1
        && digits(n)
    {
        return true;
    }
    if name.strip_prefix("sit").is_some_and(digits) {
        return true;
    }
    if let Some((base, vlan)) = name.split_once('.') {
        return !base.is_empty()
            && base
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && digits(vlan);
    }
    false
}

/// The interfaces `suggest` lists.
pub fn suggest(root: &ProcRoot) -> Vec<String> {
    let Ok(text) = root.read_proc("net/dev") else {
        return Vec::new();
    };
    interfaces(&text)
        .into_iter()
        .filter(|n| !skip_suggest(n))
        .map(str::to_string)
        .collect()
}

/// Counters by sysfs name (`rx_bytes`, ...), from sysfs when it has the
/// interface, else from the matching /proc/net/dev columns; `None` for an
/// unknown interface.
pub fn counters(root: &ProcRoot, iface: &str, names: &[(&str, usize)]) -> Option<Vec<String>> {
    if iface.contains('/') || iface.is_empty() {
        return None;
    }
    let base = format!("class/net/{iface}/statistics");
    if root.read_sys(&format!("{base}/rx_bytes")).is_ok() {
        return Some(
            names
                .iter()
                .map(|(n, _)| {
                    root.read_sys(&format!("{base}/{n}"))
                        .map(|t| t.trim().to_string())
                        .unwrap_or_default()
                })
                .collect(),
        );
    }
    let netdev = root.read_proc("net/dev").ok()?;
    let cols = parse_line(&netdev, iface)?;
    Some(
        names
            .iter()
            .map(|(_, i)| cols.get(*i).map(|v| v.to_string()).unwrap_or_default())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NETDEV: &str = "Inter-|   Receive                                                |  Transmit\n \
face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n\
    lo:  123 4 0 0 0 0 0 0 123 4 0 0 0 0 0 0\n  eth0: 100791507 8000 1 2 0 0 0 0 327191 3000 3 4 0 5 0 0\n";

    #[test]
    fn lines_and_names() {
        let cols = parse_line(NETDEV, "eth0").unwrap();
        assert_eq!(
            (cols[0], cols[8], cols[2], cols[13]),
            ("100791507", "327191", "1", "5")
        );
        assert_eq!(interfaces(NETDEV), vec!["lo", "eth0"]);
        assert!(parse_line(NETDEV, "eth1").is_none());
    }

    #[test]
    fn suggest_filter() {
        for skip in ["lo", "gre0", "sit0", "sit12", "eth0.100", "br0.5"] {
            assert!(skip_suggest(skip), "{skip}");
        }
        for keep in ["eth0", "gre10", "ens3", "eth-0.100", "wlan0", "sit"] {
            assert!(!skip_suggest(keep), "{keep}");
        }
    }
}
