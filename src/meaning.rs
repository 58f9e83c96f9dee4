//! What a log event means for the mail: the one place where a parsed line becomes
//! "received", "delivered", "bounced" or "refused".
//!
//! The metrics ([`crate::metrics::Recorder`]), `report` ([`crate::summary`]) and `trace`
//! read every event through [`Meaning`], so the four numbers an administrator looks at (the
//! dashboards' headline stats, `report`'s totals, `trace`'s verdict) agree by construction.
//! The stage of each SMTP status lives beside the status table
//! ([`crate::parse::status::StatusCode::stage`]); the words for each meaning live in
//! [`crate::explain`] and the summary's word tables.
//!
//! | meaning | from | counted |
//! |---|---|---|
//! | received | SMTP `RECV=OK` (`RCV=OK` in Nmail-era builds) | one per accepted message, whatever the number of recipients |
//! | delivered | SMAIL `LOCAL`, `SMTP`, `FWD`, `RLYS` | one per copy that reached a mailbox or another server; `FILTER`, `EXTRN`, `REDIR`, `LREDIR` are records of what XMail did, not deliveries |
//! | bounced | SMAIL lines of an `X` message (XMail's notifications) | once per `X` ID, at its first line |
//! | postmaster notice | an `X` message whose sender is its recipient | once per ID; XMail notifying its own postmaster (a failure that could not be bounced) is not a bounce |
//! | refused | SMTP lines whose status is neither `RECV=OK` nor `RCPT=OK` | one per line, by [`Stage`]; the legacy pair `DATA=EFILTER` + `RCPT=EFILTER` of one post-RCPT filter refusal counts once |
//! | recipient accepted / refused | `RCPT=OK` / `RCPT=E…` | per-recipient decisions only: the acceptance ratio |
//!
//! Bounces and delay warnings: XMail sends both as `X` messages from the postmaster to the
//! sender of the failed message, and the SMAIL log does not tell them apart (delay warnings
//! are only sent when `NotifyTryPattern` is set in `server.tab`). A copy to `ErrorsAdmin`
//! or `TempErrorsAdmin`, when configured, is an `X` message of its own and counts as a bounce.
//! A bounce that XMail could not deliver has no SMAIL line and is not counted (it shows in the
//! spool's `frozen` queue).
//!
//! Owns the definitions and the small, bounded state they need (the `X` IDs already seen,
//! the last legacy `DATA=EFILTER` lines). Leaves parsing to [`crate::parse`], counting to
//! its callers, and time zones to them too (times come in as Unix seconds).

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use crate::parse::smail::{DeliveryType, Origin, SmailEvent};
use crate::parse::smtp::SmtpEvent;
use crate::parse::status::{Stage, Status, StatusCode};

/// Lines of one message ID further apart than this are different messages: XMail's message
/// counter can start again when `message.id` is deleted. Bounces are counted once per `X`
/// message within it, and `trace` splits a reused ID by it.
pub const SAME_ID_WINDOW_SECS: i64 = 3 * 86_400;
/// At most this many `X` IDs are remembered (16 bytes each, plus the map's overhead).
pub const MAX_NOTICE_IDS: usize = 100_000;
/// How many recent legacy `DATA=EFILTER` lines are remembered to pair with `RCPT=EFILTER`.
const LEGACY_FILTER_SLOTS: usize = 8;

/// `true` for the SMAIL types that are a delivery: a copy reached a mailbox or another server.
#[inline]
pub fn is_delivery(t: DeliveryType) -> bool {
    matches!(
        t,
        DeliveryType::Local | DeliveryType::Smtp | DeliveryType::Fwd | DeliveryType::Rlys
    )
}

/// `true` for the SMAIL records that account for their recipient in `trace`: a delivery, or
/// the copy, program or redirect the recipient's own configuration asked for (`EXTRN`,
/// `REDIR`, `LREDIR`: the redirected copy has its own delivery line, under the new
/// recipient). A `FILTER` record alone says nothing about what happened to the mail.
#[inline]
pub fn handles_recipient(t: DeliveryType) -> bool {
    is_delivery(t)
        || matches!(
            t,
            DeliveryType::Extrn | DeliveryType::Redir | DeliveryType::Lredir
        )
}

