//! `xmail_exporter report --format text|json`: a pflogsumm-style summary of the logs that
//! `report` reads. [`Summary`] is a [`Sink`]: it parses every line itself (this is a one-shot
//! command, not the serving hot path, so it allocates freely) and keeps only what the summary
//! shows. [`Summary::report`] turns it into a [`Report`], which is printed as text
//! ([`render_text`]) or as JSON (its field names are stable: scripts may rely on them).
//!
//! # What is counted
//!
//! Received, delivered, bounced and refused mean what [`crate::meaning`] says, the same as
//! the `xmail_mail_*` metrics and the dashboards' headline stats:
//!
//! - **received**: one per SMTP `RECV=OK` line (`RCV=OK` in Nmail-era builds). Its bytes are
//!   the line's size field (DATA bytes as received, without the headers XMail adds).
//! - **recipients accepted / refused**: `RCPT=OK` / `RCPT=E…` lines (per-recipient decisions).
//! - **delivered**: one per SMAIL line of type `LOCAL`, `SMTP`, `FWD` or `RLYS`, every origin
//!   (`S`, `L`, `P` and `X` messages; a redirect copy is a delivery of its own). `FILTER`,
//!   `EXTRN`, `REDIR` and `LREDIR` records are listed by type, not counted as deliveries.
//!   XMail writes no line for a failed delivery, so there is no "deferred".
//! - **bounced**: one per `X` message (XMail's notification), at its first SMAIL line; the
//!   postmaster's notices to itself are counted apart (`postmaster_notices`).
//! - **refused**: one per SMTP line whose status is neither `RECV=OK` nor `RCPT=OK`, by stage
//!   (`connection`, `sender`, `recipient`, `data`, `auth`, `other`); the legacy pair
//!   `DATA=EFILTER` + `RCPT=EFILTER` counts once. The DNSBL and AUTH tables split
//!   `SNDRIP=EIPMAP` and `AUTH=EFAIL` further.
//! - **webmail errors**: one per error of `error-YYYYMMDD.txt`, by category (the lines of a
//!   PHP stack trace belong to the error before them).
//! - **POP3 logins**: one per line of `pop3-*`, by result.
//!
//! Times are the local times XMail writes; webmail lines stamped in UTC are moved to the
//! configured zone. The period runs from the first to the last time stamp of any line read
//! (webmail lines without a time stamp do not move it). The per-hour table sums each local
//! hour over every day of the period.
//!
//! # JSON
//!
//! One object: `period` (`first`, `last`: `"YYYY-MM-DD HH:MM:SS"` or null; `timezone`),
//! `lines` (per log: `parsed`, `malformed`), `read_errors`, `totals` (`received`,
//! `received_bytes`, `recipients_accepted`, `recipients_refused`, `delivered`, `bounced`,
//! `postmaster_notices`, `refused`, `auth_failures`, `dnsbl_refusals`, `webmail_errors`,
//! `pop3_logins`), `refused_by_stage` (`connection`, `sender`, `recipient`, `data`, `auth`,
//! `other`),
//! `received_by_source`, `delivered_by_origin`, `pop3_logins` (`ok`, `failed`, `unknown`),
//! `smail_lines_by_type` (`type`, `lines`, `delivery`), `per_hour` (24 entries: `hour`,
//! `received`, `delivered`, `bounced`, `refused`), `per_day` (the same by `date`),
//! `top_senders` (`sender`, `messages`, `bytes`), `top_recipient_domains` (`domain`,
//! `deliveries`), `largest_messages` (`size`, `time`, `message_id`, `sender`, `recipient`:
//! the last recipient, `recipients`: how many were accepted), `refusals` (`status`,
//! `stage`, `count`, `title`), `dnsbl_lists` (`list`, `count`; `""` for the unnamed list of old
//! builds), `auth_failures` (`mechanism`, `count`), `bounces_by_recipient` (`recipient`,
//! `bounces`), `webmail_errors` (`category`, `count`) and `top` (the limit used). Lists hold
//! only entries above zero, largest first (ties by name); the `top_*`, `largest_messages`,
//! `bounces_by_recipient` and `dnsbl_lists` lists are cut to `top` entries.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io;
use std::path::Path;
use std::sync::Arc;

use jiff::tz::TimeZone;
use serde::Serialize;

use crate::explain::{self, Lang};
use crate::meaning::{Meaning, Notice, Recipient, is_delivery};
use crate::parse::pop3::{LoginResult, parse_pop3};
use crate::parse::smail::{DeliveryType, Origin, SmailEvent};
use crate::parse::smtp::{Source, parse_smtp};
use crate::parse::status::{AuthMechanism, Stage, Status, StatusCode};
use crate::parse::time::{LocalTime, TimeConverter};
use crate::parse::webmail::{Classifier, WebmailEvent};
use crate::parse::{LogKind, ParseCtx, ParseError};
use crate::tail::Sink;

/// Received, delivered, bounced and refused in one hour or day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Traffic {
    /// `RECV=OK` lines.
    pub received: u64,
    /// Delivery lines.
    pub delivered: u64,
    /// Bounces.
    pub bounced: u64,
    /// Refusals.
    pub refused: u64,
}

impl Traffic {
    fn any(&self) -> bool {
        self.received + self.delivered + self.bounced + self.refused > 0
    }
}

/// A received message, for the largest-messages list.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Received {
    size: u64,
    time: LocalTime,
    id: String,
    sender: String,
    recipient: String,
    recipients: u64,
}

/// Accumulates the summary, line by line. See the module documentation.
pub struct Summary {
    classifier: Arc<Classifier>,
    tz: TimeZone,
    local: TimeConverter,
    utc: TimeConverter,
    /// Entries kept in the largest-messages list; 0 for all.
    top: usize,
    first: Option<LocalTime>,
    last: Option<LocalTime>,
    parsed: [u64; LogKind::COUNT],
    malformed: [u64; LogKind::COUNT],
    read_errors: u64,
    received: u64,
    received_bytes: u64,
    by_source: [u64; Source::ALL.len()],
    recipients_accepted: u64,
    recipients_refused: u64,
    smail_types: [u64; DeliveryType::ALL.len()],
    delivered_by_origin: [u64; Origin::ALL.len()],
    refused: u64,
    refused_by_stage: [u64; Stage::ALL.len()],
    refusals: BTreeMap<String, (Option<StatusCode>, Stage, u64)>,
    dnsbl: HashMap<String, u64>,
    auth: [u64; AuthMechanism::ALL.len()],
    bounced: u64,
    postmaster_notices: u64,
    meaning: Meaning,
    bounce_recipients: HashMap<String, u64>,
    hours: [Traffic; 24],
    days: BTreeMap<(i16, i8, i8), Traffic>,
    senders: HashMap<String, (u64, u64)>,
    recipient_domains: HashMap<String, u64>,
    /// `RCPT=OK` lines per message ID since its last `RECV=OK`.
    pending_rcpts: HashMap<String, u64>,
    largest: Vec<Received>,
    webmail: Vec<u64>,
    pop3: [u64; LoginResult::ALL.len()],
}

