//! Access rules: which addresses may connect at all, as a firewall would say it (`--allow
//! 10.0.0.0/8`, `--deny 10.0.0.66`). Pure: admission asks [`AccessRules::allows`] about each new
//! connection before it counts it against any limit.
//!
//! Rules are tried in the order given and the first whose network holds the address decides.
//! When none does, the address may connect unless an allow rule was given: a list of allow rules
//! is a list of who may come, a list of deny rules a list of who may not.
//!
//! One address, one family: a client that reaches an IPv6 listener over IPv4 arrives as a
//! v4-mapped address (`::ffff:10.1.2.3`), and is treated as the IPv4 address it is (10.1.2.3).
//! A rule written in the v4-mapped form (`::ffff:10.0.0.0/104`) is the IPv4 rule it names
//! (`10.0.0.0/8`). So `0.0.0.0/0` matches every IPv4 client and `::/0` every IPv6 one, however
//! the socket was opened.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

/// A network: an address and how many of its leading bits must match (`10.0.0.0/8`). The bits
/// after the prefix are ignored, as a firewall does: `10.1.2.3/8` is `10.0.0.0/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

/// Why a text is not a CIDR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CidrError {
    /// Nothing was given.
    Empty,
    /// The text before the `/` (or the whole text) is not an IPv4 or IPv6 address.
    NotAnAddress,
    /// The text after the `/` is not a decimal number.
    BadPrefix,
    /// The prefix is longer than the address: over 32 for IPv4, over 128 for IPv6.
    PrefixTooLong { width: u8 },
}

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CidrError::Empty => write!(f, "it is empty"),
            CidrError::NotAnAddress => write!(f, "not an IPv4 or IPv6 address"),
            CidrError::BadPrefix => write!(f, "the prefix length after '/' must be a number"),
            CidrError::PrefixTooLong { width } => {
                let family = if *width == 32 { "IPv4" } else { "IPv6" };
                write!(
                    f,
                    "the prefix is longer than the {width} bits of an {family} address"
                )
            }
        }
    }
}

impl std::error::Error for CidrError {}

/// The bits in an address of the same family as `addr`.
fn width(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

impl Cidr {
    /// The network of the `prefix` leading bits of `addr`.
    ///
    /// # Errors
    /// [`CidrError::PrefixTooLong`] when `prefix` is over the bits of `addr` (32 or 128).
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Cidr, CidrError> {
        let width = width(addr);
        if prefix > width {
            return Err(CidrError::PrefixTooLong { width });
        }
        Ok(Cidr { addr, prefix })
    }

    /// Exactly one address: `/32` for IPv4, `/128` for IPv6.
    pub fn single(addr: IpAddr) -> Cidr {
        Cidr {
            addr,
            prefix: width(addr),
        }
    }

    /// Whether `ip` is in this network. An IPv4 network holds the v4-mapped form of its
    /// addresses too, and a network written in v4-mapped form holds the IPv4 addresses it maps
    /// (see the module's comment); otherwise an address is never in a network of the other
    /// family.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.canonical(), ip.to_canonical()) {
            ((IpAddr::V4(net), prefix), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            ((IpAddr::V6(net), prefix), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }

    /// This network with a v4-mapped IPv6 network (`::ffff:0:0/96` or longer) as the IPv4
    /// network it stands for.
    fn canonical(&self) -> (IpAddr, u8) {
        match self.addr {
            IpAddr::V6(v6) if self.prefix >= 96 && is_v4_mapped(v6) => {
                (v6.to_canonical(), self.prefix - 96)
            }
            addr => (addr, self.prefix),
        }
    }
}

fn is_v4_mapped(addr: Ipv6Addr) -> bool {
    matches!(addr.segments(), [0, 0, 0, 0, 0, 0xffff, _, _])
}

impl FromStr for Cidr {
    type Err = CidrError;

    /// `ADDRESS/PREFIX` (`10.0.0.0/8`, `::1/128`) or a bare address (`127.0.0.2`, `::1`), which
    /// is that address alone.
    fn from_str(text: &str) -> Result<Cidr, CidrError> {
        if text.is_empty() {
            return Err(CidrError::Empty);
        }
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| CidrError::NotAnAddress)?;
        let Some(prefix) = prefix else {
            return Ok(Cidr::single(addr));
        };
        // Digits only: u8's parser would take "+8", and no firewall writes that.
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CidrError::BadPrefix);
        }
        // All digits, so the only way not to fit in a u8 is to be far too long.
        let prefix = prefix
            .parse()
            .map_err(|_| CidrError::PrefixTooLong { width: width(addr) })?;
        Cidr::new(addr, prefix)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// One access rule: the clients of a network may connect, or may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Allow(Cidr),
    Deny(Cidr),
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Allow(cidr) => write!(f, "allow {cidr}"),
            Rule::Deny(cidr) => write!(f, "deny {cidr}"),
        }
    }
}

