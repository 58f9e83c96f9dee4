//! Spool queue sizes and ages, from periodic scans of `MailRoot/spool` (see [`crate::spool`]).
//!
//! None of the spool gauges is exported before the first scan that completes: right after a
//! restart the series are absent, not 0 (a `frozen 0` followed by `frozen 60000` would look
//! like 60 000 messages freezing at once and fire alerts). The gauge families are built
//! unregistered, filled from the first good scan, and only then registered, so the first
//! scrape that sees them sees real values. A failed or timed-out scan changes nothing: the
//! last good values stay.

use std::sync::Mutex;

use prometheus::{Gauge, GaugeVec, IntCounter, IntGauge, IntGaugeVec, Opts, Registry};

use crate::spool::{AGED_QUEUES, AGES, Queue, SpoolScan};

/// The registry and the gauge families not registered in it yet.
type Unpublished = Option<(Registry, Vec<Box<dyn prometheus::core::Collector>>)>;

/// Pre-resolved spool metric children.
pub struct SpoolMetrics {
    /// Indexed like [`Queue::ALL`].
    messages: [IntGauge; Queue::COUNT],
    /// Indexed like [`AGED_QUEUES`].
    oldest_age: [Gauge; AGED_QUEUES.len()],
    /// Indexed like [`AGED_QUEUES`], then [`AGES`].
    older_than: [[IntGauge; AGES.len()]; AGED_QUEUES.len()],
    /// The families still to register at the first good scan (`None` once registered).
    unpublished: Mutex<Unpublished>,
    /// Failed or timed-out scans.
    pub scan_errors: IntCounter,
}

impl SpoolMetrics {
    /// Registers the scan error counter; the gauges wait for the first [`SpoolMetrics::set`].
    pub fn new(registry: &Registry) -> prometheus::Result<SpoolMetrics> {
        let messages = IntGaugeVec::new(
            Opts::new(
                "xmail_spool_messages",
                "Messages in XMail's spool by queue (queued, retry: waiting after a temporary failure, frozen: failed, local, temp), as of the last completed scan; absent until the first.",
            ),
            &["queue"],
        )?;
        let oldest = GaugeVec::new(
            Opts::new(
                "xmail_spool_oldest_message_age_seconds",
                "Age of the oldest message in the queue (queued, retry) at the last completed scan, from the time in its spool file name (the file's mtime when the name holds none); 0 when the queue is empty.",
            ),
            &["queue"],
        )?;
        let older = IntGaugeVec::new(
            Opts::new(
                "xmail_spool_messages_older_than",
                "Messages in the queue (queued, retry) older than the age label (15m, 1h, 4h, 12h) at the last completed scan.",
            ),
            &["queue", "age"],
        )?;
        let scan_errors = super::family::counter(
            registry,
            "xmail_exporter_spool_scan_errors_total",
            "Spool scans that failed or took longer than the timeout.",
        )?;
        Ok(SpoolMetrics {
            messages: Queue::ALL.map(|q| messages.with_label_values(&[q.as_str()])),
            oldest_age: AGED_QUEUES.map(|q| oldest.with_label_values(&[q.as_str()])),
            older_than: AGED_QUEUES
                .map(|q| AGES.map(|(a, _)| older.with_label_values(&[q.as_str(), a]))),
            unpublished: Mutex::new(Some((
                registry.clone(),
                vec![Box::new(messages), Box::new(oldest), Box::new(older)],
            ))),
            scan_errors,
        })
    }

    /// Sets the gauges from a completed scan; the first one also publishes them.
    pub fn set(&self, scan: &SpoolScan) {
        for (g, n) in self.messages.iter().zip(scan.counts.0) {
            g.set(n.min(i64::MAX as u64) as i64);
        }
        for (g, age) in self.oldest_age.iter().zip(scan.oldest_age) {
            g.set(age);
        }
        for (gs, ns) in self.older_than.iter().zip(scan.older_than) {
            for (g, n) in gs.iter().zip(ns) {
                g.set(n.min(i64::MAX as u64) as i64);
            }
        }
        let mut unpublished = self.unpublished.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((registry, families)) = unpublished.take() {
            for f in families {
                if let Err(e) = registry.register(f) {
                    tracing::error!(error = %e, "cannot register the spool metrics");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spool::SpoolCounts;

    fn text(r: &Registry) -> String {
        String::from_utf8(crate::metrics::encode_text(r)).unwrap()
    }

    #[test]
    fn absent_until_the_first_scan_then_kept() {
        let r = Registry::new();
        let m = SpoolMetrics::new(&r).unwrap();
        let t = text(&r);
        assert!(!t.contains("xmail_spool_"), "{t}");
        assert!(
            t.contains("xmail_exporter_spool_scan_errors_total 0"),
            "{t}"
        );
        m.set(&SpoolScan {
            counts: SpoolCounts([60_000, 2, 3, 0, 0]),
            oldest_age: [90.5, 0.0],
            older_than: [[7, 6, 5, 4], [0; 4]],
        });
        let t = text(&r);
        assert!(
            t.contains("xmail_spool_messages{queue=\"queued\"} 60000"),
            "{t}"
        );
        assert!(t.contains("xmail_spool_messages{queue=\"temp\"} 0"), "{t}");
        assert!(
            t.contains("xmail_spool_oldest_message_age_seconds{queue=\"queued\"} 90.5"),
            "{t}"
        );
        assert!(
            t.contains("xmail_spool_oldest_message_age_seconds{queue=\"retry\"} 0"),
            "{t}"
        );
        assert!(
            t.contains("xmail_spool_messages_older_than{age=\"12h\",queue=\"queued\"} 4"),
            "{t}"
        );
        assert_eq!(t.matches("xmail_spool_messages_older_than{").count(), 8);
        // A second scan updates in place (registering twice would fail and be logged).
        m.set(&SpoolScan::default());
        assert!(text(&r).contains("xmail_spool_messages{queue=\"queued\"} 0"));
    }
}