fn text(b: &[u8]) -> String {
    // Control characters (a raw TAB in a HELO, an ESC) would break the table or the terminal.
    String::from_utf8_lossy(b)
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn address(b: &[u8]) -> String {
    if b.is_empty() {
        "<>".to_string()
    } else {
        text(b).to_lowercase()
    }
}

fn domain_of(b: &[u8]) -> String {
    let d = match b.iter().rposition(|&c| c == b'@') {
        Some(i) => &b[i + 1..],
        None => b,
    };
    if d.is_empty() {
        "-".to_string()
    } else {
        text(d).to_lowercase()
    }
}

impl Summary {
    /// An empty summary. `tz` is the zone XMail's local times are in; `top` bounds the
    /// largest-messages list kept while reading (0 keeps every message).
    pub fn new(classifier: Arc<Classifier>, tz: TimeZone, top: usize) -> Summary {
        let categories = classifier.categories().len();
        Summary {
            classifier,
            local: TimeConverter::new(tz.clone()),
            utc: TimeConverter::new(TimeZone::UTC),
            tz,
            top,
            first: None,
            last: None,
            parsed: [0; LogKind::COUNT],
            malformed: [0; LogKind::COUNT],
            read_errors: 0,
            received: 0,
            received_bytes: 0,
            by_source: [0; Source::ALL.len()],
            recipients_accepted: 0,
            recipients_refused: 0,
            smail_types: [0; DeliveryType::ALL.len()],
            delivered_by_origin: [0; Origin::ALL.len()],
            refused: 0,
            refused_by_stage: [0; Stage::ALL.len()],
            refusals: BTreeMap::new(),
            dnsbl: HashMap::new(),
            auth: [0; AuthMechanism::ALL.len()],
            bounced: 0,
            postmaster_notices: 0,
            meaning: Meaning::new(),
            bounce_recipients: HashMap::new(),
            hours: [Traffic::default(); 24],
            days: BTreeMap::new(),
            senders: HashMap::new(),
            recipient_domains: HashMap::new(),
            pending_rcpts: HashMap::new(),
            largest: Vec::new(),
            webmail: vec![0; categories],
            pop3: [0; LoginResult::ALL.len()],
        }
    }

    fn seen(&mut self, t: LocalTime) {
        self.first = Some(self.first.map_or(t, |f| f.min(t)));
        self.last = Some(self.last.map_or(t, |l| l.max(t)));
    }

    /// The hour and day buckets of `t`.
    fn traffic(&mut self, t: LocalTime, f: impl Fn(&mut Traffic)) {
        f(&mut self.hours[t.hour.clamp(0, 23) as usize]);
        f(self.days.entry((t.year, t.month, t.day)).or_default());
    }

    fn smtp(&mut self, line: &[u8]) -> Result<(), ParseError> {
        let ev = parse_smtp(line)?;
        self.seen(ev.time);
        let meaning = self.meaning.smtp(&ev);
        let id = text(ev.message_id);
        match meaning.recipient {
            Some(Recipient::Accepted) => {
                self.recipients_accepted += 1;
                if !id.is_empty() {
                    *self.pending_rcpts.entry(id.clone()).or_default() += 1;
                }
            }
            Some(Recipient::Refused) => self.recipients_refused += 1,
            None => {}
        }
        if meaning.received {
            self.received += 1;
            self.received_bytes += ev.size;
            self.by_source[ev.source().index()] += 1;
            self.traffic(ev.time, |t| t.received += 1);
            let sender = address(ev.sender);
            let s = self.senders.entry(sender.clone()).or_default();
            s.0 += 1;
            s.1 += ev.size;
            let recipients = self.pending_rcpts.remove(&id).unwrap_or(0);
            self.keep_large(Received {
                size: ev.size,
                time: ev.time,
                id,
                sender,
                recipient: address(ev.recipient),
                recipients,
            });
            return Ok(());
        }
        if let Some(stage) = meaning.refused {
            let (key, code) = match ev.status.status {
                Status::Known(code) => (code.as_str().to_string(), Some(code)),
                Status::Unknown(raw) => (text(raw), None),
            };
            self.refused += 1;
            self.refused_by_stage[stage.index()] += 1;
            self.traffic(ev.time, |t| t.refused += 1);
            self.refusals.entry(key).or_insert((code, stage, 0)).2 += 1;
        }
        match ev.status.status {
            Status::Known(StatusCode::SenderIpDnsbl) => {
                let list = ev.status.dnsbl_list.map(text).unwrap_or_default();
                *self.dnsbl.entry(list).or_default() += 1;
            }
            Status::Known(StatusCode::AuthFailed) => {
                let m = ev.status.auth_mechanism.unwrap_or(AuthMechanism::Other);
                self.auth[m as usize] += 1;
            }
            // The transaction ended without a message.
            Status::Known(
                StatusCode::PredataFilter | StatusCode::PostdataFilter | StatusCode::DataFilter,
            ) => {
                self.pending_rcpts.remove(&id);
            }
            _ => {}
        }
        Ok(())
    }

    fn keep_large(&mut self, r: Received) {
        let pos = self.largest.partition_point(|x| {
            (x.size, std::cmp::Reverse(x.time)) >= (r.size, std::cmp::Reverse(r.time))
        });
        if self.top == 0 || pos < self.top {
            self.largest.insert(pos, r);
            if self.top > 0 {
                self.largest.truncate(self.top);
            }
        }
    }

    fn smail(&mut self, ev: &SmailEvent<'_>) {
        self.seen(ev.time);
        self.smail_types[ev.delivery.index()] += 1;
        let meaning = self.meaning.smail(ev, self.local.to_unix(ev.time));
        if meaning.delivered.is_some() {
            self.delivered_by_origin[ev.origin().index()] += 1;
            self.traffic(ev.time, |t| t.delivered += 1);
            *self
                .recipient_domains
                .entry(domain_of(ev.recipient))
                .or_default() += 1;
        }
        match meaning.notice {
            Some(Notice::Bounce) => {
                self.bounced += 1;
                self.traffic(ev.time, |t| t.bounced += 1);
                *self
                    .bounce_recipients
                    .entry(address(ev.recipient))
                    .or_default() += 1;
            }
            Some(Notice::Postmaster) => self.postmaster_notices += 1,
            None => {}
        }
    }

    fn webmail(&mut self, ev: &WebmailEvent<'_>) {
        if let Some(c) = self.webmail.get_mut(ev.category) {
            *c += 1;
        }
        let t = match ev.time {
            Some(s) if s.utc => self.utc_to_local(s.time),
            Some(s) => Some(s.time),
            None => None,
        };
        if let Some(t) = t {
            self.seen(t);
        }
    }

    fn utc_to_local(&mut self, t: LocalTime) -> Option<LocalTime> {
        let ts = jiff::Timestamp::from_second(self.utc.to_unix(t)?).ok()?;
        let dt = self.tz.to_datetime(ts);
        Some(LocalTime {
            year: dt.year(),
            month: dt.month(),
            day: dt.day(),
            hour: dt.hour(),
            minute: dt.minute(),
            second: dt.second(),
        })
    }

    fn pop3(&mut self, line: &[u8]) -> Result<(), ParseError> {
        let ev = parse_pop3(line)?;
        self.seen(ev.time);
        self.pop3[ev.result.index()] += 1;
        Ok(())
    }

    /// The summary, with top lists cut to `top` entries (0: all) and titles in `lang`.
    pub fn report(&self, top: usize, lang: Lang) -> Report {
        let cut = |n: usize| if top == 0 { n } else { n.min(top) };
        let idx = |k: LogKind| k.index();
        let lines = |k: LogKind| LineCount {
            parsed: self.parsed[idx(k)],
            malformed: self.malformed[idx(k)],
        };
        let pop3_total: u64 = self.pop3.iter().sum();
        let webmail_total: u64 = self.webmail.iter().sum();

        let mut senders: Vec<SenderRow> = self
            .senders
            .iter()
            .map(|(s, &(messages, bytes))| SenderRow {
                sender: s.clone(),
                messages,
                bytes,
            })
            .collect();
        senders.sort_by(|a, b| {
            (b.messages, b.bytes)
                .cmp(&(a.messages, a.bytes))
                .then_with(|| a.sender.cmp(&b.sender))
        });
        senders.truncate(cut(senders.len()));

        let mut domains: Vec<DomainRow> = sorted_counts(&self.recipient_domains)
            .into_iter()
            .map(|(domain, deliveries)| DomainRow { domain, deliveries })
            .collect();
        domains.truncate(cut(domains.len()));

        let mut largest: Vec<MessageRow> = self
            .largest
            .iter()
            .map(|r| MessageRow {
                size: r.size,
                time: r.time.to_string(),
                message_id: r.id.clone(),
                sender: r.sender.clone(),
                recipient: r.recipient.clone(),
                recipients: r.recipients,
            })
            .collect();
        largest.truncate(cut(largest.len()));

        let mut refusals: Vec<RefusalRow> = self
            .refusals
            .iter()
            .map(|(status, &(code, stage, count))| RefusalRow {
                status: status.clone(),
                stage: stage.as_str(),
                count,
                title: match code {
                    Some(c) => explain::status_title(c, lang).to_string(),
                    None => words(lang).unknown_status.to_string(),
                },
            })
            .collect();
        refusals.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.status.cmp(&b.status)));

        let mut dnsbl: Vec<ListRow> = sorted_counts(&self.dnsbl)
            .into_iter()
            .map(|(list, count)| ListRow { list, count })
            .collect();
        dnsbl.truncate(cut(dnsbl.len()));

        let mut auth: Vec<MechanismRow> = AuthMechanism::ALL
            .iter()
            .zip(self.auth)
            .filter(|(_, n)| *n > 0)
            .map(|(m, count)| MechanismRow {
                mechanism: m.as_str().to_string(),
                count,
            })
            .collect();
        auth.sort_by_key(|a| std::cmp::Reverse(a.count)); // stable: label order on ties

        let mut bounces: Vec<BounceRow> = sorted_counts(&self.bounce_recipients)
            .into_iter()
            .map(|(recipient, bounces)| BounceRow { recipient, bounces })
            .collect();
        bounces.truncate(cut(bounces.len()));

        let mut webmail: Vec<CategoryRow> = self
            .classifier
            .categories()
            .iter()
            .zip(&self.webmail)
            .filter(|(_, n)| **n > 0)
            .map(|(c, &count)| CategoryRow {
                category: c.clone(),
                count,
            })
            .collect();
        webmail.sort_by_key(|a| std::cmp::Reverse(a.count)); // stable: rule order on ties

        let o = |origin: Origin| self.delivered_by_origin[origin.index()];
        let s = |source: Source| self.by_source[source.index()];
        let l = |r: LoginResult| self.pop3[r.index()];
        Report {
            period: Period {
                first: self.first.map(|t| t.to_string()),
                last: self.last.map(|t| t.to_string()),
                timezone: self.tz.iana_name().map(str::to_string),
            },
            lines: Lines {
                smtp: lines(LogKind::Smtp),
                smail: lines(LogKind::Smail),
                pop3: lines(LogKind::Pop3),
                webmail: lines(LogKind::Webmail),
            },
            read_errors: self.read_errors,
            totals: Totals {
                received: self.received,
                received_bytes: self.received_bytes,
                recipients_accepted: self.recipients_accepted,
                recipients_refused: self.recipients_refused,
                delivered: self.delivered_by_origin.iter().sum(),
                bounced: self.bounced,
                postmaster_notices: self.postmaster_notices,
                refused: self.refused,
                auth_failures: self.auth.iter().sum(),
                dnsbl_refusals: self.dnsbl.values().sum(),
                webmail_errors: webmail_total,
                pop3_logins: pop3_total,
            },
            refused_by_stage: ByStage {
                connection: self.refused_by_stage[Stage::Connection.index()],
                sender: self.refused_by_stage[Stage::Sender.index()],
                recipient: self.refused_by_stage[Stage::Recipient.index()],
                data: self.refused_by_stage[Stage::Data.index()],
                auth: self.refused_by_stage[Stage::Auth.index()],
                other: self.refused_by_stage[Stage::Other.index()],
            },
            received_by_source: BySource {
                external: s(Source::External),
                authenticated: s(Source::Authenticated),
                webmail: s(Source::Webmail),
            },
            delivered_by_origin: ByOrigin {
                smtp: o(Origin::Smtp),
                local: o(Origin::Local),
                pop3sync: o(Origin::Pop3Sync),
                bounce: o(Origin::Bounce),
                other: o(Origin::Other),
            },
            pop3_logins: Logins {
                ok: l(LoginResult::Ok),
                failed: l(LoginResult::Failed),
                unknown: l(LoginResult::Unknown),
            },
            smail_lines_by_type: DeliveryType::ALL
                .iter()
                .zip(self.smail_types)
                .filter(|(_, n)| *n > 0)
                .map(|(t, lines)| TypeRow {
                    kind: t.as_str().to_string(),
                    lines,
                    delivery: is_delivery(*t),
                })
                .collect(),
            per_hour: self
                .hours
                .iter()
                .enumerate()
                .map(|(hour, t)| HourRow {
                    hour: hour as u8,
                    traffic: *t,
                })
                .collect(),
            per_day: self
                .days
                .iter()
                .filter(|(_, t)| t.any())
                .map(|(&(y, m, d), t)| DayRow {
                    date: format!("{y:04}-{m:02}-{d:02}"),
                    traffic: *t,
                })
                .collect(),
            top_senders: senders,
            top_recipient_domains: domains,
            largest_messages: largest,
            refusals,
            dnsbl_lists: dnsbl,
            auth_failures: auth,
            bounces_by_recipient: bounces,
            webmail_errors: webmail,
            top,
        }
    }
}

