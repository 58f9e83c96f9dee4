//! Opt-in per-domain counters for the local domains listed in the config file (`domains:`).
//! Only listed domains get series, so no input can add labels. Accepted, refused and
//! delivered have the meanings of [`crate::meaning`].

use crate::parse::fields::domain_of;
use prometheus::{IntCounter, Registry};

use super::family::counter_vec;

use crate::meaning::{DELIVERY_TYPES, Recipient, SmailMeaning, SmtpMeaning};
use crate::parse::smail::SmailEvent;
use crate::parse::smtp::SmtpEvent;

/// The children of one listed domain.
struct Domain {
    /// Lower-case.
    name: Box<[u8]>,
    accepted: IntCounter,
    refused: IntCounter,
    sent: IntCounter,
    /// Indexed like [`DELIVERY_TYPES`].
    deliveries: [IntCounter; 4],
}

/// Per-domain counters; empty (and free) when no domain is listed.
pub struct DomainMetrics {
    domains: Vec<Domain>,
}

impl DomainMetrics {
    /// Registers the per-domain metrics when `domains` is not empty.
    pub fn new(registry: &Registry, domains: &[String]) -> prometheus::Result<DomainMetrics> {
        if domains.is_empty() {
            return Ok(DomainMetrics {
                domains: Vec::new(),
            });
        }
        let vec =
            |name: &str, help: &str, labels: &[&str]| counter_vec(registry, name, help, labels);
        let accepted = vec(
            "xmail_domain_recipients_accepted_total",
            "RCPT=OK lines of the smtp-* files whose recipient is in a listed domain.",
            &["domain"],
        )?;
        let refused = vec(
            "xmail_domain_recipients_refused_total",
            "Refused RCPT lines (RCPT=E...) of the smtp-* files whose recipient is in a listed domain.",
            &["domain"],
        )?;
        let sent = vec(
            "xmail_domain_messages_sent_total",
            "Messages received for sending (RECV=OK lines of the smtp-* files) whose sender is in a listed domain.",
            &["domain"],
        )?;
        let deliveries = vec(
            "xmail_domain_deliveries_total",
            "Copies delivered (LOCAL, SMTP, FWD, RLYS lines of the smail-* files) whose recipient is in a listed domain, by type.",
            &["domain", "type"],
        )?;
        Ok(DomainMetrics {
            domains: domains
                .iter()
                .map(|d| Domain {
                    name: d.to_ascii_lowercase().into_bytes().into_boxed_slice(),
                    accepted: accepted.with_label_values(&[d.as_str()]),
                    refused: refused.with_label_values(&[d.as_str()]),
                    sent: sent.with_label_values(&[d.as_str()]),
                    deliveries: DELIVERY_TYPES
                        .map(|t| deliveries.with_label_values(&[d.as_str(), t.as_str()])),
                })
                .collect(),
        })
    }

    fn find(&self, address: &[u8]) -> Option<&Domain> {
        let domain = domain_of(address)?;
        self.domains
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(domain))
    }

    /// Counts an SMTP event for the domains it concerns.
    #[inline]
    pub fn record_smtp(&self, ev: &SmtpEvent<'_>, m: &SmtpMeaning) {
        if self.domains.is_empty() {
            return;
        }
        if m.received
            && let Some(d) = self.find(ev.sender)
        {
            d.sent.inc();
        }
        match m.recipient {
            Some(Recipient::Accepted) => {
                if let Some(d) = self.find(ev.recipient) {
                    d.accepted.inc();
                }
            }
            Some(Recipient::Refused) => {
                if let Some(d) = self.find(ev.recipient) {
                    d.refused.inc();
                }
            }
            None => {}
        }
    }

    /// Counts a delivery for the domain of its recipient.
    #[inline]
    pub fn record_smail(&self, ev: &SmailEvent<'_>, m: &SmailMeaning) {
        if self.domains.is_empty() {
            return;
        }
        if let Some(t) = m.delivered
            && let Some(d) = self.find(ev.recipient)
        {
            d.deliveries[t].inc();
        }
    }
}
