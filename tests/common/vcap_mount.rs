//! The host's /var/vcap as a mount point for tests that bind-mount a
//! temporary one over it in a private mount namespace.

use std::fs::File;
use std::path::Path;

/// The host's /var/vcap, needed as a mount point: made (empty) by the first
/// live `Vcap` when the host has none, removed when the last one drops, so
/// no test leaves it behind. Tests run in parallel threads (hence the
/// count) and in parallel processes (several test binaries or worktrees on
/// one machine): each process holds a shared lock on [`LOCK`] while it has
/// a live `Vcap`, and only a process that then gets the lock alone removes
/// the directory — a removal under another process's mount would detach
/// that mount in its namespace.
pub struct MountPoint;

/// (live `Vcap`s in this process, the shared lock they hold)
static MOUNT_POINT: std::sync::Mutex<(usize, Option<File>)> = std::sync::Mutex::new((0, None));

const LOCK: &str = "/run/inject-tests-var-vcap.lock";
/// Present while /var/vcap is one the tests made (not the host's own).
const MADE: &str = "/run/inject-tests-var-vcap.made";

impl MountPoint {
    pub fn take() -> MountPoint {
        let mut state = MOUNT_POINT.lock().unwrap_or_else(|e| e.into_inner());
        if state.0 == 0 {
            let lock = File::options()
                .create(true)
                .append(true)
                .open(LOCK)
                .unwrap();
            lock.lock_shared().unwrap();
            if !Path::new("/var/vcap").exists() {
                std::fs::create_dir("/var/vcap").unwrap();
                std::fs::write(MADE, b"").unwrap();
            }
            state.1 = Some(lock);
        }
        state.0 += 1;
        MountPoint
    }
}

impl Drop for MountPoint {
    fn drop(&mut self) {
        let mut state = MOUNT_POINT.lock().unwrap_or_else(|e| e.into_inner());
        state.0 -= 1;
        if state.0 > 0 {
            return;
        }
        if let Some(lock) = state.1.take() {
            let _ = lock.unlock();
            // Alone: no other process has a mount over it.
            if lock.try_lock().is_ok() && Path::new(MADE).exists() {
                // Empty: every mount over it was in a private namespace.
                let _ = std::fs::remove_dir("/var/vcap");
                let _ = std::fs::remove_file(MADE);
            }
        }
    }
}
