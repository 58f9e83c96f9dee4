//! A log file's identity: which file this is, whatever its name. [`FileId`] is the device and
//! inode (a file replaced under the same name has another), [`Fingerprint`] a checksum of its
//! first bytes (inode numbers are reused once a file is deleted). The per-file reader
//! ([`super::file`]) takes them when it opens a file and checks them when it opens one again;
//! the checkpoints ([`super::checkpoint`]) store them. Neither of those is needed here.

use std::fs::{File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};

use serde::{Deserialize, Serialize};

/// Tells two files apart even when one replaced the other under the same name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileId {
    /// Device number (0 where unknown).
    pub dev: u64,
    /// Inode number (on Windows, the creation time).
    pub ino: u64,
}

impl FileId {
    /// The identity of the file `meta` describes: device and inode on Unix.
    #[cfg(unix)]
    pub fn of(meta: &Metadata) -> FileId {
        use std::os::unix::fs::MetadataExt;
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }

    /// The identity of the file `meta` describes. Windows has no stable inode in `std`, so
    /// the creation time stands in for it: a file replaced under the same name has a new one.
    #[cfg(windows)]
    pub fn of(meta: &Metadata) -> FileId {
        use std::os::windows::fs::MetadataExt;
        FileId {
            dev: 0,
            ino: meta.creation_time(),
        }
    }

    /// Elsewhere no identity is known and a file is the same as long as its name is.
    #[cfg(not(any(unix, windows)))]
    pub fn of(_meta: &Metadata) -> FileId {
        FileId { dev: 0, ino: 0 }
    }
}

/// How many leading bytes identify a file's content, besides its device and inode (inode
/// numbers are reused once a file is deleted).
pub const FINGERPRINT_BYTES: u64 = 1024;

/// A checksum of a file's first bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// How many bytes were summed (fewer than [`FINGERPRINT_BYTES`] while the file is short).
    pub len: u64,
    /// CRC-32 of those bytes.
    pub crc32: u32,
}

impl Fingerprint {
    /// The fingerprint of the first `min(size, FINGERPRINT_BYTES)` bytes of `file`. The
    /// file position is left where it was.
    pub fn of(file: &mut File) -> io::Result<Fingerprint> {
        let pos = file.stream_position()?;
        file.seek(SeekFrom::Start(0))?;
        let mut buf = [0u8; FINGERPRINT_BYTES as usize];
        let mut len = 0usize;
        let result = loop {
            match file.read(&mut buf[len..]) {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    len += n;
                    if len == buf.len() {
                        break Ok(());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        file.seek(SeekFrom::Start(pos))?;
        result?;
        Ok(Fingerprint {
            len: len as u64,
            crc32: crc32fast::hash(&buf[..len]),
        })
    }

    /// Does `file` start with the bytes this fingerprint was taken of?
    pub fn matches(&self, file: &mut File) -> io::Result<bool> {
        let now = Fingerprint::of(file)?;
        if now.len < self.len {
            return Ok(false);
        }
        if now.len == self.len {
            return Ok(now.crc32 == self.crc32);
        }
        let pos = file.stream_position()?;
        file.seek(SeekFrom::Start(0))?;
        let mut buf = vec![0u8; self.len as usize];
        let read = file.read_exact(&mut buf);
        file.seek(SeekFrom::Start(pos))?;
        read?;
        Ok(crc32fast::hash(&buf) == self.crc32)
    }
}
