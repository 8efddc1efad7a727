//! While the TUI owns the screen, nothing else may write on it: fd 2 (stderr) is pointed at a
//! log file, so what libraries print there (alsa-lib's complaints without a sound card,
//! libwayland's, a stray `eprintln!`) lands in the file instead of across the screen.
//!
//! [`redirect`] saves the real stderr and points fd 2 at the file; dropping the returned
//! [`Redirect`], or [`restore`] (which the panic hook calls, so a panic's message reaches the
//! terminal), puts it back. libmpv's own messages reach the same file through the player's log
//! (see [`PlayerOptions::log_file`](bookmygig_cli::player::PlayerOptions::log_file)).

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// The real stderr while fd 2 points at the log; `None` when not redirected.
static SAVED: Mutex<Option<OwnedFd>> = Mutex::new(None);

/// The default log file: `$XDG_STATE_HOME/bookmygig/tui.log` (`~/.local/state/bookmygig/tui.log`),
/// or the local data dir where there is no state dir (macOS, Windows).
pub fn default_path() -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "bookmygig")?;
    let dir = dirs
        .state_dir()
        .unwrap_or_else(|| dirs.data_local_dir())
        .to_path_buf();
    Some(dir.join("tui.log"))
}

/// fd 2 points at a log file until this is dropped.
#[derive(Debug)]
pub struct Redirect {
    /// Private: only [`redirect`] makes one.
    _private: (),
}

impl Drop for Redirect {
    fn drop(&mut self) {
        restore();
    }
}

/// Points fd 2 at `path` (created with its directory, appended to, readable by its owner only),
/// after a line saying who starts writing there.
///
/// # Errors
/// When the file cannot be opened or fd 2 cannot be duplicated; fd 2 is unchanged then.
pub fn redirect(path: &Path) -> io::Result<Redirect> {
    let file = open(path)?;
    redirect_to(file)
}

/// Points fd 2 at the null device: for when the log file cannot be opened, since the screen
/// must stay clean either way.
///
/// # Errors
/// When the null device cannot be opened or fd 2 cannot be duplicated.
pub fn discard() -> io::Result<Redirect> {
    redirect_to(OpenOptions::new().write(true).open(null_device())?)
}

fn null_device() -> &'static str {
    if cfg!(windows) { "NUL" } else { "/dev/null" }
}

fn open(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    writeln!(
        file,
        "--- bookmygig tui (pid {}) started at {}",
        std::process::id(),
        time::OffsetDateTime::now_utc()
    )?;
    Ok(file)
}

fn redirect_to(file: File) -> io::Result<Redirect> {
    let mut saved = SAVED.lock().unwrap_or_else(PoisonError::into_inner);
    if saved.is_none() {
        *saved = Some(rustix::io::dup(io::stderr())?);
    }
    io::stderr().flush()?;
    rustix::stdio::dup2_stderr(&file)?;
    Ok(Redirect { _private: () })
}

/// Points fd 2 back at the real stderr, if it was redirected; safe to call more than once and
/// from the panic hook.
pub fn restore() {
    // A panic while the lock was held leaves the fd itself intact; a lock held by this very
    // thread (a panic inside `redirect_to`) must not deadlock the panic hook.
    let mut saved = match SAVED.try_lock() {
        Ok(saved) => saved,
        Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => return,
    };
    if let Some(fd) = saved.take() {
        let _ = io::stderr().flush();
        // Best effort: there is nowhere left to report a failure.
        let _ = rustix::stdio::dup2_stderr(&fd);
    }
}
