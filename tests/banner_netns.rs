//! The dashboard's banner names the default route the kernel uses: with
//! several usable defaults, the one of the lowest metric, even when it
//! arrived after the others (the dashboard appends a route it learns from
//! netlink, so the lowest-metric one need not come first). Driven in tmux,
//! inside network namespaces of the test's own.

mod common;
use common::{
    netns::{can_run, SeedVm},
    tmux::Tmux,
    tool_or_skip, INJECT,
};

use std::time::Duration;

/// The banner's IPv6 line on `screen`, if shown.
fn ipv6_banner(screen: &str) -> Option<&str> {
    screen.lines().find(|l| l.contains("IPv6: default"))
}

#[test]
fn the_banner_names_the_lowest_metric_default_even_when_it_came_last() {
    let test = "the_banner_names_the_lowest_metric_default_even_when_it_came_last";
    if !can_run(test) || !tool_or_skip(test, "tmux") {
        return;
    }
    let seed = SeedVm::new();
    // A second router on eth1's link, so both defaults are usable.
    seed.peer_ip("-6 addr add 2001:db8:69f5::2/64 dev p1 nodad");
    seed.ip("-6 route add default via 2001:db8:69f5::1 dev eth1 metric 2048");
    let tmux = Tmux::start(
        "banner",
        120,
        40,
        &format!(
            "INJECT_CONFIG=/nonexistent ip netns exec {} {INJECT} tui; sleep 60",
            seed.vm
        ),
    );
    let within = Duration::from_secs(10);
    tmux.wait_for("the banner to name the only IPv6 default", within, |s| {
        ipv6_banner(s).is_some_and(|l| l.contains("via 2001:db8:69f5::1 "))
    });

    seed.ip("-6 route add default via 2001:db8:69f5::2 dev eth1 metric 1024");
    let screen = tmux.wait_for("the routes pane to list the new default", within, |s| {
        s.contains("default via 2001:db8:69f5::2 dev eth1")
    });
    // The pane and the banner are drawn from the same snapshot: once the
    // route is listed, the banner has had its chance to change.
    let banner = ipv6_banner(&screen).unwrap_or_else(|| panic!("no IPv6 banner:\n{screen}"));
    assert!(
        banner.contains("via 2001:db8:69f5::2 "),
        "the banner names another default than the kernel's (metric 1024):\n{screen}"
    );
    tmux.keys(&["q"]);
}
