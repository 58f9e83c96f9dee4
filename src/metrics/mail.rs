//! The four headline numbers as metrics: `xmail_mail_received_total`,
//! `xmail_mail_delivered_total`, `xmail_mail_bounced_total`, `xmail_mail_refused_total`, and
//! the per-recipient decisions behind the acceptance ratio (`xmail_smtp_recipients_total`).
//!
//! What each one counts is decided in [`crate::meaning`]; this module only holds the
//! pre-resolved children (every one exported at 0 from start-up) and adds to them. The
//! dashboards' `Received`, `Delivered`, `Bounced` and `Refused` stats and `report`'s totals
//! are these counters.

use prometheus::local::LocalIntCounter;
use prometheus::{IntCounter, Registry};

use super::family::{counter, counter_vec};

use crate::meaning::{DELIVERY_TYPES, Notice, Recipient, SmailMeaning, SmtpMeaning};
use crate::parse::smail::Origin;
use crate::parse::smtp::Source;
use crate::parse::status::Stage;

/// Pre-resolved children of the mail-flow families.
pub struct MailMetrics {
    /// Indexed like [`Source::ALL`].
    received: [LocalIntCounter; Source::COUNT],
    /// `[delivery type][origin]`, ordered like [`DELIVERY_TYPES`] and [`Origin::ALL`].
    delivered: [[LocalIntCounter; Origin::COUNT]; DELIVERY_TYPES.len()],
    bounced: IntCounter,
    postmaster: IntCounter,
    /// Indexed like [`Stage::ALL`].
    refused: [LocalIntCounter; Stage::COUNT],
    /// Indexed like [`Recipient::ALL`].
    recipients: [LocalIntCounter; Recipient::COUNT],
}

impl MailMetrics {
    /// Registers the mail-flow families, every child at 0.
    pub fn new(registry: &Registry) -> prometheus::Result<MailMetrics> {
        let received = counter_vec(
            registry,
            "xmail_mail_received_total",
            "Messages received: RECV=OK lines of the smtp-* files (one per message), by client source.",
            &["source"],
        )?;
        let delivered = counter_vec(
            registry,
            "xmail_mail_delivered_total",
            "Copies delivered to a mailbox or another server: LOCAL, SMTP, FWD and RLYS lines of the smail-* files, by type and message origin.",
            &["type", "origin"],
        )?;
        let refused = counter_vec(
            registry,
            "xmail_mail_refused_total",
            "SMTP refusals: lines of the smtp-* files whose status is neither RECV=OK nor RCPT=OK, by stage of the dialogue.",
            &["stage"],
        )?;
        let recipients = counter_vec(
            registry,
            "xmail_smtp_recipients_total",
            "Per-recipient decisions: RCPT=OK (accepted) and RCPT=E... (refused) lines of the smtp-* files.",
            &["result"],
        )?;
        Ok(MailMetrics {
            received: Source::ALL.map(|s| received.with_label_values(&[s.as_str()]).local()),
            delivered: DELIVERY_TYPES.map(|t| {
                Origin::ALL.map(|o| {
                    delivered
                        .with_label_values(&[t.as_str(), o.as_str()])
                        .local()
                })
            }),
            bounced: counter(
                registry,
                "xmail_mail_bounced_total",
                "Notifications XMail sent about failed messages (X messages of the smail-* files, once per ID), the postmaster's own notices excepted.",
            )?,
            postmaster: counter(
                registry,
                "xmail_mail_postmaster_notices_total",
                "X messages from the postmaster to itself (once per ID): failures XMail could not bounce to a sender.",
            )?,
            refused: Stage::ALL.map(|s| refused.with_label_values(&[s.as_str()]).local()),
            recipients: Recipient::ALL.map(|r| recipients.with_label_values(&[r.as_str()]).local()),
        })
    }

    /// Counts what an SMTP line means.
    #[inline]
    pub fn smtp(&self, m: &SmtpMeaning, source: Source) {
        if m.received {
            self.received[source.index()].inc();
        }
        if let Some(s) = m.refused {
            self.refused[s.index()].inc();
        }
        if let Some(r) = m.recipient {
            self.recipients[r.index()].inc();
        }
    }

    /// Counts what an SMAIL record means.
    #[inline]
    pub fn smail(&self, m: &SmailMeaning, origin: Origin) {
        if let Some(t) = m.delivered {
            self.delivered[t][origin.index()].inc();
        }
        match m.notice {
            Some(Notice::Bounce) => self.bounced.inc(),
            Some(Notice::Postmaster) => self.postmaster.inc(),
            None => {}
        }
    }

    /// Adds the counts since the last flush to the exported counters.
    pub fn flush(&self) {
        let all = self.received.iter();
        all.chain(self.delivered.iter().flatten())
            .chain(self.refused.iter())
            .chain(self.recipients.iter())
            .for_each(LocalIntCounter::flush);
    }
}