/// `(key, count)` pairs, largest count first, ties by key.
fn sorted_counts(m: &HashMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = m.iter().map(|(k, &n)| (k.clone(), n)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

impl Sink for Summary {
    fn line(&mut self, ctx: &mut ParseCtx, _path: &Path, line: &[u8]) {
        let kind = ctx.kind;
        let result = match kind {
            LogKind::Smtp => self.smtp(line),
            // `None`: the rest of a remote reply that spans lines, part of the record before.
            LogKind::Smail => match ctx.smail(line) {
                None => return,
                Some(parsed) => parsed.map(|ev| self.smail(&ev)),
            },
            // `None`: a line of a PHP stack trace, part of the error before.
            LogKind::Webmail => match ctx.webmail(line, &self.classifier) {
                None => Ok(()),
                Some(Err(ParseError::Empty)) => return,
                Some(parsed) => parsed.map(|ev| self.webmail(&ev)),
            },
            LogKind::Pop3 => self.pop3(line),
        };
        match result {
            Ok(()) => self.parsed[kind.index()] += 1,
            Err(_) => self.malformed[kind.index()] += 1,
        }
    }

    fn line_too_long(&mut self, ctx: &mut ParseCtx, _path: &Path, _len: u64) {
        ctx.smail_continues = false;
        self.malformed[ctx.kind.index()] += 1;
    }

    fn consumed(&mut self, _kind: LogKind, _bytes: u64) {}

    fn file_opened(&mut self, _kind: LogKind, _path: &Path, _rotation: bool) {}

    fn truncated(&mut self, _kind: LogKind, _path: &Path) {}

    fn read_error(&mut self, _kind: LogKind, _path: &Path, _err: &io::Error) {
        self.read_errors += 1;
    }

    fn lag(&mut self, _kind: LogKind, _bytes: u64) {}
}

/// The summary as printed. Field names are the JSON interface: keep them stable.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// First and last time stamp read.
    pub period: Period,
    /// Lines read per log.
    pub lines: Lines,
    /// Files that could not be read.
    pub read_errors: u64,
    /// The grand totals.
    pub totals: Totals,
    /// `refused` by stage of the SMTP dialogue.
    pub refused_by_stage: ByStage,
    /// `received` by who submitted the message.
    pub received_by_source: BySource,
    /// `delivered` by the origin of the message (its ID prefix).
    pub delivered_by_origin: ByOrigin,
    /// POP3 logins by result.
    pub pop3_logins: Logins,
    /// Every SMAIL line by type, and whether the type counts as a delivery.
    pub smail_lines_by_type: Vec<TypeRow>,
    /// 24 entries, local hours 0 to 23, summed over the days of the period.
    pub per_hour: Vec<HourRow>,
    /// Days with traffic, in date order.
    pub per_day: Vec<DayRow>,
    /// Senders of received messages, by messages then bytes.
    pub top_senders: Vec<SenderRow>,
    /// Recipient domains of deliveries.
    pub top_recipient_domains: Vec<DomainRow>,
    /// The largest received messages.
    pub largest_messages: Vec<MessageRow>,
    /// Refusals by status (every one, not cut).
    pub refusals: Vec<RefusalRow>,
    /// `SNDRIP=EIPMAP` refusals by DNSBL.
    pub dnsbl_lists: Vec<ListRow>,
    /// `AUTH=EFAIL` by mechanism.
    pub auth_failures: Vec<MechanismRow>,
    /// Bounces by their recipient, the sender of the failed message.
    pub bounces_by_recipient: Vec<BounceRow>,
    /// Webmail errors by category.
    pub webmail_errors: Vec<CategoryRow>,
    /// The `--top` limit used (0: none).
    pub top: usize,
}

/// The period covered.
#[derive(Clone, Debug, Serialize)]
pub struct Period {
    /// `YYYY-MM-DD HH:MM:SS`, local time; null when nothing was read.
    pub first: Option<String>,
    /// `YYYY-MM-DD HH:MM:SS`, local time; null when nothing was read.
    pub last: Option<String>,
    /// The IANA name of the zone, when it has one.
    pub timezone: Option<String>,
}

/// Lines of one log.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct LineCount {
    /// Lines that parsed.
    pub parsed: u64,
    /// Lines that did not (counted nowhere else).
    pub malformed: u64,
}

