//! Spool queue sizes, from periodic scans of `MailRoot/spool` (see [`crate::spool`]).

use prometheus::{IntCounter, IntGauge, IntGaugeVec, Opts, Registry};

use crate::spool::{QUEUES, SpoolCounts};

/// Pre-resolved spool metric children.
pub struct SpoolMetrics {
    /// Indexed like [`QUEUES`].
    messages: [IntGauge; 5],
    /// Failed or timed-out scans.
    pub scan_errors: IntCounter,
}

impl SpoolMetrics {
    /// Registers the spool metrics, every queue at 0.
    pub fn new(registry: &Registry) -> prometheus::Result<SpoolMetrics> {
        let vec = IntGaugeVec::new(
            Opts::new(
                "xmail_spool_messages",
                "Messages in XMail's spool by queue (queued, retry: waiting after a temporary failure, frozen: failed, local, temp), as of the last scan.",
            ),
            &["queue"],
        )?;
        registry.register(Box::new(vec.clone()))?;
        let scan_errors = IntCounter::with_opts(Opts::new(
            "xmail_exporter_spool_scan_errors_total",
            "Spool scans that failed or took longer than the timeout.",
        ))?;
        registry.register(Box::new(scan_errors.clone()))?;
        Ok(SpoolMetrics {
            messages: QUEUES.map(|q| vec.with_label_values(&[q])),
            scan_errors,
        })
    }

    /// Sets the gauges from a scan.
    pub fn set(&self, counts: &SpoolCounts) {
        for (g, n) in self.messages.iter().zip(counts.0) {
            g.set(n.min(i64::MAX as u64) as i64);
        }
    }
}
