//! How a log file is opened, and how many descriptors the process may hold.
//!
//! Every log file the exporter reads (the tailer, its start-up identity checks, `report`,
//! `trace`) is opened by [`open_log`], which refuses anything that is not a regular file,
//! also behind a symlink: a FIFO would block the reader in `open()` until a writer comes, a
//! device like `/dev/zero` never ends. How many log files stay open at once is the tailer's
//! business; [`raise_fd_limit`] and [`open_file_cap`] only say what the process may hold.

use std::fs::File;
use std::io;
use std::path::Path;

/// Opens the log file `path` for reading. Anything but a regular file (a FIFO, a socket, a
/// device, a directory; a symlink counts as what it points at) is refused with an error of
/// kind [`io::ErrorKind::InvalidInput`] that says what it is.
#[cfg(unix)]
pub fn open_log(path: &Path) -> io::Result<File> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    // Without O_NONBLOCK, opening a FIFO waits for a writer.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(path, &meta));
    }
    // Reads of a regular file are not affected by the flag, but leave nothing surprising
    // (some network filesystems use it for mandatory locks).
    // SAFETY: fcntl on a descriptor this function owns, with integer arguments only.
    unsafe {
        let flags = libc::fcntl(file.as_raw_fd(), libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(file.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    Ok(file)
}

/// Opens the log file `path` for reading; anything but a regular file is refused (see the
/// Unix version).
#[cfg(not(unix))]
pub fn open_log(path: &Path) -> io::Result<File> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(not_regular(path, &meta));
    }
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(path, &meta));
    }
    Ok(file)
}

/// What kind of file `meta` describes, in words, when it is not a regular file.
pub fn odd_kind(meta: &std::fs::Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_file() {
        return None;
    }
    if t.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Some("a FIFO");
        }
        if t.is_socket() {
            return Some("a socket");
        }
        if t.is_char_device() {
            return Some("a character device");
        }
        if t.is_block_device() {
            return Some("a block device");
        }
    }
    Some("not a regular file")
}

fn not_regular(path: &Path, meta: &std::fs::Metadata) -> io::Error {
    let what = odd_kind(meta).unwrap_or("not a regular file");
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{} is {what}, not a regular file: not read as a log",
            path.display()
        ),
    )
}

/// Raises the soft limit on open descriptors towards the hard limit (up to 65 536), so many
/// scrapers and log files fit; logs at debug what was done. Unix only; elsewhere nothing.
pub fn raise_fd_limit() {
    #[cfg(unix)]
    {
        const WANTED: libc::rlim_t = 65_536;
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit with a pointer to a local struct.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
            tracing::debug!(error = %io::Error::last_os_error(), "cannot read the open file limit");
            return;
        }
        let target = lim.rlim_max.min(WANTED);
        if lim.rlim_cur >= target {
            tracing::debug!(
                soft = lim.rlim_cur,
                hard = lim.rlim_max,
                "open file limit left as it is"
            );
            return;
        }
        let before = lim.rlim_cur;
        lim.rlim_cur = target;
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } == 0 {
            tracing::debug!(
                from = before,
                to = target,
                hard = lim.rlim_max,
                "raised the open file limit"
            );
        } else {
            tracing::debug!(
                soft = before,
                hard = lim.rlim_max,
                error = %io::Error::last_os_error(),
                "cannot raise the open file limit"
            );
        }
    }
}

/// How many log files may be kept open: `wanted`, or a quarter of the process's descriptor
/// limit when that is lower, so the HTTP side always has three quarters for its connections
/// (at least 4).
pub fn open_file_cap(wanted: usize) -> usize {
    let cap = wanted;
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit with a pointer to a local struct.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
            let quarter = usize::try_from(lim.rlim_cur / 4).unwrap_or(usize::MAX);
            return cap.min(quarter).max(4);
        }
    }
    cap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_opens_other_kinds_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("smtp-202612041400");
        std::fs::write(&p, b"line\n").unwrap();
        let mut f = open_log(&p).unwrap();
        let mut s = String::new();
        io::Read::read_to_string(&mut f, &mut s).unwrap();
        assert_eq!(s, "line\n");
        let e = open_log(dir.path()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("a directory"), "{e}");
        assert_eq!(
            open_log(&dir.path().join("missing")).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_and_a_device_behind_a_link_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("smtp-202612041400");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: mkfifo with a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        // No writer: a plain open would block here for ever.
        let e = open_log(&fifo).unwrap_err();
        assert!(e.to_string().contains("a FIFO"), "{e}");
        let link = dir.path().join("smtp-202612041401");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let e = open_log(&link).unwrap_err();
        assert!(e.to_string().contains("a character device"), "{e}");
        assert!(e.to_string().contains("smtp-202612041401"), "{e}");
    }

    #[test]
    fn the_cap_leaves_most_descriptors_to_the_rest() {
        let cap = open_file_cap(256);
        assert!((4..=256).contains(&cap), "{cap}");
    }
}