/// The delivery types, in label order: the `type` label of `xmail_mail_delivered_total`.
pub const DELIVERY_TYPES: [DeliveryType; 4] = [
    DeliveryType::Local,
    DeliveryType::Smtp,
    DeliveryType::Fwd,
    DeliveryType::Rlys,
];

/// Index of a delivery type in [`DELIVERY_TYPES`], `None` for the other types.
#[inline]
pub fn delivery_index(t: DeliveryType) -> Option<usize> {
    DELIVERY_TYPES.iter().position(|&d| d == t)
}

/// The key of a message ID with the given prefix (`S`, `X`...): its hexadecimal number.
#[inline]
pub fn id_key(prefix: u8, id: &[u8]) -> Option<u64> {
    let (&first, hex) = id.split_first()?;
    if first != prefix || hex.is_empty() || hex.len() > 16 {
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

crate::label_enum! {
    /// A per-recipient decision.
    pub enum Recipient: "result" {
        /// `RCPT=OK`.
        Accepted => "accepted",
        /// `RCPT=E…`.
        Refused => "refused",
    }
}

/// What one SMTP line means.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SmtpMeaning {
    /// A message was received (`RECV=OK`).
    pub received: bool,
    /// The line is a refusal at this stage (counted once: see the module documentation).
    pub refused: Option<Stage>,
    /// The line is a per-recipient decision.
    pub recipient: Option<Recipient>,
}

/// An `X` message: XMail's own notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    /// To someone else than the postmaster: the sender of a failed message (a bounce, or a
    /// delay warning), or an errors admin.
    Bounce,
    /// From the postmaster to itself.
    Postmaster,
}

/// What one SMAIL record means.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SmailMeaning {
    /// A copy was delivered (the index in [`DELIVERY_TYPES`]).
    pub delivered: Option<usize>,
    /// The first line of a new `X` message.
    pub notice: Option<Notice>,
}

/// IDs seen within a window of log time, bounded in number.
#[derive(Debug, Default)]
struct SeenIds {
    last: FxHashMap<u64, i64>,
    order: VecDeque<(u64, i64)>,
}

impl SeenIds {
    /// `true` when `id` is new: not seen, or last seen more than the window before `t`.
    fn first_sighting(&mut self, id: u64, t: Option<i64>) -> bool {
        let Some(t) = t else {
            // No usable time (a local time that does not exist): only the ID decides.
            return !self.last.contains_key(&id);
        };
        while let Some(&(old_id, old_t)) = self.order.front() {
            if old_t >= t - SAME_ID_WINDOW_SECS && self.order.len() < MAX_NOTICE_IDS {
                break;
            }
            self.order.pop_front();
            if self.last.get(&old_id) == Some(&old_t) {
                self.last.remove(&old_id);
            }
        }
        let new = match self.last.get(&id) {
            None => true,
            Some(&seen) => (t - seen).abs() > SAME_ID_WINDOW_SECS,
        };
        self.last.insert(id, t);
        self.order.push_back((id, t));
        new
    }
}

/// Gives each event its meaning. One per reader (the serving recorder, a `report` run).
#[derive(Debug, Default)]
pub struct Meaning {
    notices: SeenIds,
    /// Message keys of the last legacy `DATA=EFILTER` lines, a small ring.
    legacy_filter: [Option<u64>; LEGACY_FILTER_SLOTS],
    next_slot: usize,
}

impl Meaning {
    /// A reader with nothing seen yet.
    pub fn new() -> Meaning {
        Meaning::default()
    }

