//! Delivery delay: the time from a message's `RECV=OK` in the SMTP log to each of its
//! deliveries in the SMAIL log, joined in memory by message ID.
//!
//! The join is bounded: a received message is remembered for a window (24 h by default) of
//! log time and at most a fixed number of messages are remembered; when full, the oldest is
//! forgotten and counted. It is not saved across restarts: a delivery of a message received
//! before the exporter started has no delay.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use prometheus::local::LocalHistogram;
use prometheus::{HistogramOpts, HistogramVec, IntCounter, Opts, Registry};

use crate::parse::smail::DeliveryType;

/// Delay buckets in seconds: XMail logs whole seconds; local deliveries take 0 to 2 s,
/// remote ones seconds, retried ones minutes to days.
pub const DELAY_BUCKETS: [f64; 12] = [
    1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 43200.0, 86400.0,
];

/// How long and how many received messages are remembered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JoinLimits {
    /// Seconds of log time a received message is remembered.
    pub window_secs: i64,
    /// At most this many messages (about 40 bytes each).
    pub max_messages: usize,
}

impl Default for JoinLimits {
    fn default() -> JoinLimits {
        JoinLimits {
            window_secs: 86_400,
            max_messages: 100_000,
        }
    }
}

/// The key of an `S` message ID: its hexadecimal number.
#[inline]
pub fn smtp_id_key(id: &[u8]) -> Option<u64> {
    let (&first, hex) = id.split_first()?;
    if first != b'S' || hex.is_empty() || hex.len() > 16 {
        return None;
    }
    let mut n = 0u64;
    for &c in hex {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'A'..=b'F' => c - b'A' + 10,
            b'a'..=b'f' => c - b'a' + 10,
            _ => return None,
        };
        n = n << 4 | u64::from(d);
    }
    Some(n)
}

/// Received messages by ID, oldest first, within [`JoinLimits`].
#[derive(Debug, Default)]
pub struct ReceivedJoin {
    /// Message IDs are XMail's own counters, not chosen by clients: a fast hash is safe.
    received: FxHashMap<u64, i64>,
    order: VecDeque<(u64, i64)>,
    limits: JoinLimits,
}

impl ReceivedJoin {
    /// An empty join.
    pub fn new(limits: JoinLimits) -> ReceivedJoin {
        ReceivedJoin {
            received: FxHashMap::default(),
            order: VecDeque::new(),
            limits,
        }
    }

    fn forget_oldest(&mut self) {
        if let Some((id, t)) = self.order.pop_front()
            && self.received.get(&id) == Some(&t)
        {
            self.received.remove(&id);
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

/// Pre-resolved delay metric children.
pub struct DelayMetrics {
    /// Indexed like [`DeliveryType::ALL`].
    delay: [LocalHistogram; 9],
    /// Messages forgotten because the join was full.
    pub evictions: IntCounter,
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
        let evictions = IntCounter::with_opts(Opts::new(
            "xmail_exporter_delivery_delay_evictions_total",
            "Received messages forgotten before their deliveries because the delay join was full.",
        ))?;
        registry.register(Box::new(evictions.clone()))?;
        Ok(DelayMetrics {
            delay: DeliveryType::ALL.map(|t| vec.with_label_values(&[t.as_str()]).local()),
            evictions,
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
}
