//! Delivery delay: the time from a message's `RECV=OK` in the SMTP log to each of its
//! deliveries in the SMAIL log, joined in memory by message ID.
//!
//! The join is bounded: a received message is remembered for a window (24 h by default) of
//! log time and at most a fixed number of messages are remembered; when full, the oldest is
//! forgotten and counted. It is not saved across restarts: a delivery of a message received
//! before the exporter started has no delay, and is counted as unmatched.
//!
//! Reading order does not matter: XMail spools a message before it writes its `RECV=OK`, so
//! a pass can read a delivery before the line that received it. A delivery whose `RECV=OK`
//! is not known yet waits in [`Pending`] (bounded) until the `RECV=OK` comes, or until the
//! SMTP log has moved [`PENDING_LOG_SECS`] past it or it has waited [`PENDING_WALL`] of wall
//! time (serving only); then it counts in `xmail_exporter_delivery_delay_unmatched_total`.

use std::collections::VecDeque;
use std::collections::hash_map::Entry;
use std::time::{Duration, Instant};

use std::hash::{BuildHasherDefault, Hasher};

use prometheus::local::LocalHistogram;
use prometheus::{HistogramOpts, HistogramVec, IntCounter, Registry};

use super::family::counter;

use crate::config::JoinLimits;
use crate::parse::smail::DeliveryType;

/// Delay buckets in seconds: XMail logs whole seconds; local deliveries take 0 to 2 s,
/// remote ones seconds, retried ones minutes to days.
pub const DELAY_BUCKETS: [f64; 12] = [
    1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 43200.0, 86400.0,
];

/// The key of an `S` message ID: its hexadecimal number.
#[inline]
pub fn smtp_id_key(id: &[u8]) -> Option<u64> {
    crate::meaning::id_key(b'S', id)
}

/// The hash of a message ID key for [`ReceivedJoin`]: the ID itself in the low bits, so
/// that messages received one after the other (XMail counts them up) sit side by side in
/// the table, and a delivery, which follows its `RECV=OK` closely, finds its message in
/// memory the cache still holds; a multiplicative hash in the top 7 bits, which the table
/// compares first. Message IDs are XMail's own counters, not chosen by clients.
#[derive(Clone, Copy, Debug, Default)]
pub struct IdHasher(u64);

/// The bits of an ID kept as they are.
const ID_BITS: u32 = 57;

impl Hasher for IdHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed; any other input still hashes.
        for &b in bytes {
            self.write_u64(self.0.rotate_left(8) ^ u64::from(b));
        }
    }

    #[inline]
    fn write_u64(&mut self, id: u64) {
        let low = (1u64 << ID_BITS) - 1;
        let mixed = id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = (id & low) | (mixed & !low);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Received messages by ID, oldest first, within [`JoinLimits`].
#[derive(Debug, Default)]
pub struct ReceivedJoin {
    received: std::collections::HashMap<u64, i64, BuildHasherDefault<IdHasher>>,
    order: VecDeque<(u64, i64)>,
    limits: JoinLimits,
}

impl ReceivedJoin {
    /// An empty join.
    pub fn new(limits: JoinLimits) -> ReceivedJoin {
        ReceivedJoin {
            received: Default::default(),
            order: VecDeque::new(),
            limits,
        }
    }

    fn forget_oldest(&mut self) {
        // One look-up, not a `get` then a `remove`.
        if let Some((id, t)) = self.order.pop_front()
            && let Entry::Occupied(e) = self.received.entry(id)
            && *e.get() == t
        {
            e.remove();
        }
    }

    /// Remembers that message `id` was received at `t` (Unix seconds). Returns how many
    /// messages had to be forgotten early because the join was full.
    pub fn received(&mut self, id: u64, t: i64) -> u64 {
        while self
            .order
            .front()
            .is_some_and(|&(_, old)| old < t - self.limits.window_secs)
        {
            self.forget_oldest();
        }
        let mut evicted = 0;
        while self.order.len() >= self.limits.max_messages.max(1) {
            self.forget_oldest();
            evicted += 1;
        }
        self.received.insert(id, t);
        self.order.push_back((id, t));
        evicted
    }

    /// When message `id` was received, if it is remembered.
    pub fn received_at(&self, id: u64) -> Option<i64> {
        self.received.get(&id).copied()
    }

    /// How many messages are remembered.
    pub fn len(&self) -> usize {
        self.received.len()
    }

    /// `true` when none is.
    pub fn is_empty(&self) -> bool {
        self.received.is_empty()
    }
}

/// A delivery waits at most this many seconds of SMTP log time for its `RECV=OK`.
pub const PENDING_LOG_SECS: i64 = 30;
/// A delivery waits at most this long (wall time, serving only) for its `RECV=OK`.
pub const PENDING_WALL: Duration = Duration::from_secs(5);
/// At most this many deliveries wait; beyond, the oldest counts as unmatched.
pub const MAX_PENDING: usize = 4096;

/// A delivery of an `S` message whose `RECV=OK` has not been read yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Waiting {
    id: u64,
    t: i64,
    kind: DeliveryType,
    since: Instant,
}

