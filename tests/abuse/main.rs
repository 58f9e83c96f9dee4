//! Abuse tests with latency bounds: hostile clients and odd files against the exporter binary.
//!
//! They measure how long a well-behaved scrape takes while something else hogs the exporter,
//! so they must not share the machine's two cores with other tests: `scripts/test.sh` runs
//! this binary after every other test, one test at a time, and [`serial`] keeps a plain
//! `cargo test` (which runs test binaries one after another, but the tests of one binary in
//! parallel) from running two of them at once. Every loop is bounded in count and in time;
//! nothing waits on a fixed sleep for synchronisation.

/// The bcrypt flood.
mod bcrypt;

/// Connection hogs: idle, never reading, unauthenticated keep-alive, one address.
mod http;

/// 50 000 fresh log files under a 1024 descriptor limit. Linux: the limit is set with
/// `ulimit -n` in a shell, the memory and descriptors read from `/proc`.
#[cfg(target_os = "linux")]
mod files;

/// The integration tests' helpers: temporary log dirs, the binary as a child process, HTTP.
#[path = "../it/util.rs"]
mod util;

/// The tests of this binary run one at a time: take this first.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}
