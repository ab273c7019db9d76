//! Who may talk to the node: `allow`/`deny` regexes and `cidr_allow`/`cidr_deny`.
//!
//! The rules are Net::Server's, as observed on the real node:
//! - a `deny` or `cidr_deny` match refuses the client, whatever else matches;
//! - otherwise any `allow` or `cidr_allow` match admits it;
//! - otherwise, if any rule at all is configured, the client is refused.
//!
//! `allow`/`deny` patterns are anchored at both ends (`allow 127` does not
//! admit 127.0.0.1), as Net::Server matches `/^PATTERN$/`.
//!
//! Where Net::Server admits everybody when no rule is configured, we admit only
//! loopback clients: a node that runs plugins must not be open to the network
//! because a line was forgotten. IPv4-mapped IPv6 peers (`::ffff:10.0.0.1`, as
//! a dual-stack socket reports IPv4 clients) are matched in their IPv4 form.

use std::net::IpAddr;

use regex_lite::Regex;

/// An IP network such as `10.0.0.0/8` or `2001:db8::/32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `ADDR/PREFIX`; a bare address means that single host.
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let (addr_part, prefix_part) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr_part
            .parse()
            .map_err(|_| format!("{addr_part:?} is not an IP address"))?;
        let addr = canonical(addr);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix_part {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => return Err(format!("{p:?} is not a prefix length from 0 to {max}")),
            },
        };
        Ok(Cidr { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(
                u32::from(net) as u128,
                u32::from(ip) as u128,
                self.prefix,
                32,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(u128::from(net), u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: u128, b: u128, prefix: u8, bits: u8) -> bool {
    if prefix == 0 {
        return true;
    }
    let shift = bits - prefix;
    (a >> shift) == (b >> shift)
}

/// The IPv4 form of an IPv4-mapped IPv6 address; other addresses unchanged.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// The configured rules, in the order Net::Server checks them.
#[derive(Debug, Default)]
pub struct AccessList {
    allow: Vec<Regex>,
    deny: Vec<Regex>,
    cidr_allow: Vec<Cidr>,
    cidr_deny: Vec<Cidr>,
}

impl AccessList {
    /// Adds one rule from a config line (`kind` is the key).
    pub fn add_rule(&mut self, kind: &str, value: &str) -> Result<(), String> {
        match kind {
            "allow" | "deny" => {
                let re = Regex::new(&format!("^(?:{value})$"))
                    .map_err(|e| format!("invalid regular expression {value:?}: {e}"))?;
                if kind == "allow" {
                    &mut self.allow
                } else {
                    &mut self.deny
                }
                .push(re);
            }
            "cidr_allow" | "cidr_deny" => {
                let cidr = Cidr::parse(value)?;
                if kind == "cidr_allow" {
                    &mut self.cidr_allow
                } else {
                    &mut self.cidr_deny
                }
                .push(cidr);
            }
            _ => return Err(format!("unknown access rule {kind:?}")),
        }
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.allow.is_empty()
            && self.deny.is_empty()
            && self.cidr_allow.is_empty()
            && self.cidr_deny.is_empty()
    }

    /// Whether a client at `peer` may connect.
    pub fn permits(&self, peer: IpAddr) -> bool {
        let peer = canonical(peer);
        if self.is_empty() {
            return peer.is_loopback();
        }
        let text = peer.to_string();
        if self.deny.iter().any(|re| re.is_match(&text))
            || self.cidr_deny.iter().any(|c| c.contains(peer))
        {
            return false;
        }
        self.allow.iter().any(|re| re.is_match(&text))
            || self.cidr_allow.iter().any(|c| c.contains(peer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(rules: &[(&str, &str)]) -> AccessList {
        let mut l = AccessList::default();
        for (k, v) in rules {
            l.add_rule(k, v).unwrap();
        }
        l
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const LOCAL: &str = "127.0.0.1";

    // Each case is one row of the table observed on the real node (PROTOCOL.md §8).
    #[test]
    fn net_server_table() {
        let allow_local = ("allow", r"^127\.0\.0\.1$");
        assert!(list(&[allow_local]).permits(ip(LOCAL)));
        assert!(!list(&[("allow", r"^10\.1\.2\.3$")]).permits(ip(LOCAL)));
        assert!(
            !list(&[("allow", "127")]).permits(ip(LOCAL)),
            "patterns are anchored"
        );
        assert!(!list(&[("allow", r"127\.0")]).permits(ip(LOCAL)));
        assert!(list(&[("cidr_allow", "127.0.0.0/8")]).permits(ip(LOCAL)));
        assert!(!list(&[("cidr_allow", "10.0.0.0/8")]).permits(ip(LOCAL)));
        assert!(
            !list(&[("cidr_deny", "10.0.0.0/8")]).permits(ip(LOCAL)),
            "any rule => default deny"
        );
        assert!(!list(&[allow_local, ("cidr_deny", "127.0.0.1/32")]).permits(ip(LOCAL)));
        assert!(!list(&[allow_local, ("deny", r"^127\.0\.0\.1$")]).permits(ip(LOCAL)));
        assert!(list(&[("cidr_allow", "10.0.0.0/8"), allow_local]).permits(ip(LOCAL)));
    }

    #[test]
    fn no_rules_means_loopback_only() {
        let l = AccessList::default();
        assert!(l.permits(ip("127.0.0.1")));
        assert!(l.permits(ip("127.9.9.9")));
        assert!(l.permits(ip("::1")));
        assert!(l.permits(ip("::ffff:127.0.0.1")));
        assert!(!l.permits(ip("10.0.0.1")));
        assert!(!l.permits(ip("::ffff:10.0.0.1")));
        assert!(!l.permits(ip("2001:db8::1")));
    }

    #[test]
    fn mapped_ipv6_is_matched_as_ipv4() {
        assert!(list(&[("allow", r"^127\.0\.0\.1$")]).permits(ip("::ffff:127.0.0.1")));
        assert!(list(&[("cidr_allow", "192.0.2.0/24")]).permits(ip("::ffff:192.0.2.7")));
        assert!(!list(&[("allow", "^::1$")]).permits(ip("::ffff:127.0.0.1")));
        assert!(list(&[("allow", "^::1$")]).permits(ip("::1")));
    }

    #[test]
    fn cidr_edges() {
        let c = Cidr::parse("192.0.2.0/24").unwrap();
        assert!(c.contains(ip("192.0.2.255")));
        assert!(!c.contains(ip("192.0.3.0")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(
            Cidr::parse("2001:db8::/32")
                .unwrap()
                .contains(ip("2001:db8:1::5"))
        );
        assert!(
            !Cidr::parse("2001:db8::/32")
                .unwrap()
                .contains(ip("10.0.0.1"))
        );
        assert!(Cidr::parse("10.0.0.1").unwrap().contains(ip("10.0.0.1")));
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("ten/8").is_err());
    }
}
