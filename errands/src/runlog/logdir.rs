//! A log dir (or a dir inside one) opened once and then used only through
//! its file descriptor, as a root daemon must (systemd and openssh do the
//! same): inject runs as root in a dir that other tools, or a careless
//! `chown -R vcap`, can open to others, and a link planted there must never
//! make root write elsewhere.
//!
//! The invariants:
//! - The dir itself is opened with `O_NOFOLLOW` and must be a directory
//!   owned by the user that runs inject, writable by no one else (BOSH's
//!   `root:vcap 0750`; a user's own dir is 0700 or 0750). Anything else is
//!   refused with what to do ([`DirError`]). The dirs above it may be links
//!   (on a BOSH VM `/var/vcap/sys` is one): they are root's.
//! - One exception, the shape the BOSH agent itself gives every job's log
//!   dir (bosh-agent `Job.CreateDirectories`: `root:vcap 0770`, made at
//!   each apply when missing, before any script of the job runs): as root,
//!   a dir owned by root, group `vcap` or root, group-writable but not
//!   world-writable is tightened to drop the group's write bit (0770 to
//!   0750) through the open fd (`fchmod`, never a path), and said once
//!   ([`take_tightened`]). Files the group planted before that are met by
//!   the file checks below like any other.
//! - Every file in it is opened relative to the dir's fd (`openat`) with
//!   `O_NOFOLLOW` and `O_NONBLOCK` (a planted FIFO must not hang a run),
//!   and must then be a regular file of ours with one link (a hard link to
//!   another file is no log of ours).
//! - A new file that replaces one ([`LogDir::replace`]) is written under an
//!   unpredictable name with `O_EXCL` first, then renamed over the old one.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use nix::errno::Errno;
use nix::fcntl::{openat, renameat, OFlag, AT_FDCWD};
use nix::sys::stat::{fchmod, fstat, fstatat, mkdirat, FileStat, Mode, SFlag};
use nix::unistd::{unlinkat, Gid, Group, Uid, UnlinkatFlags};

/// Mode of the dirs inject makes (BOSH's root:vcap convention).
pub const DIR_MODE: u32 = 0o750;
/// Mode of the files inject makes: output and events may hold what only
/// the VM's operators should read.
pub const FILE_MODE: u32 = 0o640;

/// What [`LogDir`] tightened in this process and nobody has said yet.
static TIGHTENED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The notices of dirs tightened from the BOSH agent's shape since the
/// last call, once each: the run log says them on stderr (or the
/// dashboard's screen) and writes them to its events file.
pub fn take_tightened() -> Vec<String> {
    let mut tightened = TIGHTENED.lock().unwrap_or_else(|e| e.into_inner());
    std::mem::take(&mut *tightened)
}

/// Whether a dir of mode `mode` that group or others can write is the BOSH
/// agent's shape, which root may tighten instead of refusing: we are root,
/// it is root's (checked before), its group is `vcap` or root, and others
/// cannot write. Root's group or the stemcell's `vcap` group are those the
/// agent (and a stemcell's root) use; any other group with write, or
/// others with write, is someone else's dir: refused.
fn is_agent_shape(st: &FileStat, mode: u32) -> bool {
    if !Uid::effective().is_root() || st.st_uid != 0 || mode & 0o002 != 0 {
        return false;
    }
    let gid = Gid::from_raw(st.st_gid);
    gid.as_raw() == 0
        || Group::from_name("vcap")
            .ok()
            .flatten()
            .is_some_and(|vcap| vcap.gid == gid)
}

/// Why a log dir is not used, and how to make it usable.
#[derive(Debug, thiserror::Error)]
pub enum DirError {
    /// The dir is a symbolic link.
    #[error(
        "the log dir {path} is a symbolic link; inject writes only into a real directory \
         (links there are never followed): remove the link and make the directory \
         (mkdir -m 0750 {path}), or point --log-dir elsewhere",
        path = .0.display()
    )]
    Symlink(PathBuf),
    /// Something else than a dir is there.
    #[error(
        "the log dir {} is not a directory: move it away, or point --log-dir elsewhere",
        .0.display()
    )]
    NotDir(PathBuf),
    /// Owned by another user than the one running inject.
    #[error(
        "the log dir {} belongs to uid {owner}, not to uid {} that runs inject: \
         whoever owns it could plant links in it; fix: {}",
        .path.display(),
        Uid::effective(),
        fix(.path)
    )]
    Owner { path: PathBuf, owner: u32 },
    /// Writable by group or others: they could plant links in it.
    #[error(
        "the log dir {} is writable by group or others (mode {mode:04o}): they could \
         plant links in it; fix: {}",
        .path.display(),
        fix(.path)
    )]
    Writable { path: PathBuf, mode: u32 },
    /// It cannot be made or opened.
    #[error("cannot use the log dir {}: {error}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        error: std::io::Error,
    },
}

impl DirError {
    pub fn path(&self) -> &Path {
        match self {
            DirError::Symlink(path) | DirError::NotDir(path) => path,
            DirError::Owner { path, .. }
            | DirError::Writable { path, .. }
            | DirError::Io { path, .. } => path,
        }
    }
}

