//! A log file's identity: which file this is, whatever its name. [`FileId`] is the device and
//! inode on Unix, the volume serial number and file index on Windows (a file replaced under
//! the same name has another), [`Fingerprint`] a checksum of its first bytes (inode numbers
//! and file indexes are reused once a file is deleted). The per-file reader
//! ([`super::file`]) takes them when it opens a file and checks them when it opens one again;
//! the checkpoints ([`super::checkpoint`]) store them. Neither of those is needed here.
//!
//! On Unix the identity is in a file's metadata; on Windows only an open handle gives it
//! (`GetFileInformationByHandle`), so [`FileId::at`] opens the path there, for its
//! attributes only: no read access, every sharing mode, so XMail can go on writing, renaming
//! and deleting the file meanwhile. Windows' creation time is no identity: NTFS gives a file
//! created within seconds of the deletion of another under the same name the old one's
//! ("tunnelling"), and Wine reports the status change time, which every append changes.

use std::fs::{File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Tells two files apart even when one replaced the other under the same name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileId {
    /// Device number (on Windows, the volume serial number; 0 where unknown).
    pub dev: u64,
    /// Inode number (on Windows, the file index).
    pub ino: u64,
}

impl FileId {
    /// The identity of the file at `path`, which `meta` (from [`std::fs::metadata`]: links
    /// followed) describes. On Unix it is read from `meta`; on Windows the path is opened to
    /// ask (a name deleted meanwhile is an error of kind [`io::ErrorKind::NotFound`]).
    #[cfg(unix)]
    pub fn at(_path: &Path, meta: &Metadata) -> io::Result<FileId> {
        Ok(FileId::of_meta(meta))
    }

    /// The identity of the file at `path`, which `meta` (from [`std::fs::metadata`]: links
    /// followed) describes. On Unix it is read from `meta`; on Windows the path is opened to
    /// ask (a name deleted meanwhile is an error of kind [`io::ErrorKind::NotFound`]).
    #[cfg(windows)]
    pub fn at(path: &Path, _meta: &Metadata) -> io::Result<FileId> {
        use std::os::windows::fs::OpenOptionsExt;
        use windows_sys::Win32::Storage::FileSystem::{
            FILE_FLAG_BACKUP_SEMANTICS, FILE_SHARE_DELETE, FILE_SHARE_READ, FILE_SHARE_WRITE,
        };
        // What `std::fs::metadata` opens: attributes only, directories too.
        let file = std::fs::OpenOptions::new()
            .access_mode(0)
            .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)
            .custom_flags(FILE_FLAG_BACKUP_SEMANTICS)
            .open(path)?;
        FileId::of_handle(&file)
    }

    /// Elsewhere no identity is known and a file is the same as long as its name is.
    #[cfg(not(any(unix, windows)))]
    pub fn at(_path: &Path, _meta: &Metadata) -> io::Result<FileId> {
        Ok(FileId { dev: 0, ino: 0 })
    }

    /// The identity of the open `file`.
    #[cfg(unix)]
    pub fn of(file: &File) -> io::Result<FileId> {
        Ok(FileId::of_meta(&file.metadata()?))
    }

    /// The identity of the open `file`.
    #[cfg(windows)]
    pub fn of(file: &File) -> io::Result<FileId> {
        FileId::of_handle(file)
    }

    /// The identity of the open `file`.
    #[cfg(not(any(unix, windows)))]
    pub fn of(_file: &File) -> io::Result<FileId> {
        Ok(FileId { dev: 0, ino: 0 })
    }

    /// Device and inode.
    #[cfg(unix)]
    fn of_meta(meta: &Metadata) -> FileId {
        use std::os::unix::fs::MetadataExt;
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }

    /// Volume serial number and file index (64 bits: unique on NTFS and FAT; ReFS has 128-bit
    /// file IDs, of which this is a part).
    #[cfg(windows)]
    fn of_handle(file: &File) -> io::Result<FileId> {
        use std::os::windows::io::AsRawHandle;
        use windows_sys::Win32::Storage::FileSystem::{
            BY_HANDLE_FILE_INFORMATION, GetFileInformationByHandle,
        };
        // SAFETY: an all-zero BY_HANDLE_FILE_INFORMATION (integers and FILETIMEs) is valid.
        let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
        // SAFETY: the handle is open for as long as `file` is borrowed; `info` is a local the
        // call writes only.
        if unsafe { GetFileInformationByHandle(file.as_raw_handle(), &mut info) } == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(FileId {
            dev: u64::from(info.dwVolumeSerialNumber),
            ino: (u64::from(info.nFileIndexHigh) << 32) | u64::from(info.nFileIndexLow),
        })
    }
}

/// Has the open `file` been deleted while this handle holds it? Windows keeps the name of a
/// file deleted while another handle has it open ("delete pending", unless the deletion used
/// POSIX semantics, Windows 10 1903 and later on NTFS) until the last handle closes, and
/// refuses every open of it meanwhile: the reader must see it as gone and close it, or the
/// file stays forever. (Wine reports no pending deletion.)
#[cfg(windows)]
pub fn delete_pending(file: &File) -> io::Result<bool> {
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::Storage::FileSystem::{
        FILE_STANDARD_INFO, FileStandardInfo, GetFileInformationByHandleEx,
    };
    // SAFETY: an all-zero FILE_STANDARD_INFO (integers and BOOLEANs) is valid.
    let mut info: FILE_STANDARD_INFO = unsafe { std::mem::zeroed() };
    // SAFETY: the handle is open for as long as `file` is borrowed; the call writes at most
    // the given size into `info`.
    let ok = unsafe {
        GetFileInformationByHandleEx(
            file.as_raw_handle(),
            FileStandardInfo,
            (&mut info as *mut FILE_STANDARD_INFO).cast(),
            std::mem::size_of::<FILE_STANDARD_INFO>() as u32,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(info.DeletePending)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn id_at(path: &Path) -> FileId {
        FileId::at(path, &std::fs::metadata(path).unwrap()).unwrap()
    }

    /// Appends keep a file's identity (Wine's "creation time" changed at every append); a
    /// file put in its place under the same name, right after the old one was deleted, has
    /// another (NTFS would give it the old one's creation time).
    #[test]
    fn an_append_keeps_the_identity_and_a_replacement_has_another() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("smtp-202612051000");
        std::fs::write(&path, "a\n").unwrap();
        let id = id_at(&path);
        let file = File::open(&path).unwrap();
        assert_eq!(FileId::of(&file).unwrap(), id);
        let mut writer = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        writer.write_all(b"b\n").unwrap();
        writer.sync_all().unwrap();
        assert_eq!(id_at(&path), id);
        assert_eq!(FileId::of(&file).unwrap(), id);
        drop((file, writer));

        // Made while the old file exists, so it cannot get the old inode or file index.
        let next = dir.path().join("next");
        std::fs::write(&next, "a\n").unwrap();
        std::fs::remove_file(&path).unwrap();
        std::fs::rename(&next, &path).unwrap();
        assert_ne!(id_at(&path), id);
    }

    /// A directory has an identity too (the tailer watches directories by it).
    #[test]
    fn a_directory_has_an_identity() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::create_dir(&a).unwrap();
        std::fs::create_dir(&b).unwrap();
        assert_eq!(id_at(&a), id_at(&a));
        assert_ne!(id_at(&a), id_at(&b));
    }
}
