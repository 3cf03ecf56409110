//! Netlink snapshot, change stream, findings and their text/JSON views.