/// Deliveries waiting for their `RECV=OK`, oldest first.
#[derive(Debug)]
pub struct Pending {
    waiting: VecDeque<Waiting>,
    /// Newest SMTP log time read.
    smtp_time: i64,
    wall: Option<Duration>,
}

impl Pending {
    /// Nothing waiting. `wall`: how long a delivery may wait in wall time (`None`: only the
    /// log time counts, as in a one-shot `report`, whose output must not depend on speed).
    pub fn new(wall: Option<Duration>) -> Pending {
        Pending {
            waiting: VecDeque::with_capacity(64),
            smtp_time: i64::MIN,
            wall,
        }
    }

    /// A delivery at `t` of message `id`, whose `RECV=OK` is not known: it waits. Returns
    /// how many older deliveries stopped waiting because the queue was full.
    pub fn wait(&mut self, id: u64, t: i64, kind: DeliveryType, now: Instant) -> u64 {
        let mut dropped = 0;
        while self.waiting.len() >= MAX_PENDING {
            self.waiting.pop_front();
            dropped += 1;
        }
        self.waiting.push_back(Waiting {
            id,
            t,
            kind,
            since: now,
        });
        dropped
    }

    /// Message `id` was received at `t`: the deliveries that waited for it, with their delay.
    pub fn received(&mut self, id: u64, t: i64, mut found: impl FnMut(DeliveryType, i64)) {
        self.smtp_time = self.smtp_time.max(t);
        if self.waiting.is_empty() {
            return;
        }
        self.waiting.retain(|w| {
            if w.id == id {
                found(w.kind, w.t - t);
                false
            } else {
                true
            }
        });
    }

    /// The SMTP log has reached `t`.
    #[inline]
    pub fn smtp_time(&mut self, t: i64) {
        self.smtp_time = self.smtp_time.max(t);
    }

    /// The newest SMTP log time read (`i64::MIN` before any).
    #[inline]
    pub fn log_time(&self) -> i64 {
        self.smtp_time
    }

    /// Deliveries that waited long enough, removed; returns how many.
    pub fn expire(&mut self, now: Instant) -> u64 {
        let mut n = 0;
        while let Some(w) = self.waiting.front() {
            let by_log = self.smtp_time.saturating_sub(w.t) > PENDING_LOG_SECS;
            let by_wall = self
                .wall
                .is_some_and(|max| now.saturating_duration_since(w.since) >= max);
            if !(by_log || by_wall) {
                break;
            }
            self.waiting.pop_front();
            n += 1;
        }
        n
    }

    /// Every delivery still waiting, removed (the end of a one-shot read); returns how many.
    pub fn expire_all(&mut self) -> u64 {
        let n = self.waiting.len() as u64;
        self.waiting.clear();
        n
    }

    /// How many deliveries wait.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// `true` when none does.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

/// Pre-resolved delay metric children.
pub struct DelayMetrics {
    /// Indexed like [`DeliveryType::ALL`].
    delay: [LocalHistogram; 9],
    /// Messages forgotten because the join was full.
    pub evictions: IntCounter,
    /// Deliveries whose `RECV=OK` was not read within the wait.
    pub unmatched: IntCounter,
}

impl DelayMetrics {
    /// Registers the delay metrics.
    pub fn new(registry: &Registry) -> prometheus::Result<DelayMetrics> {
        let vec = HistogramVec::new(
            HistogramOpts::new(
                "xmail_delivery_delay_seconds",
                "Seconds from a message's RECV=OK (smtp-* files) to each of its deliveries (smail-* files), by delivery type.",
            )
            .buckets(DELAY_BUCKETS.to_vec()),
            &["type"],
        )?;
        registry.register(Box::new(vec.clone()))?;
        let evictions = counter(
            registry,
            "xmail_exporter_delivery_delay_evictions_total",
            "Received messages forgotten before their deliveries because the delay join was full.",
        )?;
        let unmatched = counter(
            registry,
            "xmail_exporter_delivery_delay_unmatched_total",
            "Deliveries of S messages without a delay: their RECV=OK was not read within the wait (received before the exporter started, or forgotten).",
        )?;
        Ok(DelayMetrics {
            delay: DeliveryType::ALL.map(|t| vec.with_label_values(&[t.as_str()]).local()),
            evictions,
            unmatched,
        })
    }

    /// Observes one delivery's delay.
    #[inline]
    pub fn observe(&self, t: DeliveryType, secs: i64) {
        self.delay[t.index()].observe(secs.max(0) as f64);
    }

    /// Adds the delays observed since the last flush to the exported histograms.
    pub fn flush(&self) {
        self.delay.iter().for_each(LocalHistogram::flush);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert_eq!(smtp_id_key(b"S293D9"), Some(0x293D9));
        assert_eq!(smtp_id_key(b"SAFF9E"), Some(0xAFF9E));
        assert_eq!(smtp_id_key(b"X293E4"), None);
        assert_eq!(smtp_id_key(b"S"), None);
        assert_eq!(smtp_id_key(b"S12G"), None);
        assert_eq!(smtp_id_key(b"S11112222333344445"), None);
    }

