//! Connections: the [`Registry`] that admits each accepted connection under a global and a
//! per-address limit, making room by closing an idle or stalled connection rather than
//! letting new ones queue up (one that finds every connection busy answering waits a moment,
//! off the accept loop, then is refused), and [`Tracked`], the IO wrapper that tells the
//! registry what its connection is doing, closes it when a response stops moving
//! (`--web.write-timeout`), and runs the state-file commits of the responses it carried
//! once their bytes were written.
//!
//! HTTP itself is hyper's ([`super`] drives it over a [`Tracked`] stream); what a response
//! holds, and which commit it carries, is [`super::handler`]'s.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Sleep;

/// Connections one client address may hold at once.
pub const MAX_PER_ADDRESS: usize = 32;
/// A connection idle for less than this is not closed to make room: its request may be on
/// its way (a connection with request bytes waiting in the kernel is not idle either).
const IDLE_GRACE: Duration = Duration::from_millis(5);
/// A connection still sending its request head after this long may be closed to make room,
/// once no idle or stalled one is left (a scraper sends its head in one packet).
const SLOW_REQUEST: Duration = Duration::from_secs(1);

/// Work to do once a response's bytes are written (saving its scrape's checkpoint).
pub type Commit = Box<dyn FnOnce() + Send + 'static>;

/// What a connection is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for a request: never sent a byte, or between requests on keep-alive.
    Idle = 0,
    /// Receiving a request (or a TLS handshake).
    Reading = 1,
    /// A request is being answered.
    Busy = 2,
    /// A response is being written.
    Writing = 3,
}

impl Phase {
    fn from_u8(v: u8) -> Phase {
        match v {
            0 => Phase::Idle,
            1 => Phase::Reading,
            2 => Phase::Busy,
            _ => Phase::Writing,
        }
    }
}

/// One connection's state, shared by its [`Tracked`] stream, its request handlers and the
/// registry.
pub struct Conn {
    epoch: Instant,
    phase: AtomicU8,
    /// When the phase began, in nanoseconds since `epoch`.
    since: AtomicU64,
    /// Since when a write has waited for the client (nanoseconds since `epoch`, plus one);
    /// 0 when no write waits.
    stalled: AtomicU64,
    /// Responses whose last bytes were handed to hyper.
    ended: AtomicU64,
    /// Of those, how many are written to the socket.
    flushed: AtomicU64,
    flush_notify: Notify,
    /// The request being answered was sent before the previous response was done
    /// (pipelining, which Prometheus never does).
    pipelined: AtomicBool,
    /// Commits of responses handed to hyper, run once their bytes are written.
    commits: Mutex<Vec<Commit>>,
    evict: Notify,
}

impl Conn {
    fn new(epoch: Instant) -> Conn {
        let c = Conn {
            epoch,
            phase: AtomicU8::new(Phase::Idle as u8),
            since: AtomicU64::new(0),
            stalled: AtomicU64::new(0),
            ended: AtomicU64::new(0),
            flushed: AtomicU64::new(0),
            flush_notify: Notify::new(),
            pipelined: AtomicBool::new(false),
            commits: Mutex::new(Vec::new()),
            evict: Notify::new(),
        };
        c.since.store(c.now(), Ordering::Relaxed);
        c
    }

    fn now(&self) -> u64 {
        Instant::now()
            .saturating_duration_since(self.epoch)
            .as_nanos() as u64
    }

    fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Relaxed))
    }

    fn enter(&self, p: Phase) {
        if self.phase() != p {
            self.since.store(self.now(), Ordering::Relaxed);
            self.phase.store(p as u8, Ordering::Relaxed);
        }
    }

    /// A request arrived and is being answered.
    pub fn request_started(&self) {
        // A request that came in a fresh read starts from `Reading`; one that was already
        // buffered behind the previous request was pipelined.
        let phase = self.phase();
        self.pipelined
            .store(phase != Phase::Reading, Ordering::Relaxed);
        if phase != Phase::Writing {
            self.enter(Phase::Busy);
        }
    }

    /// A response's last bytes were handed to hyper; `commit` runs once they are written.
    pub fn body_ended(&self, commit: Option<Commit>) {
        if let Some(c) = commit {
            self.commits
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(c);
        }
        self.ended.fetch_add(1, Ordering::AcqRel);
    }

    /// Waits until the responses handed to hyper so far are written to the socket, so a
    /// client that pipelines requests and never reads holds one response, not a queue.
    pub async fn previous_responses_written(&self) {
        let target = self.ended.load(Ordering::Acquire);
        loop {
            let notified = self.flush_notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.flushed.load(Ordering::Acquire) >= target {
                return;
            }
            notified.await;
        }
    }

    /// Completes when the registry closes this connection to make room for another.
    pub async fn evicted(&self) {
        self.evict.notified().await;
    }
}

/// An OS socket to look at without reading it.
#[cfg(unix)]
pub type Socket = std::os::fd::RawFd;
/// An OS socket to look at without reading it.
#[cfg(windows)]
pub type Socket = std::os::windows::io::RawSocket;
/// An OS socket to look at without reading it (not looked at on this platform).
#[cfg(not(any(unix, windows)))]
pub type Socket = ();

/// Has the client sent bytes that nobody read yet? Called under the registry lock, which
/// the socket's [`Tracked`] takes to deregister before the socket is closed.
#[cfg(unix)]
fn has_input(fd: Socket) -> bool {
    let mut byte = 0u8;
    // SAFETY: `fd` is open (see above); one byte into a local buffer, without blocking.
    let n = unsafe {
        libc::recv(
            fd,
            (&mut byte as *mut u8).cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    n > 0
}

/// Has the client sent bytes that nobody read yet? (Windows: how many bytes a read would
/// return at once, `FIONREAD`.)
#[cfg(windows)]
fn has_input(socket: Socket) -> bool {
    use windows_sys::Win32::Networking::WinSock::{FIONREAD, SOCKET, ioctlsocket};
    let mut pending = 0u32;
    // SAFETY: `socket` is open (see the Unix version); the call writes one u32 to a local.
    let status = unsafe { ioctlsocket(socket as SOCKET, FIONREAD, &mut pending) };
    status == 0 && pending > 0
}

#[cfg(not(any(unix, windows)))]
fn has_input(_: Socket) -> bool {
    false
}

struct Entry {
    conn: Arc<Conn>,
    address: IpAddr,
    socket: Option<Socket>,
    /// Told to close; no longer counted against the limits.
    evicted: bool,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    entries: HashMap<u64, Entry>,
    per_address: HashMap<IpAddr, usize>,
    total: usize,
}

impl Inner {
    fn uncount(&mut self, address: IpAddr) {
        self.total -= 1;
        if let Some(n) = self.per_address.get_mut(&address) {
            *n -= 1;
            if *n == 0 {
                self.per_address.remove(&address);
            }
        }
    }
}

/// A connection as the eviction policy sees it.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    id: u64,
    phase: Phase,
    since: u64,
    stalled: u64,
    pipelined: bool,
}

/// The connection to close to make room: the one idle the longest (idle for at least
/// [`IDLE_GRACE`], with no request bytes waiting); else the one whose write has waited the
/// longest; else the one busy the longest with a pipelined request; else one that has been sending its request head for over [`SLOW_REQUEST`],
/// the longest first; else the oldest one idle for less than the grace (a burst of new
/// connections); else none, and the new connection is refused.
fn pick(cands: &[Candidate], now: u64, has_input: impl Fn(u64) -> bool) -> Option<u64> {
    let grace = IDLE_GRACE.as_nanos() as u64;
    let mut idle: Vec<&Candidate> = cands.iter().filter(|c| c.phase == Phase::Idle).collect();
    idle.sort_by_key(|c| c.since);
    let (settled, fresh): (Vec<&Candidate>, Vec<&Candidate>) = idle
        .into_iter()
        .partition(|c| c.since.saturating_add(grace) <= now);
    if let Some(c) = settled.into_iter().find(|c| !has_input(c.id)) {
        return Some(c.id);
    }
    if let Some(c) = cands
        .iter()
        .filter(|c| c.stalled != 0)
        .min_by_key(|c| c.stalled)
    {
        return Some(c.id);
    }
    if let Some(c) = cands
        .iter()
        .filter(|c| c.phase == Phase::Busy && c.pipelined)
        .min_by_key(|c| c.since)
    {
        return Some(c.id);
    }
    let slow = SLOW_REQUEST.as_nanos() as u64;
    if let Some(c) = cands
        .iter()
        .filter(|c| c.phase == Phase::Reading && c.since.saturating_add(slow) <= now)
        .min_by_key(|c| c.since)
    {
        return Some(c.id);
    }
    fresh.into_iter().find(|c| !has_input(c.id)).map(|c| c.id)
}

/// How long a new connection may wait for a connection to become closable.
pub const ADMISSION_WAIT: Duration = Duration::from_secs(1);
/// How often a waiting connection tries again.
const ADMISSION_RETRY: Duration = Duration::from_millis(5);
/// New connections waiting at once; more are refused at once.
const MAX_WAITING: usize = 64;

/// The open connections, by client address. See the module documentation.
pub struct Registry {
    max_total: usize,
    max_per_address: usize,
    epoch: Instant,
    inner: Mutex<Inner>,
    waiting: std::sync::atomic::AtomicUsize,
}

/// A place among the [`MAX_WAITING`] connections waiting for admission.
struct Waiting<'a>(&'a Registry);

