//! POP3 logins into metrics: counts by result, and the mailbox sizes seen at login. No user
//! name and no password ever reaches a label.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, Opts, Registry};

use crate::parse::pop3::{LoginResult, Pop3Event};

/// Mailbox message-count buckets.
pub const MESSAGE_BUCKETS: [f64; 7] = [0.0, 10.0, 100.0, 1000.0, 10_000.0, 100_000.0, 1_000_000.0];

/// Mailbox size buckets: 64 KiB to 4 GiB in steps of 4.
pub fn size_buckets() -> Vec<f64> {
    (0..9).map(|i| 65536.0 * 4f64.powi(i)).collect()
}

/// Pre-resolved POP3 metric children.
pub struct Pop3Metrics {
    /// Indexed like [`LoginResult::ALL`].
    logins: [IntCounter; LoginResult::COUNT],
    messages: Histogram,
    bytes: Histogram,
}

impl Pop3Metrics {
    /// Registers the POP3 metrics, every result at 0.
    pub fn new(registry: &Registry) -> prometheus::Result<Pop3Metrics> {
        let logins = IntCounterVec::new(
            Opts::new(
                "xmail_pop3_logins_total",
                "POP3 logins from the pop3-* files, by result (ok: LOGIN, failed: ELOGIN, unknown: XMail up to 1.24, which does not say).",
            ),
            &["result"],
        )?;
        let messages = Histogram::with_opts(
            HistogramOpts::new(
                "xmail_pop3_mailbox_messages",
                "Messages in the mailbox at each successful POP3 login (pop3-* files).",
            )
            .buckets(MESSAGE_BUCKETS.to_vec()),
        )?;
        let bytes = Histogram::with_opts(
            HistogramOpts::new(
                "xmail_pop3_mailbox_size_bytes",
                "Size in bytes of the mailbox at each successful POP3 login (pop3-* files).",
            )
            .buckets(size_buckets()),
        )?;
        registry.register(Box::new(logins.clone()))?;
        registry.register(Box::new(messages.clone()))?;
        registry.register(Box::new(bytes.clone()))?;
        Ok(Pop3Metrics {
            logins: LoginResult::ALL.map(|r| logins.with_label_values(&[r.as_str()])),
            messages,
            bytes,
        })
    }

    /// Counts one login.
    #[inline]
    pub fn record(&mut self, ev: &Pop3Event<'_>) {
        self.logins[ev.result.index()].inc();
        if let Some(n) = ev.messages {
            self.messages.observe(n as f64);
        }
        if let Some(b) = ev.mailbox_bytes {
            self.bytes.observe(b as f64);
        }
    }
}