    #[test]
    fn window_and_cap() {
        let mut j = ReceivedJoin::new(JoinLimits {
            window_secs: 100,
            max_messages: 3,
        });
        assert_eq!(j.received(1, 1000), 0);
        assert_eq!(j.received(2, 1010), 0);
        assert_eq!(j.received_at(1), Some(1000));
        // Message 1 is older than the window when message 3 arrives.
        assert_eq!(j.received(3, 1101), 0);
        assert_eq!(j.received_at(1), None);
        assert_eq!(j.received(4, 1102), 0);
        // Full: the oldest (2) goes, and that is counted.
        assert_eq!(j.received(5, 1103), 1);
        assert_eq!(j.received_at(2), None);
        assert_eq!(j.len(), 3);
        // An ID seen again (the counter restarted) takes the new time.
        assert_eq!(j.received(3, 1104), 1);
        assert_eq!(j.received_at(3), Some(1104));
    }

    #[test]
    fn ids_that_hash_alike_in_the_low_bits_stay_apart() {
        let mut j = ReceivedJoin::new(JoinLimits {
            window_secs: 100,
            max_messages: 10,
        });
        let high = 1u64 << 60;
        j.received(7, 1);
        j.received(7 | high, 2);
        assert_eq!(j.received_at(7), Some(1));
        assert_eq!(j.received_at(7 | high), Some(2));
        assert_eq!(j.received_at(8), None);
    }

    /// The join as first written, a `get` then a `remove` per message forgotten: the
    /// definition the join must match.
    struct Model {
        received: rustc_hash::FxHashMap<u64, i64>,
        order: VecDeque<(u64, i64)>,
        limits: JoinLimits,
    }

    impl Model {
        fn forget_oldest(&mut self) {
            if let Some((id, t)) = self.order.pop_front()
                && self.received.get(&id) == Some(&t)
            {
                self.received.remove(&id);
            }
        }

        fn received(&mut self, id: u64, t: i64) -> u64 {
            while self
                .order
                .front()
                .is_some_and(|&(_, old)| old < t - self.limits.window_secs)
            {
                self.forget_oldest();
            }
            let mut evicted = 0;
            while self.order.len() >= self.limits.max_messages.max(1) {
                self.forget_oldest();
                evicted += 1;
            }
            self.received.insert(id, t);
            self.order.push_back((id, t));
            evicted
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        /// Few IDs and times, so that IDs come back, with the same time or not, before and
        /// after they are forgotten, under small limits.
        #[test]
        fn the_join_matches_its_definition(
            steps in proptest::collection::vec((0u64..40, 0i64..6, 0u64..40), 0..2000),
            window_secs in 0i64..300,
            max_messages in 0usize..50,
        ) {
            let limits = JoinLimits { window_secs, max_messages };
            let mut join = ReceivedJoin::new(limits);
            let mut model = Model {
                received: rustc_hash::FxHashMap::default(),
                order: VecDeque::new(),
                limits,
            };
            let mut t = 1000;
            for (id, dt, probe) in steps {
                // Mostly forward in time, sometimes back (files read out of order).
                t += dt - 1;
                proptest::prop_assert_eq!(join.received(id, t), model.received(id, t));
                proptest::prop_assert_eq!(join.len(), model.received.len());
                for p in [id, probe] {
                    proptest::prop_assert_eq!(join.received_at(p), model.received.get(&p).copied());
                }
            }
        }
    }

    #[test]
    fn deliveries_wait_for_their_recv_line() {
        let t0 = Instant::now();
        let mut p = Pending::new(None);
        assert_eq!(p.wait(7, 1000, DeliveryType::Local, t0), 0);
        p.wait(8, 1001, DeliveryType::Smtp, t0);
        let mut got = Vec::new();
        p.received(7, 999, |k, d| got.push((k, d)));
        assert_eq!(got, [(DeliveryType::Local, 1)]);
        assert_eq!(p.len(), 1);
        // The SMTP log moves on; message 8's RECV=OK never came.
        p.smtp_time(1001 + PENDING_LOG_SECS);
        assert_eq!(p.expire(t0), 0);
        p.smtp_time(1002 + PENDING_LOG_SECS);
        assert_eq!(p.expire(t0), 1);
        assert!(p.is_empty());
        // Serving: wall time ends the wait too.
        let mut w = Pending::new(Some(PENDING_WALL));
        w.wait(9, 5000, DeliveryType::Smtp, t0);
        assert_eq!(w.expire(t0), 0);
        assert_eq!(w.expire(t0 + PENDING_WALL), 1);
        // Bounded.
        for i in 0..MAX_PENDING as u64 {
            w.wait(i, 6000, DeliveryType::Local, t0);
        }
        assert_eq!(w.wait(1, 6000, DeliveryType::Local, t0), 1);
        assert_eq!(w.expire_all(), MAX_PENDING as u64);
    }
}
