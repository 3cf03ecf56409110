//! The seam through which a command's `_INTERFACE` is found when it
//! starts: errands knows nothing of netlink, so the caller hands in the
//! lookup (the binary's reads the kernel's address table). A leaf: the
//! config holds one, `netenv` asks it.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

/// Which addresses the host's interfaces hold right now: (address,
/// interface name) pairs, or why they could not be read.
pub type HolderLookup = dyn Fn() -> Result<Vec<(IpAddr, String)>, String> + Send + Sync;

/// The seam through which `_INTERFACE` is found when a command starts. The
/// default looks nothing up (`_INTERFACE` is then unset, and the plan says
/// so); the binary hands in one that reads the kernel's address table.
#[derive(Clone, Default)]
pub struct Interfaces(Option<Arc<HolderLookup>>);

impl Interfaces {
    pub fn new(
        lookup: impl Fn() -> Result<Vec<(IpAddr, String)>, String> + Send + Sync + 'static,
    ) -> Interfaces {
        Interfaces(Some(Arc::new(lookup)))
    }

    pub(crate) fn holders(&self) -> Result<Vec<(IpAddr, String)>, String> {
        match &self.0 {
            Some(lookup) => lookup(),
            None => Err("interfaces are not looked up here".to_string()),
        }
    }
}

impl fmt::Debug for Interfaces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Interfaces(lookup)"
        } else {
            "Interfaces(none)"
        })
    }
}

/// A lookup is no part of a config's value: two configs read from the same
/// text are equal whoever looks their interfaces up.
impl PartialEq for Interfaces {
    fn eq(&self, _: &Interfaces) -> bool {
        true
    }
}
