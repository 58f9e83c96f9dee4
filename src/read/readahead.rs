//! Reading a whole file on a second thread, for `report`: the copy out of the page cache (a
//! fifth of `report`'s time when it ran on the parsing thread) overlaps with the parsing.

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread;

/// Bytes per read: small enough that a chunk is still in the shared cache when it is parsed.
const CHUNK: usize = 256 << 10;
/// Chunks read ahead of the parser (so at most `(AHEAD + 2) * CHUNK` bytes are held).
const AHEAD: usize = 4;

/// A [`Read`] over a file that a background thread reads ahead, chunk by chunk.
pub struct ReadAhead {
    chunks: Receiver<io::Result<Vec<u8>>>,
    recycle: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
    done: bool,
}

impl ReadAhead {
    /// Starts reading `file` from its current position (a [`std::fs::File`], or one cut
    /// short with [`Read::take`]).
    pub fn new(mut file: impl Read + Send + 'static) -> io::Result<ReadAhead> {
        let (tx, chunks) = sync_channel::<io::Result<Vec<u8>>>(AHEAD);
        let (recycle, spare) = sync_channel::<Vec<u8>>(AHEAD + 2);
        thread::Builder::new()
            .name("read-ahead".into())
            .spawn(move || {
                loop {
                    let mut buf = spare.try_recv().unwrap_or_default();
                    buf.resize(CHUNK, 0);
                    let read = loop {
                        match file.read(&mut buf) {
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                            other => break other,
                        }
                    };
                    let last = !matches!(read, Ok(n) if n > 0);
                    let msg = read.map(|n| {
                        buf.truncate(n);
                        buf
                    });
                    // The reader was dropped: stop.
                    if tx.send(msg).is_err() || last {
                        return;
                    }
                }
            })?;
        Ok(ReadAhead {
            chunks,
            recycle,
            current: Vec::new(),
            pos: 0,
            done: false,
        })
    }
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            if self.done {
                return Ok(0);
            }
            // The thread ends after the last chunk or an error, so a closed channel here
            // means it died: not an end of file.
            let next = self
                .chunks
                .recv()
                .map_err(|_| io::Error::other("the read-ahead thread stopped"))??;
            if next.is_empty() {
                self.done = true;
            }
            let old = std::mem::replace(&mut self.current, next);
            // A full spare queue only means the thread has enough buffers.
            let _ = self.recycle.try_send(old);
            self.pos = 0;
        }
        let n = out.len().min(self.current.len() - self.pos);
        out[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_exactly_the_file() {
        let mut f = tempfile::tempfile().unwrap();
        // Several chunks and a partial one, with content that shows a misplaced chunk.
        let data: Vec<u8> = (0..(CHUNK * 5 + 12_345)).map(|i| (i % 251) as u8).collect();
        f.write_all(&data).unwrap();
        use std::io::Seek;
        f.rewind().unwrap();
        let mut r = ReadAhead::new(f).unwrap();
        let mut got = Vec::new();
        // Odd-sized reads cross chunk boundaries.
        let mut buf = vec![0u8; 100_003];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got.len(), data.len());
        assert!(got == data);
        assert_eq!(r.read(&mut buf).unwrap(), 0, "stays at end");
    }

    #[test]
    fn empty_file() {
        let f = tempfile::tempfile().unwrap();
        let mut r = ReadAhead::new(f).unwrap();
        assert_eq!(r.read(&mut [0u8; 16]).unwrap(), 0);
    }
}