/// The access rules, in the order they are tried. The default has none: everyone may connect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessRules {
    rules: Vec<Rule>,
}

impl AccessRules {
    /// Rules to try in this order.
    pub fn new(rules: Vec<Rule>) -> AccessRules {
        AccessRules { rules }
    }

    /// The rules, in the order they are tried.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Whether a client at `ip` may connect: the first rule whose network holds `ip` decides;
    /// when none does, it may unless an allow rule was given.
    pub fn allows(&self, ip: IpAddr) -> bool {
        for rule in &self.rules {
            match rule {
                Rule::Allow(cidr) if cidr.contains(ip) => return true,
                Rule::Deny(cidr) if cidr.contains(ip) => return false,
                _ => {}
            }
        }
        !self.rules.iter().any(|rule| matches!(rule, Rule::Allow(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(text: &str) -> Cidr {
        text.parse()
            .unwrap_or_else(|e| panic!("{text:?} is a CIDR: {e}"))
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn rules(rules: &[(&str, &str)]) -> AccessRules {
        AccessRules::new(
            rules
                .iter()
                .map(|&(kind, text)| match kind {
                    "allow" => Rule::Allow(cidr(text)),
                    "deny" => Rule::Deny(cidr(text)),
                    _ => unreachable!("allow or deny"),
                })
                .collect(),
        )
    }

    // ---- parsing

    #[test]
    fn parses_networks_of_both_families() {
        for (text, addr, prefix) in [
            ("10.0.0.0/8", "10.0.0.0", 8),
            ("127.0.0.2/32", "127.0.0.2", 32),
            ("0.0.0.0/0", "0.0.0.0", 0),
            ("::1/128", "::1", 128),
            ("::/0", "::", 0),
            ("fd00::/8", "fd00::", 8),
            ("::ffff:10.0.0.0/104", "::ffff:10.0.0.0", 104),
        ] {
            assert_eq!(cidr(text), Cidr::new(ip(addr), prefix).unwrap(), "{text}");
        }
    }

    #[test]
    fn a_bare_address_is_that_address_alone() {
        assert_eq!(cidr("127.0.0.2"), Cidr::new(ip("127.0.0.2"), 32).unwrap());
        assert_eq!(cidr("::1"), Cidr::new(ip("::1"), 128).unwrap());
    }

    #[test]
    fn refuses_what_is_not_a_cidr() {
        for (text, error) in [
            ("", CidrError::Empty),
            ("10.0.0.0/33", CidrError::PrefixTooLong { width: 32 }),
            ("::1/129", CidrError::PrefixTooLong { width: 128 }),
            ("10.0.0.0/256", CidrError::PrefixTooLong { width: 32 }),
            (
                "::/99999999999999999999",
                CidrError::PrefixTooLong { width: 128 },
            ),
            ("10.0.0.0/", CidrError::BadPrefix),
            ("10.0.0.0/+8", CidrError::BadPrefix),
            ("10.0.0.0/-1", CidrError::BadPrefix),
            ("10.0.0.0/8/8", CidrError::BadPrefix),
            ("10.0.0.0/ 8", CidrError::BadPrefix),
            ("10.0.0.0/eight", CidrError::BadPrefix),
            ("/8", CidrError::NotAnAddress),
            ("10.0.0/8", CidrError::NotAnAddress),
            ("256.0.0.0", CidrError::NotAnAddress),
            ("localhost", CidrError::NotAnAddress),
            (" 10.0.0.0/8", CidrError::NotAnAddress),
            ("[::1]/128", CidrError::NotAnAddress),
            ("fe80::1%lo/64", CidrError::NotAnAddress),
        ] {
            assert_eq!(text.parse::<Cidr>(), Err(error), "{text:?}");
        }
    }

    #[test]
    fn shows_as_address_and_prefix() {
        assert_eq!(cidr("10.0.0.0/8").to_string(), "10.0.0.0/8");
        assert_eq!(cidr("::1").to_string(), "::1/128");
        assert_eq!(
            Rule::Deny(cidr("10.0.0.66")).to_string(),
            "deny 10.0.0.66/32"
        );
    }

    // ---- contains

    #[test]
    fn a_network_holds_exactly_the_addresses_of_its_prefix() {
        let net = cidr("10.1.0.0/16");
        assert!(net.contains(ip("10.1.0.0")));
        assert!(net.contains(ip("10.1.255.255")));
        assert!(!net.contains(ip("10.0.255.255")));
        assert!(!net.contains(ip("10.2.0.0")));
        let net = cidr("fd00:1::/32");
        assert!(net.contains(ip("fd00:1::1")));
        assert!(net.contains(ip("fd00:1:ffff::")));
        assert!(!net.contains(ip("fd00:2::")));
    }

    #[test]
    fn bits_after_the_prefix_are_ignored() {
        assert!(cidr("10.1.2.3/8").contains(ip("10.200.0.1")));
        assert!(!cidr("10.1.2.3/8").contains(ip("11.1.2.3")));
    }

    #[test]
    fn prefix_0_holds_every_address_of_its_family_only() {
        assert!(cidr("0.0.0.0/0").contains(ip("0.0.0.0")));
        assert!(cidr("0.0.0.0/0").contains(ip("255.255.255.255")));
        assert!(cidr("0.0.0.0/0").contains(ip("::ffff:1.2.3.4")));
        assert!(!cidr("0.0.0.0/0").contains(ip("::1")));
        assert!(cidr("::/0").contains(ip("::")));
        assert!(cidr("::/0").contains(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
        assert!(!cidr("::/0").contains(ip("1.2.3.4")));
        assert!(!cidr("::/0").contains(ip("::ffff:1.2.3.4")));
    }

    #[test]
    fn prefix_32_holds_one_ipv4_address() {
        let net = cidr("127.0.0.2/32");
        assert!(net.contains(ip("127.0.0.2")));
        assert!(!net.contains(ip("127.0.0.1")));
        assert!(!net.contains(ip("127.0.0.3")));
        assert!(cidr("255.255.255.255/32").contains(ip("255.255.255.255")));
    }

    #[test]
    fn prefix_128_holds_one_ipv6_address() {
        let net = cidr("::1/128");
        assert!(net.contains(ip("::1")));
        assert!(!net.contains(ip("::")));
        assert!(!net.contains(ip("::2")));
        assert!(!net.contains(ip("127.0.0.1")));
    }

    #[test]
    fn an_ipv4_network_holds_v4_mapped_ipv6_addresses() {
        assert!(cidr("10.0.0.0/8").contains(ip("::ffff:10.1.2.3")));
        assert!(!cidr("10.0.0.0/8").contains(ip("::ffff:11.1.2.3")));
        assert!(cidr("127.0.0.2").contains(ip("::ffff:127.0.0.2")));
    }

    #[test]
    fn a_v4_mapped_network_holds_ipv4_addresses() {
        assert!(cidr("::ffff:10.0.0.0/104").contains(ip("10.1.2.3")));
        assert!(!cidr("::ffff:10.0.0.0/104").contains(ip("11.1.2.3")));
        assert!(cidr("::ffff:10.1.2.3").contains(ip("10.1.2.3")));
        assert!(cidr("::ffff:10.1.2.3").contains(ip("::ffff:10.1.2.3")));
        assert!(cidr("::ffff:0.0.0.0/96").contains(ip("192.0.2.1")));
        assert!(!cidr("::ffff:0.0.0.0/96").contains(ip("::1")));
    }

    #[test]
    fn ipv4_loopback_is_not_ipv6_loopback() {
        assert!(!cidr("127.0.0.0/8").contains(ip("::1")));
        assert!(!cidr("::1").contains(ip("127.0.0.1")));
    }

    // ---- rules

    #[test]
    fn no_rules_allow_everyone() {
        let none = AccessRules::default();
        assert!(none.allows(ip("10.0.0.1")));
        assert!(none.allows(ip("::1")));
    }

    #[test]
    fn only_deny_rules_allow_whoever_they_do_not_match() {
        let access = rules(&[("deny", "10.0.0.0/8"), ("deny", "::1")]);
        assert!(!access.allows(ip("10.9.9.9")));
        assert!(!access.allows(ip("::1")));
        assert!(access.allows(ip("192.0.2.1")));
        assert!(access.allows(ip("::2")));
    }

    #[test]
    fn with_an_allow_rule_an_address_no_rule_matches_is_refused() {
        let access = rules(&[("deny", "10.0.0.66"), ("allow", "10.0.0.0/8")]);
        assert!(access.allows(ip("10.1.1.1")));
        assert!(!access.allows(ip("192.0.2.1")));
        assert!(!access.allows(ip("::1")));
    }

    #[test]
    fn the_first_matching_rule_decides() {
        let deny_first = rules(&[("deny", "127.0.0.2"), ("allow", "127.0.0.0/8")]);
        assert!(!deny_first.allows(ip("127.0.0.2")));
        assert!(deny_first.allows(ip("127.0.0.1")));
        let allow_first = rules(&[("allow", "127.0.0.0/8"), ("deny", "127.0.0.2")]);
        assert!(allow_first.allows(ip("127.0.0.2")));
    }

    #[test]
    fn rules_apply_to_v4_mapped_peers() {
        let access = rules(&[("allow", "10.0.0.0/8")]);
        assert!(access.allows(ip("::ffff:10.0.0.1")));
        assert!(!access.allows(ip("::ffff:192.0.2.1")));
    }
}
