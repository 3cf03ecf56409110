//! What the findings need beyond netlink, behind narrow seams: per-interface
//! IPv6 sysctls from /proc/sys, and systemd-networkd's `.network` files
//! (how BOSH's Jammy/Noble stemcells configure NICs). Tests and fixtures
//! hand in directories or values.

use std::collections::BTreeMap;
use std::path::Path;

use crate::model::{NetworkdFile, Snapshot};

/// Where the kernel exposes per-interface IPv6 settings.
pub const IPV6_CONF: &str = "/proc/sys/net/ipv6/conf";
/// Where the BOSH agent writes the stemcell's networkd files.
pub const NETWORKD_DIR: &str = "/etc/systemd/network";

/// `accept_ra` of each named interface, read from `<conf_dir>/<if>/accept_ra`.
/// Interfaces without IPv6 (or an unreadable file) are left out.
pub fn read_accept_ra<'a>(
    conf_dir: &Path,
    interfaces: impl IntoIterator<Item = &'a str>,
) -> BTreeMap<String, i64> {
    read_setting(conf_dir, "accept_ra", interfaces)
}

/// `<conf_dir>/<if>/<setting>` of each named interface, where readable.
pub fn read_setting<'a>(
    conf_dir: &Path,
    setting: &str,
    interfaces: impl IntoIterator<Item = &'a str>,
) -> BTreeMap<String, i64> {
    interfaces
        .into_iter()
        .filter_map(|name| {
            let text = std::fs::read_to_string(conf_dir.join(name).join(setting)).ok()?;
            Some((name.to_string(), text.trim().parse().ok()?))
        })
        .collect()
}

/// The host facts besides `accept_ra`: `disable_ipv6` per interface and
/// the networkd files, from their real places.
pub fn read_host(snapshot: &mut Snapshot) {
    snapshot.disable_ipv6 = read_setting(
        Path::new(IPV6_CONF),
        "disable_ipv6",
        snapshot.links.iter().map(|l| l.name.as_str()),
    );
    snapshot.networkd = read_networkd(Path::new(NETWORKD_DIR));
}

/// The `.network` files of `dir`, by the interface each names in `[Match]
/// Name=` (exact names only; globs match nothing here). As networkd does,
/// the first file in name order that matches an interface is the one that
/// applies. A missing directory is a host without networkd files.
pub fn read_networkd(dir: &Path) -> BTreeMap<String, NetworkdFile> {
    let mut files: Vec<_> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "network"))
            .collect(),
        Err(_) => return BTreeMap::new(),
    };
    files.sort();
    let mut out = BTreeMap::new();
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let (names, file) = parse_network_file(&text, &path.display().to_string());
        for name in names {
            out.entry(name).or_insert_with(|| file.clone());
        }
    }
    out
}

/// The names a `.network` file matches and what it says.
fn parse_network_file(text: &str, path: &str) -> (Vec<String>, NetworkdFile) {
    let mut names = Vec::new();
    let mut file = NetworkdFile {
        path: path.to_string(),
        ..NetworkdFile::default()
    };
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_string();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match (section.as_str(), key) {
            ("Match", "Name") => names.extend(
                value
                    .split_whitespace()
                    .filter(|n| !n.contains(['*', '?', '[']))
                    .map(String::from),
            ),
            ("Network", "Gateway") if !value.is_empty() => file.gateways.push(value.into()),
            ("Network" | "Address", "Address") if !value.is_empty() => {
                file.addresses.push(value.into())
            }
            ("Network", "IPv6AcceptRA") => {
                file.ipv6_accept_ra = match value.to_ascii_lowercase().as_str() {
                    "yes" | "true" | "on" | "1" => Some(true),
                    "no" | "false" | "off" | "0" => Some(false),
                    _ => None,
                }
            }
            _ => {}
        }
    }
    (names, file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_values_and_skips_missing_interfaces() {
        let dir = tempfile::tempdir().unwrap();
        for (name, value) in [("eth0", "0\n"), ("eth1", "2\n")] {
            std::fs::create_dir_all(dir.path().join(name)).unwrap();
            std::fs::write(dir.path().join(name).join("accept_ra"), value).unwrap();
        }
        let got = read_accept_ra(dir.path(), ["eth0", "eth1", "gone"]);
        assert_eq!(
            got,
            BTreeMap::from([("eth0".to_string(), 0), ("eth1".to_string(), 2)])
        );
    }

    /// The files the BOSH agent writes on a Jammy/Noble stemcell for a
    /// dual-homed VM: the gateway only on the `default: [gateway]` network,
    /// `IPv6AcceptRA=true` on the IPv6 one.
    #[test]
    fn reads_the_agents_networkd_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("10_eth0.network"),
            "# Generated by bosh-agent\n[Match]\nName=eth0\n\n[Address]\nAddress=10.0.250.10/24\nBroadcast=10.0.250.255\n\n[Network]\nGateway=10.0.250.1\n\nDNS=10.0.250.2\n\n[Route]\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("10_eth1.network"),
            "# Generated by bosh-agent\n[Match]\nName=eth1\n\n[Address]\nAddress=2001:db8:69f5::10/64\n\n\n[Network]\n\nIPv6AcceptRA=true\n\n[Route]\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("99_all.network"),
            "[Match]\nName=eth* eth1\n[Network]\nDHCP=yes\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("README"), "not a network file").unwrap();
        let got = read_networkd(dir.path());
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got["eth0"].gateways, ["10.0.250.1"]);
        assert_eq!(got["eth0"].ipv6_accept_ra, None);
        assert_eq!(got["eth1"].gateways, Vec::<String>::new());
        assert_eq!(got["eth1"].addresses, ["2001:db8:69f5::10/64"]);
        assert_eq!(got["eth1"].ipv6_accept_ra, Some(true));
        assert!(got["eth1"].path.ends_with("10_eth1.network"));
        assert!(read_networkd(&dir.path().join("absent")).is_empty());
    }
}
