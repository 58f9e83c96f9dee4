//! Reading a whole file on a second thread, for `report`: the copy out of the page cache (a
//! fifth of `report`'s time when it ran on the parsing thread) overlaps with the parsing.
//!
//! The chunks are handed over as they are ([`ReadAhead::next_chunk`]), so that the lines in
//! them can be parsed where they lie; the [`Read`] implementation copies them out for other
//! readers. Chunk buffers go back to a small pool shared by all the files of a run, so a
//! buffer is allocated and zeroed once per run, not once per file.

use std::io::{self, Read};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread;

/// Bytes per read: small enough that a chunk is still in the shared cache when it is parsed.
const CHUNK: usize = 256 << 10;
/// Chunks read ahead of the parser (so at most `(AHEAD + 2) * CHUNK` bytes are held).
const AHEAD: usize = 4;

/// Chunk buffers not in use (each `CHUNK` bytes long), at most `AHEAD + 2`.
static SPARE: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// A buffer of `CHUNK` bytes: a spare one, or a new one.
fn take_buffer() -> Vec<u8> {
    let spare = SPARE.lock().map(|mut s| s.pop()).unwrap_or(None);
    spare.unwrap_or_else(|| vec![0; CHUNK])
}

/// Gives a buffer back for the next chunk, or frees it when there are spares enough.
fn give_back(buf: Vec<u8>) {
    if buf.len() != CHUNK {
        return;
    }
    if let Ok(mut spare) = SPARE.lock()
        && spare.len() < AHEAD + 2
    {
        spare.push(buf);
    }
}

/// A chunk: a `CHUNK`-byte buffer and how many of its bytes were read.
type Chunk = (Vec<u8>, usize);

/// A [`Read`] over a file that a background thread reads ahead, chunk by chunk.
pub struct ReadAhead {
    chunks: Receiver<io::Result<Chunk>>,
    current: Vec<u8>,
    /// The bytes of `current` that were read.
    len: usize,
    pos: usize,
    done: bool,
}

impl ReadAhead {
    /// Starts reading `file` from its current position (a [`std::fs::File`], or one cut
    /// short with [`Read::take`]).
    pub fn new(mut file: impl Read + Send + 'static) -> io::Result<ReadAhead> {
        let (tx, chunks) = sync_channel::<io::Result<Chunk>>(AHEAD);
        thread::Builder::new()
            .name("read-ahead".into())
            .spawn(move || {
                loop {
                    let mut buf = take_buffer();
                    let read = loop {
                        match file.read(&mut buf) {
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                            other => break other,
                        }
                    };
                    let last = !matches!(read, Ok(n) if n > 0);
                    let msg = match read {
                        Ok(n) => Ok((buf, n)),
                        Err(e) => {
                            give_back(buf);
                            Err(e)
                        }
                    };
                    // The reader was dropped: stop.
                    if let Err(unsent) = tx.send(msg) {
                        if let Ok((buf, _)) = unsent.0 {
                            give_back(buf);
                        }
                        return;
                    }
                    if last {
                        return;
                    }
                }
            })?;
        Ok(ReadAhead {
            chunks,
            current: Vec::new(),
            len: 0,
            pos: 0,
            done: false,
        })
    }

    /// The next chunk read, whole (the previous one goes back to the pool); `None` at the end
    /// of the file. A chunk is never empty.
    pub fn next_chunk(&mut self) -> io::Result<Option<&[u8]>> {
        self.advance()?;
        if self.done {
            return Ok(None);
        }
        self.pos = self.len;
        Ok(Some(&self.current[..self.len]))
    }

    /// Makes sure `current` has unread bytes, unless the file is at its end (`done`).
    fn advance(&mut self) -> io::Result<()> {
        while self.pos == self.len && !self.done {
            // The thread ends after the last chunk or an error, so a closed channel here
            // means it died: not an end of file.
            let (next, len) = self
                .chunks
                .recv()
                .map_err(|_| io::Error::other("the read-ahead thread stopped"))??;
            if len == 0 {
                self.done = true;
            }
            give_back(std::mem::replace(&mut self.current, next));
            self.len = len;
            self.pos = 0;
        }
        Ok(())
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        give_back(std::mem::take(&mut self.current));
        // Chunks read but not taken (a reader that stopped early).
        while let Ok(Ok((buf, _))) = self.chunks.try_recv() {
            give_back(buf);
        }
    }
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.advance()?;
        if self.done {
            return Ok(0);
        }
        let n = out.len().min(self.len - self.pos);
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
    fn chunks_are_the_file() {
        let mut f = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..(CHUNK * 3 + 77)).map(|i| (i % 253) as u8).collect();
        f.write_all(&data).unwrap();
        use std::io::Seek;
        f.rewind().unwrap();
        // Twice: the second reader runs on the buffers the first gave back.
        for _ in 0..2 {
            let mut r = ReadAhead::new(f.try_clone().unwrap()).unwrap();
            let mut got = Vec::new();
            while let Some(chunk) = r.next_chunk().unwrap() {
                assert!(!chunk.is_empty());
                got.extend_from_slice(chunk);
            }
            assert!(got == data);
            assert!(r.next_chunk().unwrap().is_none(), "stays at end");
            f.rewind().unwrap();
        }
    }

    #[test]
    fn empty_file() {
        let f = tempfile::tempfile().unwrap();
        let mut r = ReadAhead::new(f).unwrap();
        assert_eq!(r.read(&mut [0u8; 16]).unwrap(), 0);
    }
}
