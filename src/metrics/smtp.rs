//! SMTP events into metrics: which counter a status moves is decided here.
//!
//! Every child is resolved when the exporter starts, so a line costs array indexing and
//! an add (the known statuses are added up locally and published by [`SmtpMetrics::flush`]
//! once per read, the rest with atomic adds). Statuses, DNSBL lists and the like that are
//! not known in advance get their own series up to a cap, then share `other`.

use prometheus::local::{LocalHistogram, LocalIntCounter};
use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry};

use super::family::{BoundedLabels, OTHER};
use crate::parse::smtp::{SmtpEvent, Source};
use crate::parse::status::{AuthMechanism, Status, StatusCode};

/// Unknown but well-formed statuses that get a series of their own; later ones are `other`.
pub const MAX_UNKNOWN_STATUSES: usize = 32;
/// DNSBL lists that get a series of their own; later ones are `other`.
pub const MAX_DNSBL_LISTS: usize = 32;
/// The `list` value for a bare `SNDRIP=EIPMAP` (XMail before 1.16 did not name the list).
pub const UNNAMED_LIST: &str = "unnamed";

/// Message size buckets: 1 KiB to 64 MiB in steps of 4.
pub fn size_buckets() -> Vec<f64> {
    (0..9).map(|i| 1024.0 * 4f64.powi(i)).collect()
}

/// Pre-resolved SMTP metric children.
pub struct SmtpMetrics {
    /// `[status][source]`, ordered like [`StatusCode::ALL`] and [`Source::ALL`].
    events: [[LocalIntCounter; Source::COUNT]; StatusCode::COUNT],
    unknown_events: BoundedLabels<[IntCounter; Source::COUNT]>,
    events_vec: IntCounterVec,
    size: [LocalHistogram; Source::COUNT],
    dnsbl_vec: IntCounterVec,
    dnsbl: BoundedLabels<IntCounter>,
    auth_failures: [IntCounter; AuthMechanism::COUNT],
}

impl SmtpMetrics {
    /// Registers the SMTP metrics and resolves every known child (exported at 0).
    pub fn new(registry: &Registry) -> prometheus::Result<SmtpMetrics> {
        let events_vec = IntCounterVec::new(
            Opts::new(
                "xmail_smtp_events_total",
                "SMTP log events by status and client source, one per line of the smtp-* files.",
            ),
            &["status", "source"],
        )?;
        let size_vec = HistogramVec::new(
            HistogramOpts::new(
                "xmail_smtp_message_size_bytes",
                "Size in bytes of messages received (RECV=OK lines of the smtp-* files), by client source.",
            )
            .buckets(size_buckets()),
            &["source"],
        )?;
        let dnsbl_vec = IntCounterVec::new(
            Opts::new(
                "xmail_smtp_dnsbl_refusals_total",
                "SMTP clients refused by a DNSBL (SNDRIP=EIPMAP lines of the smtp-* files), by list.",
            ),
            &["list"],
        )?;
        let auth_vec = IntCounterVec::new(
            Opts::new(
                "xmail_smtp_auth_failures_total",
                "Failed SMTP AUTH attempts (AUTH=EFAIL lines of the smtp-* files), by SASL mechanism.",
            ),
            &["mechanism"],
        )?;
        registry.register(Box::new(events_vec.clone()))?;
        registry.register(Box::new(size_vec.clone()))?;
        registry.register(Box::new(dnsbl_vec.clone()))?;
        registry.register(Box::new(auth_vec.clone()))?;

        let by_source =
            |status: &str| Source::ALL.map(|s| events_vec.with_label_values(&[status, s.as_str()]));
        let other_vec = events_vec.clone();
        let other_list = dnsbl_vec.clone();
        Ok(SmtpMetrics {
            events: StatusCode::ALL.map(|c| by_source(c.as_str()).map(|child| child.local())),
            unknown_events: BoundedLabels::new(MAX_UNKNOWN_STATUSES, move || {
                Source::ALL.map(|s| other_vec.with_label_values(&[OTHER, s.as_str()]))
            }),
            size: Source::ALL.map(|s| size_vec.with_label_values(&[s.as_str()]).local()),
            auth_failures: AuthMechanism::ALL.map(|m| auth_vec.with_label_values(&[m.as_str()])),
            dnsbl: BoundedLabels::new(MAX_DNSBL_LISTS, move || {
                other_list.with_label_values(&[OTHER])
            }),
            events_vec,
            dnsbl_vec,
        })
    }

    /// Counts one SMTP event.
    #[inline]
    pub fn record(&mut self, ev: &SmtpEvent<'_>) {
        let source = ev.source().index();
        match ev.status.status {
            Status::Known(code) => {
                self.events[code.index()][source].inc();
                if code == StatusCode::RecvOk {
                    self.size[source].observe(ev.size as f64);
                }
            }
            Status::Unknown(text) => {
                let vec = &self.events_vec;
                let children = self.unknown_events.get(text, is_status_label, |label| {
                    Source::ALL.map(|s| vec.with_label_values(&[label, s.as_str()]))
                });
                children[source].inc();
            }
        }
        if ev.status.status == Status::Known(StatusCode::SenderIpDnsbl) {
            let vec = &self.dnsbl_vec;
            let list = ev.status.dnsbl_list.unwrap_or(UNNAMED_LIST.as_bytes());
            self.dnsbl
                .get(list, is_list_label, |label| vec.with_label_values(&[label]))
                .inc();
        }
        if let Some(m) = ev.status.auth_mechanism {
            self.auth_failures[m.index()].inc();
        }
    }

    /// Adds the events counted since the last flush to the exported counters.
    pub fn flush(&self) {
        self.events
            .iter()
            .flatten()
            .for_each(LocalIntCounter::flush);
        self.size.iter().for_each(LocalHistogram::flush);
    }
}

/// Unknown statuses were already checked by the parser to be `STAGE=CODE` in ASCII.
fn is_status_label(b: &[u8]) -> bool {
    !b.is_empty() && b.is_ascii()
}

/// A DNSBL name as written in `CustMapsList`: a host name, at most 253 bytes.
fn is_list_label(b: &[u8]) -> bool {
    !b.is_empty()
        && b.len() <= 253
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
}