/// How an operator makes `path` a log dir again: owned by the running user
/// (root on a BOSH VM: `root:vcap`), mode 0750.
fn fix(path: &Path) -> String {
    let me = Uid::effective();
    let owner = if me.is_root() {
        "root:vcap".to_string()
    } else {
        nix::unistd::User::from_uid(me)
            .ok()
            .flatten()
            .map_or_else(|| me.to_string(), |u| u.name)
    };
    format!("chown {owner} {0} && chmod 0750 {0}", path.display())
}

/// An open, checked dir of the log.
#[derive(Debug)]
pub struct LogDir {
    path: PathBuf,
    fd: OwnedFd,
}

impl LogDir {
    /// Opens `path`, making it (0750, and its parents) when missing, and
    /// checks it.
    pub fn open(path: &Path) -> Result<LogDir, DirError> {
        // `logs/` and `logs/.` would follow a link at `logs` (a trailing
        // slash resolves it): the dir's own name comes last, always.
        let path: PathBuf = path.components().collect();
        let path = path.as_path();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            // A parent that cannot be made may still exist (read-only):
            // opening the dir says what is really wrong.
            let _ = std::fs::DirBuilder::new()
                .recursive(true)
                .mode(DIR_MODE)
                .create(parent);
        }
        // Already there, or not makeable (read-only): opening says which.
        let _ = mkdirat(AT_FDCWD, path, Mode::from_bits_truncate(DIR_MODE));
        LogDir::open_at(AT_FDCWD, path, path.to_path_buf())
    }

    /// The dir `name` in this one, made (0750) when missing, and checked.
    pub fn subdir(&self, name: &str) -> Result<LogDir, DirError> {
        let path = self.path.join(name);
        let _ = mkdirat(&self.fd, name, Mode::from_bits_truncate(DIR_MODE));
        LogDir::open_at(&self.fd, Path::new(name), path)
    }

    /// The existing dir `name` in `parent`, checked (never made).
    pub fn open_in(parent: &LogDir, name: &str) -> Result<LogDir, DirError> {
        LogDir::open_at(&parent.fd, Path::new(name), parent.path.join(name))
    }

    /// A new dir `name` in this one: an error if anything has that name.
    pub fn create_subdir(&self, name: &str) -> Result<LogDir, DirError> {
        let path = self.path.join(name);
        mkdirat(&self.fd, name, Mode::from_bits_truncate(DIR_MODE)).map_err(|e| DirError::Io {
            path: path.clone(),
            error: e.into(),
        })?;
        LogDir::open_at(&self.fd, Path::new(name), path)
    }

    fn open_at<Fd: AsFd>(at: Fd, name: &Path, path: PathBuf) -> Result<LogDir, DirError> {
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = match openat(&at, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(errno @ (Errno::ELOOP | Errno::ENOTDIR)) => {
                let what = fstatat(&at, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW);
                return Err(match what {
                    Ok(st) if kind(&st) == SFlag::S_IFLNK => DirError::Symlink(path),
                    Ok(_) => DirError::NotDir(path),
                    Err(_) => DirError::Io {
                        path,
                        error: errno.into(),
                    },
                });
            }
            Err(errno) => {
                return Err(DirError::Io {
                    path,
                    error: errno.into(),
                })
            }
        };
        let st = fstat(&fd).map_err(|e| DirError::Io {
            path: path.clone(),
            error: e.into(),
        })?;
        if st.st_uid != Uid::effective().as_raw() {
            return Err(DirError::Owner {
                path,
                owner: st.st_uid,
            });
        }
        let mode = st.st_mode & 0o7777;
        if mode & 0o022 != 0 {
            if !is_agent_shape(&st, mode) {
                return Err(DirError::Writable { path, mode });
            }
            let tight = mode & !0o020;
            fchmod(&fd, Mode::from_bits_truncate(tight)).map_err(|e| DirError::Io {
                path: path.clone(),
                error: e.into(),
            })?;
            let notice = format!(
                "tightened {} from {mode:04o} (as the BOSH agent creates it) to {tight:04o}: \
                 only root writes in it, so nobody can plant links there",
                path.display()
            );
            TIGHTENED
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(notice);
        }
        Ok(LogDir { path, fd })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the file `name` with `flags` (plus `O_NOFOLLOW`, `O_NONBLOCK`,
    /// `O_CLOEXEC`; created 0640 with `O_CREAT`), and checks that it is a
    /// regular file of ours with one link.
    pub fn open_file(&self, name: &str, flags: OFlag) -> std::io::Result<File> {
        let flags = flags | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
        let fd = openat(&self.fd, name, flags, Mode::from_bits_truncate(FILE_MODE))
            .map_err(|e| self.named(name, e))?;
        let st = fstat(&fd).map_err(|e| self.named(name, e))?;
        let why = if kind(&st) != SFlag::S_IFREG {
            Some("is not a regular file")
        } else if st.st_uid != Uid::effective().as_raw() {
            Some("belongs to another user")
        } else if st.st_nlink != 1 {
            Some("has more than one link (a hard link to another file?)")
        } else {
            None
        };
        match why {
            Some(why) => Err(std::io::Error::other(format!(
                "{} {why}: not written",
                self.path.join(name).display()
            ))),
            None => Ok(File::from(fd)),
        }
    }

    /// `name` opened for appending (made when missing).
    pub fn append(&self, name: &str) -> std::io::Result<File> {
        self.open_file(name, OFlag::O_WRONLY | OFlag::O_APPEND | OFlag::O_CREAT)
    }

    /// A new file `name`: an error if anything has that name.
    pub fn create_new(&self, name: &str) -> std::io::Result<File> {
        self.open_file(name, OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL)
    }

    /// Replaces the file `name` with `bytes` so that a reader never sees
    /// half of it: written under an unpredictable name made with `O_EXCL`,
    /// then renamed over `name` (a rename replaces a link, never follows it).
    pub fn replace(&self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        let mut last = None;
        // A name taken (unlikely, 64 random bits): try another.
        for _ in 0..4 {
            let tmp = format!(".{name}.{:016x}.tmp", unpredictable());
            let mut file = match self.create_new(&tmp) {
                Ok(file) => file,
                Err(err) => {
                    last = Some(err);
                    continue;
                }
            };
            let written = file.write_all(bytes).and_then(|()| {
                renameat(&self.fd, tmp.as_str(), &self.fd, name).map_err(Into::into)
            });
            if written.is_err() {
                let _ = unlinkat(&self.fd, tmp.as_str(), UnlinkatFlags::NoRemoveDir);
            }
            return written;
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("no temporary name")))
    }

    /// Renames `from` to `to` in this dir.
    pub fn rename(&self, from: &str, to: &str) -> std::io::Result<()> {
        renameat(&self.fd, from, &self.fd, to).map_err(Into::into)
    }

    /// The entry `name` without following it.
    pub fn stat(&self, name: &str) -> std::io::Result<FileStat> {
        fstatat(&self.fd, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW).map_err(Into::into)
    }

    /// Reads at most `max` bytes of the regular file `name` (not followed).
    pub fn read_small(&self, name: &str, max: u64) -> std::io::Result<Vec<u8>> {
        let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
        let fd = openat(&self.fd, name, flags, Mode::empty()).map_err(|e| self.named(name, e))?;
        if kind(&fstat(&fd)?) != SFlag::S_IFREG {
            return Err(std::io::Error::other("not a regular file"));
        }
        let mut bytes = Vec::new();
        File::from(fd).take(max).read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    /// The names in this dir (`.` and `..` left out).
    pub fn names(&self) -> std::io::Result<Vec<String>> {
        let entries = std::fs::read_dir(self.proc_path())?;
        Ok(entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .collect())
    }

    /// Removes the entry `name` without following it: a dir with all it
    /// holds (std's `remove_dir_all` never follows links inside), anything
    /// else unlinked.
    pub fn remove(&self, name: &str) -> std::io::Result<()> {
        if kind(&self.stat(name)?) == SFlag::S_IFDIR {
            std::fs::remove_dir_all(self.proc_path().join(name))
        } else {
            unlinkat(&self.fd, name, UnlinkatFlags::NoRemoveDir).map_err(Into::into)
        }
    }

    /// A path that names exactly this open dir (its fd), whatever is done
    /// to its name meanwhile. (Needs /proc, as on every BOSH VM; without
    /// it listing and pruning fail, and nothing is pruned.)
    fn proc_path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))
    }

    fn named(&self, name: &str, errno: Errno) -> std::io::Error {
        let error = std::io::Error::from(errno);
        let what = match errno {
            Errno::ELOOP => "is a symbolic link: not followed".to_string(),
            _ => error.to_string(),
        };
        std::io::Error::new(
            error.kind(),
            format!("{}: {what}", self.path.join(name).display()),
        )
    }
}