    /// The meaning of an SMTP line.
    #[inline]
    pub fn smtp(&mut self, ev: &SmtpEvent<'_>) -> SmtpMeaning {
        let status = ev.status.status;
        let mut m = SmtpMeaning {
            received: status == Status::Known(StatusCode::RecvOk),
            refused: status.stage(),
            recipient: None,
        };
        if m.refused == Some(Stage::Recipient) {
            m.recipient = Some(Recipient::Refused);
        } else if status == Status::Known(StatusCode::RcptOk) {
            m.recipient = Some(Recipient::Accepted);
        }
        match status {
            // 1.23 to 1.26-pre05 log a post-RCPT filter refusal as DATA=EFILTER, then
            // RCPT=EFILTER with the same message ID: one refusal, counted at the first line.
            Status::Known(StatusCode::DataFilter) => {
                if let Some(k) = id_key(b'S', ev.message_id) {
                    self.legacy_filter[self.next_slot] = Some(k);
                    self.next_slot = (self.next_slot + 1) % LEGACY_FILTER_SLOTS;
                }
            }
            Status::Known(StatusCode::RcptFilter) => {
                if let Some(k) = id_key(b'S', ev.message_id)
                    && let Some(slot) = self.legacy_filter.iter_mut().find(|s| **s == Some(k))
                {
                    *slot = None;
                    m.refused = None;
                }
            }
            _ => {}
        }
        m
    }

