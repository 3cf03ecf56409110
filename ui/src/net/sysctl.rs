//! The one sysctl the findings need, behind a narrow seam: tests and the
//! fixtures hand in values; the real read goes to /proc/sys.

use std::collections::BTreeMap;
use std::path::Path;

/// Where the kernel exposes per-interface IPv6 settings.
pub const IPV6_CONF: &str = "/proc/sys/net/ipv6/conf";

/// `accept_ra` of each named interface, read from `<conf_dir>/<if>/accept_ra`.
/// Interfaces without IPv6 (or an unreadable file) are left out.
pub fn read_accept_ra<'a>(
    conf_dir: &Path,
    interfaces: impl IntoIterator<Item = &'a str>,
) -> BTreeMap<String, i64> {
    interfaces
        .into_iter()
        .filter_map(|name| {
            let text = std::fs::read_to_string(conf_dir.join(name).join("accept_ra")).ok()?;
            Some((name.to_string(), text.trim().parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_values_and_skips_missing_interfaces() {
        let dir = std::env::temp_dir().join(format!("inject-sysctl-{}", std::process::id()));
        for (name, value) in [("eth0", "0\n"), ("eth1", "2\n")] {
            std::fs::create_dir_all(dir.join(name)).unwrap();
            std::fs::write(dir.join(name).join("accept_ra"), value).unwrap();
        }
        let got = read_accept_ra(&dir, ["eth0", "eth1", "gone"]);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            got,
            BTreeMap::from([("eth0".to_string(), 0), ("eth1".to_string(), 2)])
        );
    }
}