/// Lines per log.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Lines {
    /// `smtp-*`.
    pub smtp: LineCount,
    /// `smail-*`.
    pub smail: LineCount,
    /// `pop3-*`.
    pub pop3: LineCount,
    /// `error-YYYYMMDD.txt` (blank lines are not counted).
    pub webmail: LineCount,
}

/// The grand totals (definitions in the module documentation).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Totals {
    /// `RECV=OK` / `RCV=OK` lines.
    pub received: u64,
    /// Their sizes, summed.
    pub received_bytes: u64,
    /// `RCPT=OK` lines.
    pub recipients_accepted: u64,
    /// `RCPT=E…` lines.
    pub recipients_refused: u64,
    /// SMAIL `LOCAL`, `SMTP`, `FWD` and `RLYS` lines.
    pub delivered: u64,
    /// `X` messages, once each, the postmaster's own notices excepted.
    pub bounced: u64,
    /// `X` messages from the postmaster to itself.
    pub postmaster_notices: u64,
    /// SMTP refusals (statuses other than `RECV=OK` and `RCPT=OK`).
    pub refused: u64,
    /// `AUTH=EFAIL` lines (part of `refused`).
    pub auth_failures: u64,
    /// `SNDRIP=EIPMAP` lines (part of `refused`).
    pub dnsbl_refusals: u64,
    /// Webmail error lines.
    pub webmail_errors: u64,
    /// POP3 lines.
    pub pop3_logins: u64,
}

/// Refusals by stage of the SMTP dialogue.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ByStage {
    /// The client: its IP, a connect filter, TLS, too many errors.
    pub connection: u64,
    /// `MAIL FROM` and the declared size.
    pub sender: u64,
    /// `RCPT TO`.
    pub recipient: u64,
    /// Pre-DATA and post-DATA filters.
    pub data: u64,
    /// Failed SMTP AUTH.
    pub auth: u64,
    /// `VRFY`, `ETRN` and statuses not in the table.
    pub other: u64,
}

/// Received messages by source.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct BySource {
    /// Remote clients that did not authenticate.
    pub external: u64,
    /// Clients that authenticated.
    pub authenticated: u64,
    /// The webmail on the loopback address.
    pub webmail: u64,
}

/// Deliveries by message origin.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ByOrigin {
    /// `S` IDs.
    pub smtp: u64,
    /// `L` IDs.
    pub local: u64,
    /// `P` IDs.
    pub pop3sync: u64,
    /// `X` IDs.
    pub bounce: u64,
    /// Any other prefix.
    pub other: u64,
}

/// POP3 logins by result.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Logins {
    /// `LOGIN`.
    pub ok: u64,
    /// `ELOGIN`.
    pub failed: u64,
    /// Lines of XMail up to 1.24.
    pub unknown: u64,
}

/// SMAIL lines of one type.
#[derive(Clone, Debug, Serialize)]
pub struct TypeRow {
    /// `LOCAL`, `SMTP`, ..., `other`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Lines.
    pub lines: u64,
    /// Whether the type counts as delivered.
    pub delivery: bool,
}

/// One local hour.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct HourRow {
    /// 0 to 23.
    pub hour: u8,
    /// Its traffic.
    #[serde(flatten)]
    pub traffic: Traffic,
}

/// One day.
#[derive(Clone, Debug, Serialize)]
pub struct DayRow {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Its traffic.
    #[serde(flatten)]
    pub traffic: Traffic,
}