    /// The meaning of an SMAIL record at Unix time `t` (`None` when its local time does not
    /// exist in the zone).
    #[inline]
    pub fn smail(&mut self, ev: &SmailEvent<'_>, t: Option<i64>) -> SmailMeaning {
        let mut m = SmailMeaning {
            delivered: delivery_index(ev.delivery),
            notice: None,
        };
        if ev.origin() == Origin::Bounce
            && let Some(k) = id_key(b'X', ev.message_id)
            && self.notices.first_sighting(k, t)
        {
            m.notice = Some(
                if !ev.sender.is_empty() && ev.sender.eq_ignore_ascii_case(ev.recipient) {
                    Notice::Postmaster
                } else {
                    Notice::Bounce
                },
            );
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::smail::parse_smail;
    use crate::parse::smtp::parse_smtp;

    fn smtp_line(id: &str, status: &str) -> String {
        format!(
            "\"mx\"\t\"d\"\t\"192.0.2.1\"\t\"2026-11-27 00:00:00\"\t\"h\"\t\"\"\t\"a@b\"\t\"c@d\"\t\"{id}\"\t\"{status}\"\t\"\"\t\"0\"\t\"\""
        )
    }

    fn smail_line(id: &str, from: &str, to: &str, kind: &str) -> String {
        format!(
            "\"d\"\t\"f\"\t\"{id}\"\t\"{from}\"\t\"{to}\"\t\"{kind}\"\t\"p\"\t\"2026-11-27 00:00:00\"\t\"\""
        )
    }

    fn smtp(m: &mut Meaning, id: &str, status: &str) -> SmtpMeaning {
        let l = smtp_line(id, status);
        m.smtp(&parse_smtp(l.as_bytes()).unwrap())
    }

    #[test]
    fn ids() {
        assert_eq!(id_key(b'S', b"S293D9"), Some(0x293D9));
        assert_eq!(id_key(b'X', b"X293E4"), Some(0x293E4));
        assert_eq!(id_key(b'S', b"X293E4"), None);
        assert_eq!(id_key(b'S', b"S"), None);
        assert_eq!(id_key(b'S', b"S12G"), None);
        assert_eq!(id_key(b'S', b"S11112222333344445"), None);
    }

    #[test]
    fn smtp_meanings() {
        let mut m = Meaning::new();
        let r = smtp(&mut m, "S1", "RECV=OK");
        assert!(r.received && r.refused.is_none() && r.recipient.is_none());
        let r = smtp(&mut m, "S1", "RCPT=OK");
        assert_eq!(r.recipient, Some(Recipient::Accepted));
        assert_eq!(r.refused, None);
        let r = smtp(&mut m, "S1", "RCPT=EAVAIL");
        assert_eq!(r.recipient, Some(Recipient::Refused));
        assert_eq!(r.refused, Some(Stage::Recipient));
        let r = smtp(&mut m, "", "AUTH=EFAIL:TYPE=PLAIN");
        assert_eq!((r.refused, r.recipient), (Some(Stage::Auth), None));
        let r = smtp(&mut m, "", "SNDRIP=EIPMAP (zen.spamhaus.org.)");
        assert_eq!(r.refused, Some(Stage::Connection));
        let r = smtp(&mut m, "S2", "POSTDATA=EFILTER");
        assert_eq!((r.refused, r.recipient), (Some(Stage::Data), None));
        let r = smtp(&mut m, "S2", "RCPT=EGREY");
        assert_eq!(r.recipient, Some(Recipient::Refused));
        let r = smtp(&mut m, "S2", "NEWSTAGE=OK");
        assert_eq!(r, SmtpMeaning::default());
    }

    #[test]
    fn legacy_filter_pair_is_one_refusal() {
        let mut m = Meaning::new();
        assert_eq!(
            smtp(&mut m, "S5", "DATA=EFILTER").refused,
            Some(Stage::Data)
        );
        let second = smtp(&mut m, "S5", "RCPT=EFILTER");
        assert_eq!(second.refused, None);
        assert_eq!(second.recipient, Some(Recipient::Refused));
        // A later RCPT=EFILTER of the same message (1.26-pre06+ style) is a refusal again.
        assert_eq!(
            smtp(&mut m, "S5", "RCPT=EFILTER").refused,
            Some(Stage::Recipient)
        );
        // Another message's RCPT=EFILTER is not paired.
        smtp(&mut m, "S6", "DATA=EFILTER");
        assert_eq!(
            smtp(&mut m, "S7", "RCPT=EFILTER").refused,
            Some(Stage::Recipient)
        );
    }

    #[test]
    fn notices_once_per_id_and_postmaster_apart() {
        let mut m = Meaning::new();
        let mut smail = |id: &str, from: &str, to: &str, kind: &str, t: i64| {
            let l = smail_line(id, from, to, kind);
            m.smail(&parse_smail(l.as_bytes()).unwrap(), Some(t))
        };
        let a = smail("X10", "postmaster@d", "bob@x", "FILTER", 100);
        assert_eq!((a.delivered, a.notice), (None, Some(Notice::Bounce)));
        let b = smail("X10", "postmaster@d", "bob@x", "LOCAL", 101);
        assert_eq!((b.delivered, b.notice), (Some(0), None));
        let c = smail("X11", "postmaster@d", "PostMaster@d", "LOCAL", 102);
        assert_eq!(c.notice, Some(Notice::Postmaster));
        // NoSenderBounce: the null sender, still a bounce.
        assert_eq!(
            smail("X12", "", "bob@x", "SMTP", 103).notice,
            Some(Notice::Bounce)
        );
        // The same ID more than three days later: the counter started again.
        assert_eq!(
            smail("X10", "postmaster@d", "bob@x", "LOCAL", 101 + 4 * 86_400).notice,
            Some(Notice::Bounce)
        );
        let s = smail("S10", "a@b", "c@d", "SMTP", 104);
        assert_eq!((s.delivered, s.notice), (Some(1), None));
        for (t, want) in [
            ("EXTRN", None),
            ("REDIR", None),
            ("FWD", Some(2)),
            ("RLYS", Some(3)),
        ] {
            assert_eq!(smail("S11", "a@b", "c@d", t, 105).delivered, want, "{t}");
        }
    }

    #[test]
    fn notice_memory_is_bounded() {
        let mut seen = SeenIds::default();
        for i in 0..(MAX_NOTICE_IDS as u64 + 10) {
            assert!(seen.first_sighting(i, Some(1000)));
        }
        assert!(seen.order.len() <= MAX_NOTICE_IDS);
        assert!(seen.last.len() <= MAX_NOTICE_IDS);
    }
}