fn kind(st: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits())
}

/// 64 bits nobody can predict: std's hasher keys come from the OS's
/// random source, mixed with the time.
fn unpredictable() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    hasher.write_u128(now.as_nanos());
    hasher.write_u32(std::process::id());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use std::error::Error;
    use std::path::PathBuf;

    use super::DirError;
    use crate::runlog::LockError;

    #[test]
    fn a_refused_lock_keeps_its_causes_reachable_through_source() {
        let io = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let dir = DirError::Io {
            path: PathBuf::from("/var/vcap/sys/log/inject"),
            error: io,
        };
        let err = LockError::Tightened {
            notices: vec!["tightened /var/vcap/sys/log to 0750".into()],
            error: Box::new(LockError::Dir(dir)),
        };
        assert_eq!(
            err.to_string(),
            "tightened /var/vcap/sys/log to 0750; then: cannot use the log dir \
             /var/vcap/sys/log/inject: permission denied; refusing to run without the lock"
        );
        let chain: Vec<String> = std::iter::successors(err.source(), |e| (*e).source())
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            chain,
            [
                "cannot use the log dir /var/vcap/sys/log/inject: permission denied; \
                 refusing to run without the lock",
                "cannot use the log dir /var/vcap/sys/log/inject: permission denied",
                "permission denied",
            ]
        );
    }
}