/// One sender.
#[derive(Clone, Debug, Serialize)]
pub struct SenderRow {
    /// Lower-cased; `<>` for the null sender.
    pub sender: String,
    /// Messages received from it.
    pub messages: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// One recipient domain.
#[derive(Clone, Debug, Serialize)]
pub struct DomainRow {
    /// Lower-cased.
    pub domain: String,
    /// Delivery lines to it.
    pub deliveries: u64,
}

/// One received message.
#[derive(Clone, Debug, Serialize)]
pub struct MessageRow {
    /// Bytes.
    pub size: u64,
    /// When `RECV=OK` was written.
    pub time: String,
    /// `S…`.
    pub message_id: String,
    /// Lower-cased; `<>` for the null sender.
    pub sender: String,
    /// The last recipient, as the SMTP log writes it.
    pub recipient: String,
    /// Recipients accepted (`RCPT=OK` lines of the message).
    pub recipients: u64,
}

/// Refusals of one status.
#[derive(Clone, Debug, Serialize)]
pub struct RefusalRow {
    /// `RCPT=EAVAIL`, ... (`SNDRIP=EIPMAP` and `AUTH=EFAIL` without their suffix).
    pub status: String,
    /// Its stage: `connection`, `sender`, `recipient`, `data`, `auth` or `other`.
    pub stage: &'static str,
    /// Lines.
    pub count: u64,
    /// What it means, in the `--lang` language.
    pub title: String,
}

/// Refusals by one DNSBL.
#[derive(Clone, Debug, Serialize)]
pub struct ListRow {
    /// As configured in XMail (`zen.spamhaus.org.`); `""` when the log does not name it.
    pub list: String,
    /// Lines.
    pub count: u64,
}

/// AUTH failures of one mechanism.
#[derive(Clone, Debug, Serialize)]
pub struct MechanismRow {
    /// `PLAIN`, `LOGIN`, `CRAM-MD5`, `EXTRN` or `other`.
    pub mechanism: String,
    /// Lines.
    pub count: u64,
}

/// Bounces to one address.
#[derive(Clone, Debug, Serialize)]
pub struct BounceRow {
    /// Lower-cased.
    pub recipient: String,
    /// Bounces.
    pub bounces: u64,
}

/// Webmail errors of one category.
#[derive(Clone, Debug, Serialize)]
pub struct CategoryRow {
    /// The category (built-in or from the config's rules).
    pub category: String,
    /// Lines.
    pub count: u64,
}

/// Headings and labels in one language.
struct Words {
    title: &'static str,
    to: &'static str,
    local_time: &'static str,
    no_events: &'static str,
    lines_read: &'static str,
    malformed: &'static str,
    unreadable: &'static str,
    none: &'static str,
    grand_totals: &'static str,
    received: &'static str,
    recipients_accepted: &'static str,
    delivered: &'static str,
    bounced: &'static str,
    postmaster_notices: &'static str,
    refused: &'static str,
    recipients_refused: &'static str,
    by_stage: &'static str,
    stages: [&'static str; 6],
    auth_failures: &'static str,
    dnsbl_refusals: &'static str,
    webmail_errors: &'static str,
    pop3_logins: &'static str,
    external: &'static str,
    authenticated: &'static str,
    webmail: &'static str,
    ok: &'static str,
    failed: &'static str,
    unknown: &'static str,
    bytes: &'static str,
    by_id_prefix: &'static str,
    other: &'static str,
    per_day: &'static str,
    per_hour: &'static str,
    date: &'static str,
    hour: &'static str,
    smail_types: &'static str,
    kind: &'static str,
    lines: &'static str,
    meaning: &'static str,
    is_delivery: &'static str,
    filter_ran: &'static str,
    program_ran: &'static str,
    copy_queued: &'static str,
    other_type: &'static str,
    top_senders: &'static str,
    messages: &'static str,
    size: &'static str,
    sender: &'static str,
    top_domains: &'static str,
    deliveries: &'static str,
    domain: &'static str,
    largest: &'static str,
    time: &'static str,
    message: &'static str,
    from_to: &'static str,
    refusals: &'static str,
    count: &'static str,
    status: &'static str,
    reason: &'static str,
    unknown_status: &'static str,
    dnsbl: &'static str,
    list: &'static str,
    unnamed: &'static str,
    auth: &'static str,
    mechanism: &'static str,
    bounces: &'static str,
    recipient: &'static str,
    webmail_by_category: &'static str,
    category: &'static str,
}

const EN: Words = Words {
    title: "XMail log summary",
    to: "to",
    local_time: "local time",
    no_events: "no events",
    lines_read: "lines read",
    malformed: "malformed",
    unreadable: "files not readable",
    none: "(none)",
    grand_totals: "Grand totals",
    received: "received",
    recipients_accepted: "recipients accepted",
    delivered: "delivered",
    bounced: "bounced",
    postmaster_notices: "postmaster notices",
    refused: "refused",
    recipients_refused: "recipients refused",
    by_stage: "by stage",
    stages: ["connection", "sender", "recipient", "data", "auth", "other"],
    auth_failures: "AUTH failures",
    dnsbl_refusals: "DNSBL refusals",
    webmail_errors: "webmail errors",
    pop3_logins: "POP3 logins",
    external: "external",
    authenticated: "authenticated",
    webmail: "webmail",
    ok: "ok",
    failed: "failed",
    unknown: "unknown",
    bytes: "bytes",
    by_id_prefix: "by message ID",
    other: "other",
    per_day: "Per-day traffic",
    per_hour: "Per-hour traffic (local time, all days)",
    date: "date",
    hour: "hour",
    smail_types: "SMAIL lines by type",
    kind: "type",
    lines: "lines",
    meaning: "counted as",
    is_delivery: "delivered",
    filter_ran: "not counted: a filter ran",
    program_ran: "not counted: a program ran",
    copy_queued: "not counted: a copy was queued (delivered on its own line)",
    other_type: "not counted: unknown type",
    top_senders: "Top senders (by messages received)",
    messages: "messages",
    size: "size",
    sender: "sender",
    top_domains: "Top recipient domains (by deliveries)",
    deliveries: "deliveries",
    domain: "domain",
    largest: "Largest messages",
    time: "time",
    message: "message",
    from_to: "sender -> last recipient",
    refusals: "Refusals by reason",
    count: "count",
    status: "status",
    reason: "reason",
    unknown_status: "status not known to this tool",
    dnsbl: "DNSBL refusals by list",
    list: "list",
    unnamed: "(not named in the log)",
    auth: "AUTH failures by mechanism",
    mechanism: "mechanism",
    bounces: "Bounces by recipient (the sender of the failed message)",
    recipient: "recipient",
    webmail_by_category: "Webmail errors by category",
    category: "category",
};

const KO: Words = Words {
    title: "XMail 로그 요약",
    to: "~",
    local_time: "현지 시각",
    no_events: "기록 없음",
    lines_read: "읽은 줄",
    malformed: "형식 오류",
    unreadable: "읽지 못한 파일",
    none: "(없음)",
    grand_totals: "전체 합계",
    received: "수신",
    recipients_accepted: "승인된 수신자",
    delivered: "전달",
    bounced: "반송",
    postmaster_notices: "관리자 알림",
    refused: "거부",
    recipients_refused: "거부된 수신자",
    by_stage: "단계별",
    stages: ["연결", "발신자", "수신자", "데이터", "인증", "기타"],
    auth_failures: "SMTP 인증 실패",
    dnsbl_refusals: "DNSBL 거부",
    webmail_errors: "웹메일 오류",
    pop3_logins: "POP3 로그인",
    external: "외부",
    authenticated: "인증",
    webmail: "웹메일",
    ok: "성공",
    failed: "실패",
    unknown: "알 수 없음",
    bytes: "바이트",
    by_id_prefix: "메시지 ID별",
    other: "기타",
    per_day: "일별 통계",
    per_hour: "시간대별 통계 (현지 시각, 전체 기간 합계)",
    date: "날짜",
    hour: "시각",
    smail_types: "SMAIL 기록 유형별",
    kind: "유형",
    lines: "줄",
    meaning: "집계",
    is_delivery: "전달",
    filter_ran: "집계 안 함: 필터 실행",
    program_ran: "집계 안 함: 프로그램 실행",
    copy_queued: "집계 안 함: 사본 생성 (사본의 전달은 별도 기록)",
    other_type: "집계 안 함: 알 수 없는 유형",
    top_senders: "발신자 순위 (수신 메일 수)",
    messages: "메일",
    size: "크기",
    sender: "발신자",
    top_domains: "수신 도메인 순위 (전달 수)",
    deliveries: "전달",
    domain: "도메인",
    largest: "가장 큰 메일",
    time: "시각",
    message: "메시지",
    from_to: "발신자 -> 마지막 수신자",
    refusals: "거부 사유별",
    count: "건수",
    status: "상태",
    reason: "사유",
    unknown_status: "이 도구가 모르는 상태",
    dnsbl: "DNSBL 목록별 거부",
    list: "목록",
    unnamed: "(로그에 이름 없음)",
    auth: "SMTP 인증 실패 (방식별)",
    mechanism: "방식",
    bounces: "반송 받은 주소 (실패한 메일의 발신자)",
    recipient: "수신자",
    webmail_by_category: "웹메일 오류 분류별",
    category: "분류",
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &EN,
        Lang::Ko => &KO,
    }
}

/// Bytes in binary units with one decimal: `801 B`, `72.7 KiB`, `50.0 MiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    // Round first, so 1048575 bytes read 1.0 MiB rather than 1024.0 KiB.
    while (v * 10.0).round() / 10.0 >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// Terminal columns of a string: East Asian wide characters (Hangul, CJK) take two.
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| match c as u32 {
            0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0x33FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xA000..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6 => 2,
            _ => 1,
        })
        .sum()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
}

