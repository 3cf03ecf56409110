//! The host's /var/vcap as a mount point for tests that bind-mount a
//! temporary one over it in a private mount namespace.

use std::path::Path;

/// The host's /var/vcap, needed as a mount point: made (empty) by the first
/// live `Vcap` when the host has none, removed when the last one drops, so
/// no test leaves it behind. Tests run in parallel threads: hence the count.
pub struct MountPoint;

/// (live `Vcap`s, whether this process made /var/vcap)
static MOUNT_POINT: std::sync::Mutex<(usize, bool)> = std::sync::Mutex::new((0, false));

impl MountPoint {
    pub fn take() -> MountPoint {
        let mut state = MOUNT_POINT.lock().unwrap_or_else(|e| e.into_inner());
        if state.0 == 0 && !Path::new("/var/vcap").exists() {
            std::fs::create_dir("/var/vcap").unwrap();
            state.1 = true;
        }
        state.0 += 1;
        MountPoint
    }
}

impl Drop for MountPoint {
    fn drop(&mut self) {
        let mut state = MOUNT_POINT.lock().unwrap_or_else(|e| e.into_inner());
        state.0 -= 1;
        if state.0 == 0 && state.1 {
            // Empty: every mount over it was in a private namespace.
            let _ = std::fs::remove_dir("/var/vcap");
            state.1 = false;
        }
    }
}