impl<'a> Waiting<'a> {
    fn enter(r: &'a Registry) -> Option<Waiting<'a>> {
        let n = r.waiting.fetch_add(1, Ordering::AcqRel);
        let w = Waiting(r);
        (n < MAX_WAITING).then_some(w)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Registry {
    /// A registry that holds at most `max_total` connections, `max_per_address` from one
    /// client address (an IPv4-mapped IPv6 address counts as its IPv4 address).
    pub fn new(max_total: usize, max_per_address: usize) -> Registry {
        Registry {
            max_total,
            max_per_address,
            epoch: Instant::now(),
            inner: Mutex::new(Inner::default()),
            waiting: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Admits a new connection from `peer`, closing another to make room if a limit is
    /// reached (see `pick`; at the address limit, one of that address). `Err` gives the
    /// stream back when nothing could be closed. Never waits.
    pub fn admit<S>(
        self: &Arc<Self>,
        io: S,
        socket: Option<Socket>,
        peer: SocketAddr,
        write_timeout: Duration,
    ) -> Result<Tracked<S>, S> {
        let address = peer.ip().to_canonical();
        let mut inner = self.lock();
        let address_full =
            inner.per_address.get(&address).copied().unwrap_or(0) >= self.max_per_address;
        if address_full || inner.total >= self.max_total {
            let now = Instant::now()
                .saturating_duration_since(self.epoch)
                .as_nanos() as u64;
            let cands: Vec<Candidate> = inner
                .entries
                .iter()
                .filter(|(_, e)| !e.evicted && (!address_full || e.address == address))
                .map(|(&id, e)| Candidate {
                    id,
                    phase: e.conn.phase(),
                    since: e.conn.since.load(Ordering::Relaxed),
                    stalled: e.conn.stalled.load(Ordering::Relaxed),
                    pipelined: e.conn.pipelined.load(Ordering::Relaxed),
                })
                .collect();
            let victim = pick(&cands, now, |id| {
                inner
                    .entries
                    .get(&id)
                    .and_then(|e| e.socket)
                    .is_some_and(has_input)
            });
            let Some(e) = victim.and_then(|v| inner.entries.get_mut(&v)) else {
                return Err(io);
            };
            e.evicted = true;
            e.conn.evict.notify_one();
            let a = e.address;
            inner.uncount(a);
        }
        let id = inner.next_id;
        inner.next_id += 1;
        let conn = Arc::new(Conn::new(self.epoch));
        inner.entries.insert(
            id,
            Entry {
                conn: conn.clone(),
                address,
                socket,
                evicted: false,
            },
        );
        inner.total += 1;
        *inner.per_address.entry(address).or_default() += 1;
        Ok(Tracked {
            io,
            conn,
            id,
            registry: self.clone(),
            write_timeout,
            stall: None,
            saving: None,
        })
    }

    fn remove(&self, id: u64) {
        let mut inner = self.lock();
        if let Some(e) = inner.entries.remove(&id)
            && !e.evicted
        {
            inner.uncount(e.address);
        }
    }

    /// Admits `io` as [`Registry::admit`] does, trying again every `ADMISSION_RETRY` for
    /// up to [`ADMISSION_WAIT`] while nothing can be closed (when every connection is busy
    /// answering, as when hundreds arrive at once), with at most `MAX_WAITING` waiting;
    /// `None` when it is refused.
    pub async fn admit_soon<S>(
        self: &Arc<Self>,
        io: S,
        socket: Option<Socket>,
        peer: SocketAddr,
        write_timeout: Duration,
    ) -> Option<Tracked<S>> {
        let mut io = match self.admit(io, socket, peer, write_timeout) {
            Ok(t) => return Some(t),
            Err(io) => io,
        };
        let waiting = Waiting::enter(self)?;
        let deadline = Instant::now() + ADMISSION_WAIT;
        while Instant::now() < deadline {
            tokio::time::sleep(ADMISSION_RETRY).await;
            io = match self.admit(io, socket, peer, write_timeout) {
                Ok(t) => return Some(t),
                Err(io) => io,
            };
        }
        drop(waiting);
        None
    }

    /// How many open connections are idle, reading, busy, writing, and waiting on a write:
    /// for the log line of a refused connection.
    pub fn census(&self) -> [usize; 5] {
        let inner = self.lock();
        let mut n = [0; 5];
        for e in inner.entries.values().filter(|e| !e.evicted) {
            n[e.conn.phase() as usize] += 1;
            if e.conn.stalled.load(Ordering::Relaxed) != 0 {
                n[4] += 1;
            }
        }
        n
    }

    /// Connections counted against the limits (for tests and logs).
    pub fn open(&self) -> usize {
        self.lock().total
    }
}

/// A connection's stream, as hyper (or TLS) reads and writes it. See the module
/// documentation. Dropping it deregisters the connection before the socket closes.
pub struct Tracked<S> {
    io: S,
    conn: Arc<Conn>,
    id: u64,
    registry: Arc<Registry>,
    write_timeout: Duration,
    /// Armed while a write waits for the client.
    stall: Option<Pin<Box<Sleep>>>,
    /// The commits of written responses, running on the blocking pool.
    saving: Option<JoinHandle<()>>,
}

impl<S> Tracked<S> {
    /// The connection's shared state.
    pub fn conn(&self) -> &Arc<Conn> {
        &self.conn
    }
}

impl<S> Drop for Tracked<S> {
    fn drop(&mut self) {
        // Before `io` is dropped, so the registry never looks at a closed socket.
        self.registry.remove(self.id);
    }
}

impl<S: AsyncWrite + Unpin> Tracked<S> {
    fn write_with(
        &mut self,
        cx: &mut Context<'_>,
        write: impl FnOnce(Pin<&mut S>, &mut Context<'_>) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        self.conn.enter(Phase::Writing);
        match write(Pin::new(&mut self.io), cx) {
            Poll::Pending => {
                let (conn, timeout) = (&self.conn, self.write_timeout);
                let sleep = self.stall.get_or_insert_with(|| {
                    conn.stalled.store(conn.now() + 1, Ordering::Relaxed);
                    Box::pin(tokio::time::sleep(timeout))
                });
                if sleep.as_mut().poll(cx).is_ready() {
                    tracing::debug!(
                        ?timeout,
                        "closing a connection: the client read nothing of the response within --web.write-timeout"
                    );
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client read nothing of the response within --web.write-timeout",
                    )));
                }
                Poll::Pending
            }
            done => {
                if matches!(done, Poll::Ready(Ok(n)) if n > 0) {
                    self.stall = None;
                    self.conn.stalled.store(0, Ordering::Relaxed);
                }
                done
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.io).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(())))
            && buf.filled().len() > before
            && this.conn.phase() == Phase::Idle
        {
            this.conn.enter(Phase::Reading);
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .write_with(cx, |io, cx| io.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .write_with(cx, |io, cx| io.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    /// hyper flushes only once its buffer is empty, and TLS flushes its stream only once
    /// its records are written: when this returns `Ready(Ok)`, every byte of the responses
    /// handed to hyper before it was called is in the kernel. Their commits run then, and
    /// this returns once they are done (a client that waits for the connection to close
    /// knows its scrape was saved).
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let ended = this.conn.ended.load(Ordering::Acquire);
        ready!(Pin::new(&mut this.io).poll_flush(cx))?;
        loop {
            if let Some(task) = &mut this.saving {
                if let Err(e) = ready!(Pin::new(task).poll(cx)) {
                    tracing::error!(error = %e, "saving the state file failed");
                }
                this.saving = None;
            }
            let commits =
                std::mem::take(&mut *this.conn.commits.lock().unwrap_or_else(|e| e.into_inner()));
            if commits.is_empty() {
                break;
            }
            this.saving = Some(tokio::task::spawn_blocking(move || {
                for c in commits {
                    c();
                }
            }));
        }
        this.conn.flushed.fetch_max(ended, Ordering::AcqRel);
        this.conn.flush_notify.notify_waiters();
        if this.conn.phase() == Phase::Writing {
            this.conn.enter(Phase::Idle);
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().poll_flush(cx))?;
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const MS: u64 = 1_000_000;

    fn c(id: u64, phase: Phase, since_ms: u64, stalled_ms: u64) -> Candidate {
        Candidate {
            id,
            phase,
            since: since_ms * MS,
            stalled: if stalled_ms == 0 { 0 } else { stalled_ms * MS },
            pipelined: false,
        }
    }

    #[test]
    fn eviction_order() {
        let now = 10_000 * MS;
        let busy = [
            c(1, Phase::Busy, 100, 0),
            c(2, Phase::Writing, 200, 300),
            c(3, Phase::Writing, 200, 250),
            c(4, Phase::Reading, 9_500, 0),
            c(5, Phase::Reading, 8_000, 0),
        ];
        // No idle one: the longest stalled write.
        assert_eq!(pick(&busy, now, |_| false), Some(3));
        // The oldest idle one first; one with bytes waiting is not idle; nor a fresh one.
        let mut all = busy.to_vec();
        all.extend([
            c(6, Phase::Idle, 5_000, 0),
            c(7, Phase::Idle, 4_000, 0),
            c(8, Phase::Idle, 9_999, 0),
        ]);
        assert_eq!(pick(&all, now, |_| false), Some(7));
        assert_eq!(pick(&all, now, |id| id == 7), Some(6));
        assert_eq!(pick(&all, now, |id| id == 7 || id == 6), Some(3));
        // Neither idle nor stalled: a request head taking over a second, else nothing.
        let reading = [
            c(4, Phase::Reading, 9_500, 0),
            c(5, Phase::Reading, 8_000, 0),
        ];
        assert_eq!(pick(&reading, now, |_| false), Some(5));
        assert_eq!(pick(&reading[..1], now, |_| false), None);
        assert_eq!(pick(&[c(1, Phase::Busy, 0, 0)], now, |_| false), None);
        // Busy with a pipelined request: after the stalled, before the slow.
        let mut p = c(10, Phase::Busy, 9_000, 0);
        p.pipelined = true;
        let mut with_p = reading.to_vec();
        with_p.push(p);
        assert_eq!(pick(&with_p, now, |_| false), Some(10));
        with_p.push(c(11, Phase::Writing, 9_000, 9_990));
        assert_eq!(pick(&with_p, now, |_| false), Some(11));
    }

    fn peer(a: &str) -> SocketAddr {
        a.parse().unwrap()
    }

    #[tokio::test]
    async fn limits_evict_the_idle_and_refuse_the_busy() {
        let reg = Arc::new(Registry::new(3, 2));
        let t = Duration::from_secs(10);
        let a = reg.admit((), None, peer("127.0.0.2:1"), t).unwrap();
        std::thread::sleep(IDLE_GRACE * 2);
        let b = reg
            .admit((), None, peer("[::ffff:127.0.0.2]:2"), t)
            .unwrap();
        // The address limit (an IPv4-mapped address is the same address): the idle one of
        // that address goes, and is told.
        let _c = reg.admit((), None, peer("127.0.0.2:3"), t).unwrap();
        tokio::time::timeout(Duration::from_secs(1), a.conn().evicted())
            .await
            .unwrap();
        assert_eq!(reg.open(), 2);
        drop(a);
        assert_eq!(reg.open(), 2);
        // The global limit with everyone busy (with requests that came in a read of their
        // own, not pipelined): refused.
        let busy = |t: &Tracked<()>| {
            t.conn().enter(Phase::Reading);
            t.conn().request_started();
        };
        busy(&b);
        let d = reg.admit((), None, peer("127.0.0.3:1"), t).unwrap();
        busy(&d);
        busy(&_c);
        assert!(reg.admit((), None, peer("127.0.0.4:1"), t).is_err());
        drop(d);
        assert!(reg.admit((), None, peer("127.0.0.4:1"), t).is_ok());
    }

    #[tokio::test]
    async fn a_write_that_makes_no_progress_times_out() {
        let reg = Arc::new(Registry::new(8, 8));
        let (client, server) = tokio::io::duplex(64);
        let mut io = reg
            .admit(
                server,
                None,
                peer("127.0.0.2:1"),
                Duration::from_millis(200),
            )
            .unwrap();
        let t0 = Instant::now();
        let e = io.write_all(&[0u8; 4096]).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(t0.elapsed() >= Duration::from_millis(200));
        drop(client);
    }

    #[tokio::test]
    async fn commits_run_after_the_bytes_are_written() {
        let reg = Arc::new(Registry::new(8, 8));
        let (mut client, server) = tokio::io::duplex(16);
        let mut io = reg
            .admit(server, None, peer("127.0.0.2:1"), Duration::from_secs(10))
            .unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        io.conn()
            .body_ended(Some(Box::new(move || d.store(true, Ordering::SeqCst))));
        let conn = io.conn().clone();
        let writer = tokio::spawn(async move {
            io.write_all(&[7u8; 64]).await.unwrap();
            io.flush().await.unwrap();
            io
        });
        // Nothing is committed while the bytes wait for the client.
        let mut buf = [0u8; 8];
        client.read_exact(&mut buf).await.unwrap();
        assert!(!done.load(Ordering::SeqCst));
        let mut rest = [0u8; 56];
        client.read_exact(&mut rest).await.unwrap();
        let _io = writer.await.unwrap();
        assert!(done.load(Ordering::SeqCst));
        tokio::time::timeout(Duration::from_secs(1), conn.previous_responses_written())
            .await
            .unwrap();
    }
}