/// Writes rows as aligned columns, two spaces apart, indented by two; the last column is
/// not padded.
fn table(out: &mut String, header: Option<&[&str]>, align: &[Align], rows: &[Vec<String>]) {
    let mut widths = vec![0usize; align.len()];
    let all = header
        .map(|h| h.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .into_iter()
        .chain(rows.iter().cloned());
    let all: Vec<Vec<String>> = all.collect();
    for row in &all {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(width(cell));
        }
    }
    for row in &all {
        let mut line = String::from("  ");
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = " ".repeat(widths[i] - width(cell));
            match align[i] {
                Align::Right => {
                    line.push_str(&pad);
                    line.push_str(cell);
                }
                Align::Left if i + 1 == row.len() => line.push_str(cell),
                Align::Left => {
                    line.push_str(cell);
                    line.push_str(&pad);
                }
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

fn section(out: &mut String, title: &str) {
    out.push('\n');
    out.push_str(title);
    out.push('\n');
    out.push_str(&"-".repeat(width(title)));
    out.push('\n');
}

fn rows_or_none(
    out: &mut String,
    w: &Words,
    header: &[&str],
    align: &[Align],
    rows: &[Vec<String>],
) {
    if rows.is_empty() {
        out.push_str("  ");
        out.push_str(w.none);
        out.push('\n');
    } else {
        table(out, Some(header), align, rows);
    }
}

/// The report as aligned text tables, in the spirit of pflogsumm.
pub fn render_text(r: &Report, lang: Lang) -> String {
    use Align::{Left as L, Right as R};
    let w = words(lang);
    let mut out = String::new();
    let zone = r.period.timezone.as_deref().unwrap_or(w.local_time);
    match (&r.period.first, &r.period.last) {
        (Some(first), Some(last)) => {
            let _ = writeln!(out, "{}: {first} {} {last} ({zone})", w.title, w.to);
        }
        _ => {
            let _ = writeln!(out, "{}: {}", w.title, w.no_events);
        }
    }
    let l = &r.lines;
    let malformed = l.smtp.malformed + l.smail.malformed + l.pop3.malformed + l.webmail.malformed;
    let _ = write!(
        out,
        "{}: smtp {}, smail {}, pop3 {}, webmail {}; {} {malformed}",
        w.lines_read, l.smtp.parsed, l.smail.parsed, l.pop3.parsed, l.webmail.parsed, w.malformed
    );
    if r.read_errors > 0 {
        let _ = write!(out, "; {} {}", w.unreadable, r.read_errors);
    }
    out.push('\n');

    let t = &r.totals;
    section(&mut out, w.grand_totals);
    let src = &r.received_by_source;
    let org = &r.delivered_by_origin;
    let pop = &r.pop3_logins;
    let totals = vec![
        vec![
            t.received.to_string(),
            w.received.to_string(),
            format!(
                "{} ({} {}); {} {}, {} {}, {} {}",
                human_bytes(t.received_bytes),
                t.received_bytes,
                w.bytes,
                w.external,
                src.external,
                w.authenticated,
                src.authenticated,
                w.webmail,
                src.webmail
            ),
        ],
        vec![
            t.recipients_accepted.to_string(),
            w.recipients_accepted.to_string(),
            String::new(),
        ],
        vec![t.delivered.to_string(), w.delivered.to_string(), {
            let mut d = format!(
                "{}: S {}, L {}, P {}, X {}",
                w.by_id_prefix, org.smtp, org.local, org.pop3sync, org.bounce
            );
            if org.other > 0 {
                let _ = write!(d, ", {} {}", w.other, org.other);
            }
            d
        }],
        vec![t.bounced.to_string(), w.bounced.to_string(), String::new()],
        vec![
            t.postmaster_notices.to_string(),
            w.postmaster_notices.to_string(),
            String::new(),
        ],
        vec![t.refused.to_string(), w.refused.to_string(), {
            let st = &r.refused_by_stage;
            let n = [
                st.connection,
                st.sender,
                st.recipient,
                st.data,
                st.auth,
                st.other,
            ];
            let parts: Vec<String> = w
                .stages
                .iter()
                .zip(n)
                .map(|(name, n)| format!("{name} {n}"))
                .collect();
            format!("{}: {}", w.by_stage, parts.join(", "))
        }],
        vec![
            t.recipients_refused.to_string(),
            w.recipients_refused.to_string(),
            String::new(),
        ],
        vec![
            t.auth_failures.to_string(),
            w.auth_failures.to_string(),
            String::new(),
        ],
        vec![
            t.dnsbl_refusals.to_string(),
            w.dnsbl_refusals.to_string(),
            String::new(),
        ],
        vec![
            t.webmail_errors.to_string(),
            w.webmail_errors.to_string(),
            String::new(),
        ],
        vec![
            t.pop3_logins.to_string(),
            w.pop3_logins.to_string(),
            format!(
                "{} {}, {} {}, {} {}",
                w.ok, pop.ok, w.failed, pop.failed, w.unknown, pop.unknown
            ),
        ],
    ];
    table(&mut out, None, &[R, L, L], &totals);

    let traffic_header =
        |first: &'static str| [first, w.received, w.delivered, w.bounced, w.refused];
    let traffic_row = |label: String, t: &Traffic| {
        vec![
            label,
            t.received.to_string(),
            t.delivered.to_string(),
            t.bounced.to_string(),
            t.refused.to_string(),
        ]
    };
    if r.per_day.len() > 1 {
        section(&mut out, w.per_day);
        let rows: Vec<Vec<String>> = r
            .per_day
            .iter()
            .map(|d| traffic_row(d.date.clone(), &d.traffic))
            .collect();
        table(
            &mut out,
            Some(&traffic_header(w.date)),
            &[L, R, R, R, R],
            &rows,
        );
    }
    section(&mut out, w.per_hour);
    let rows: Vec<Vec<String>> = r
        .per_hour
        .iter()
        .map(|h| traffic_row(format!("{:02}:00", h.hour), &h.traffic))
        .collect();
    table(
        &mut out,
        Some(&traffic_header(w.hour)),
        &[L, R, R, R, R],
        &rows,
    );

    section(&mut out, w.smail_types);
    let rows: Vec<Vec<String>> = r
        .smail_lines_by_type
        .iter()
        .map(|t| {
            let meaning = match t.kind.as_str() {
                _ if t.delivery => w.is_delivery,
                "FILTER" => w.filter_ran,
                "EXTRN" => w.program_ran,
                "REDIR" | "LREDIR" => w.copy_queued,
                _ => w.other_type,
            };
            vec![t.lines.to_string(), t.kind.clone(), meaning.to_string()]
        })
        .collect();
    rows_or_none(
        &mut out,
        w,
        &[w.lines, w.kind, w.meaning],
        &[R, L, L],
        &rows,
    );

    section(&mut out, w.top_senders);
    let rows: Vec<Vec<String>> = r
        .top_senders
        .iter()
        .map(|s| {
            vec![
                s.messages.to_string(),
                human_bytes(s.bytes),
                s.sender.clone(),
            ]
        })
        .collect();
    rows_or_none(
        &mut out,
        w,
        &[w.messages, w.size, w.sender],
        &[R, R, L],
        &rows,
    );

    section(&mut out, w.top_domains);
    let rows: Vec<Vec<String>> = r
        .top_recipient_domains
        .iter()
        .map(|d| vec![d.deliveries.to_string(), d.domain.clone()])
        .collect();
    rows_or_none(&mut out, w, &[w.deliveries, w.domain], &[R, L], &rows);

    section(&mut out, w.largest);
    let rows: Vec<Vec<String>> = r
        .largest_messages
        .iter()
        .map(|m| {
            let more = if m.recipients > 1 {
                format!(" (+{})", m.recipients - 1)
            } else {
                String::new()
            };
            vec![
                human_bytes(m.size),
                m.time.clone(),
                m.message_id.clone(),
                format!("{} -> {}{more}", m.sender, m.recipient),
            ]
        })
        .collect();
    rows_or_none(
        &mut out,
        w,
        &[w.size, w.time, w.message, w.from_to],
        &[R, L, L, L],
        &rows,
    );

    section(&mut out, w.refusals);
    let rows: Vec<Vec<String>> = r
        .refusals
        .iter()
        .map(|x| vec![x.count.to_string(), x.status.clone(), x.title.clone()])
        .collect();
    rows_or_none(
        &mut out,
        w,
        &[w.count, w.status, w.reason],
        &[R, L, L],
        &rows,
    );

    section(&mut out, w.dnsbl);
    let rows: Vec<Vec<String>> = r
        .dnsbl_lists
        .iter()
        .map(|x| {
            let list = if x.list.is_empty() {
                w.unnamed
            } else {
                &x.list
            };
            vec![x.count.to_string(), list.to_string()]
        })
        .collect();
    rows_or_none(&mut out, w, &[w.count, w.list], &[R, L], &rows);

    section(&mut out, w.auth);
    let rows: Vec<Vec<String>> = r
        .auth_failures
        .iter()
        .map(|x| vec![x.count.to_string(), x.mechanism.clone()])
        .collect();
    rows_or_none(&mut out, w, &[w.count, w.mechanism], &[R, L], &rows);

    section(&mut out, w.bounces);
    let rows: Vec<Vec<String>> = r
        .bounces_by_recipient
        .iter()
        .map(|x| vec![x.bounces.to_string(), x.recipient.clone()])
        .collect();
    rows_or_none(&mut out, w, &[w.count, w.recipient], &[R, L], &rows);

    section(&mut out, w.webmail_by_category);
    let rows: Vec<Vec<String>> = r
        .webmail_errors
        .iter()
        .map(|x| vec![x.count.to_string(), x.category.clone()])
        .collect();
    rows_or_none(&mut out, w, &[w.count, w.category], &[R, L], &rows);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(lines: &[(LogKind, &str)]) -> Summary {
        let mut s = Summary::new(
            Arc::new(Classifier::default()),
            TimeZone::get("Asia/Seoul").unwrap(),
            2,
        );
        // One file per kind: a context lives as long as its file.
        let mut ctxs: Vec<ParseCtx> = LogKind::ALL
            .iter()
            .map(|&k| ParseCtx::for_file(k, "x-20261127"))
            .collect();
        for (kind, line) in lines {
            s.line(&mut ctxs[kind.index()], Path::new("x"), line.as_bytes());
        }
        s
    }

    fn smtp(time: &str, id: &str, status: &str, sender: &str, rcpt: &str, size: u64) -> String {
        format!(
            "\"mx\"\t\"dom\"\t\"192.0.2.1\"\t\"{time}\"\t\"helo\"\t\"dom\"\t\"{sender}\"\t\"{rcpt}\"\t\"{id}\"\t\"{status}\"\t\"\"\t\"{size}\"\t\"\""
        )
    }

    fn smail(time: &str, id: &str, sender: &str, rcpt: &str, kind: &str) -> String {
        format!(
            "\"dom\"\t\"spool\"\t\"{id}\"\t\"{sender}\"\t\"{rcpt}\"\t\"{kind}\"\t\"p\"\t\"{time}\"\t\"\""
        )
    }

    #[test]
    fn human_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1024), "1.0 KiB");
        assert_eq!(human_bytes(74_410), "72.7 KiB");
        assert_eq!(human_bytes(1_048_575), "1.0 MiB");
        assert_eq!(human_bytes(52_428_800), "50.0 MiB");
        assert_eq!(human_bytes(u64::MAX), "16.0 EiB");
    }

    #[test]
    fn korean_is_two_columns_wide() {
        assert_eq!(width("수신"), 4);
        assert_eq!(width("a수b"), 4);
        assert_eq!(width("abc"), 3);
    }

    #[test]
    fn definitions() {
        #[rustfmt::skip]
        let smtp_lines = [
            ("2026-11-27 10:00:00", "S1", "RCPT=OK", "A@x.example", "b@y.example", 0),
            ("2026-11-27 10:00:00", "S1", "RCPT=EAVAIL", "A@x.example", "c@y.example", 0),
            ("2026-11-27 10:00:01", "S1", "RCPT=OK", "A@x.example", "d@y.example", 0),
            ("2026-11-27 10:00:02", "S1", "RECV=OK", "A@x.example", "d@y.example", 5000),
            ("2026-11-27 11:00:00", "S2", "RECV=OK", "", "b@y.example", 100),
            ("2026-11-27 11:00:00", "S3", "RECV=OK", "", "b@y.example", 9000),
            ("2026-11-27 12:00:00", "", "AUTH=EFAIL:TYPE=LOGIN", "", "", 0),
            ("2026-11-27 12:00:00", "", "SNDRIP=EIPMAP (bl.example.)", "", "", 0),
            ("2026-11-27 12:00:00", "", "NEWSTAGE=OK", "", "", 0),
            ("2026-11-27 12:00:00", "", "NEWSTAGE=EGREY", "", "", 0),
            // A legacy post-RCPT filter refusal: two lines, one refusal.
            ("2026-11-27 13:00:00", "S4", "DATA=EFILTER", "A@x.example", "e@y.example", 0),
            ("2026-11-27 13:00:00", "S4", "RCPT=EFILTER", "A@x.example", "e@y.example", 0),
        ];
        #[rustfmt::skip]
        let smail_lines = [
            ("2026-11-27 10:00:03", "S1", "a@x.example", "b@y.example", "FILTER"),
            ("2026-11-27 10:00:03", "S1", "a@x.example", "b@y.example", "LOCAL"),
            ("2026-11-27 10:00:03", "S1", "a@x.example", "b@y.example", "REDIR"),
            ("2026-11-27 10:00:04", "S1", "a@x.example", "z@Z.example", "SMTP"),
            ("2026-11-27 10:00:04", "S1", "a@x.example", "d@y.example", "EXTRN"),
            ("2026-11-27 10:00:05", "X9", "", "a@x.example", "SMTP"),
            ("2026-11-27 10:00:05", "X9", "", "a@x.example", "REDIR"),
            ("2026-11-27 10:00:06", "X9", "", "a2@x.example", "SMTP"),
            // The postmaster notifying itself: a delivery, not a bounce.
            ("2026-11-27 10:00:07", "XA", "postmaster@x.example", "PostMaster@x.example", "LOCAL"),
            // The same ID a week later: XMail's counter started again.
            ("2026-12-04 10:00:06", "X9", "", "q@x.example", "LOCAL"),
        ];
        let mut input: Vec<(LogKind, String)> = Vec::new();
        for (time, id, status, from, to, size) in smtp_lines {
            input.push((LogKind::Smtp, smtp(time, id, status, from, to, size)));
        }
        for (time, id, from, to, kind) in smail_lines {
            input.push((LogKind::Smail, smail(time, id, from, to, kind)));
        }
        input.push((LogKind::Smail, "garbage".to_string()));
        let refs: Vec<(LogKind, &str)> = input.iter().map(|(k, l)| (*k, l.as_str())).collect();
        let s = summary(&refs);
        let r = s.report(10, Lang::En);
        assert_eq!(r.totals.received, 3);
        assert_eq!(r.totals.received_bytes, 14_100);
        assert_eq!(r.totals.recipients_accepted, 2);
        assert_eq!(r.totals.recipients_refused, 2);
        assert_eq!(r.totals.delivered, 6);
        assert_eq!(r.totals.bounced, 2);
        assert_eq!(r.totals.postmaster_notices, 1);
        assert_eq!(r.totals.refused, 5);
        let st = r.refused_by_stage;
        assert_eq!(
            [
                st.connection,
                st.sender,
                st.recipient,
                st.data,
                st.auth,
                st.other
            ],
            [1, 0, 1, 1, 1, 1]
        );
        assert_eq!(r.totals.auth_failures, 1);
        assert_eq!(r.totals.dnsbl_refusals, 1);
        assert_eq!(r.lines.smail.malformed, 1);
        assert_eq!(r.delivered_by_origin.bounce, 4);
        assert_eq!(r.per_hour[10].traffic.received, 1);
        // Hours sum over days: 10:00 on the 27th and on December 4th.
        assert_eq!(r.per_hour[10].traffic.delivered, 6);
        assert_eq!(r.per_hour[10].traffic.bounced, 2);
        assert_eq!(r.per_hour[12].traffic.refused, 3);
        assert_eq!(r.per_hour[13].traffic.refused, 1);
        assert_eq!(r.per_day.len(), 2);
        assert_eq!(r.top_senders[0].sender, "<>");
        assert_eq!(r.top_senders[0].messages, 2);
        assert_eq!(r.top_senders[1].sender, "a@x.example");
        assert_eq!(r.largest_messages.len(), 2, "cut to --top while reading");
        assert_eq!(r.largest_messages[0].message_id, "S3");
        assert_eq!(r.largest_messages[1].message_id, "S1");
        assert_eq!(r.largest_messages[1].recipients, 2);
        // x.example: three bounces and the notice; y.example and z.example (lower-cased) one each.
        assert_eq!(r.top_recipient_domains[0].domain, "x.example");
        assert_eq!(r.top_recipient_domains[0].deliveries, 4);
        assert_eq!(r.top_recipient_domains[1].domain, "y.example");
        assert_eq!(r.top_recipient_domains[2].domain, "z.example");
        assert_eq!(r.bounces_by_recipient[0].recipient, "a@x.example");
        assert_eq!(r.bounces_by_recipient[1].recipient, "q@x.example");
        assert_eq!(r.bounces_by_recipient.len(), 2);
        let statuses: Vec<&str> = r.refusals.iter().map(|x| x.status.as_str()).collect();
        assert_eq!(
            statuses,
            [
                "AUTH=EFAIL",
                "DATA=EFILTER",
                "NEWSTAGE=EGREY",
                "RCPT=EAVAIL",
                "SNDRIP=EIPMAP"
            ]
        );
        assert_eq!(r.refusals[2].title, "status not known to this tool");
        assert_eq!(r.refusals[2].stage, "other");
        assert_eq!(r.refusals[1].stage, "data");
        assert_eq!(r.period.first.as_deref(), Some("2026-11-27 10:00:00"));
        assert_eq!(r.period.last.as_deref(), Some("2026-12-04 10:00:06"));
    }

    #[test]
    fn webmail_utc_times_move_to_the_zone() {
        let s = summary(&[
            (
                LogKind::Webmail,
                "[27-Nov-2026 01:45:30 UTC] PHP Fatal error: x",
            ),
            (LogKind::Webmail, "no time stamp here"),
            (LogKind::Webmail, "   "),
        ]);
        let r = s.report(10, Lang::En);
        assert_eq!(r.period.first.as_deref(), Some("2026-11-27 10:45:30"));
        assert_eq!(r.lines.webmail.parsed, 2);
        assert_eq!(r.totals.webmail_errors, 2);
    }

    #[test]
    fn a_stack_trace_is_one_error() {
        let s = summary(&[
            (
                LogKind::Webmail,
                "[2026-11-27 10:00:00] PHP Fatal error:  Uncaught Exception: x in /a.php:3",
            ),
            (LogKind::Webmail, "Stack trace:"),
            (LogKind::Webmail, "#0 /var/www/a.php(3): f()"),
            (LogKind::Webmail, "#1 {main}"),
            (LogKind::Webmail, "  thrown in /var/www/a.php on line 3"),
            (LogKind::Webmail, "[2026-11-27 10:00:01] PHP Warning: y"),
        ]);
        let r = s.report(10, Lang::En);
        assert_eq!(r.totals.webmail_errors, 2);
        assert_eq!(r.lines.webmail.parsed, 6);
    }

    #[test]
    fn empty_text_says_so() {
        let s = summary(&[]);
        let text = render_text(&s.report(10, Lang::En), Lang::En);
        assert!(text.starts_with("XMail log summary: no events\n"), "{text}");
        assert!(text.contains("Refusals by reason\n------------------\n  (none)\n"));
        assert!(!text.lines().any(|l| l.ends_with(' ')));
    }
}
