//! The summary behind `xmail_exporter report --format text|json`, a pflogsumm-style view of
//! the logs `report` reads. [`Summary`] is a [`Sink`]: it parses every line itself (a one-shot
//! reading, not the serving hot path, so it allocates freely) and keeps only what the summary
//! shows. [`Summary::report`] turns it into a [`Report`] ([`report`]: the JSON contract, its
//! field names stable for scripts), which [`text::render_text`] prints as aligned tables. The
//! words of the tables, in English and Korean, live with the sentences in [`crate::explain`].
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
//! - **CTRL logins**: one per `AUTH` (ok) or `FAIL` (failed) line of `ctrl-*`; the `REQ`
//!   line before each is read, not counted as a login.
//! - **POP3 sync**: one per line of `psync-*`, by result, with the messages and bytes it
//!   fetched or failed to fetch.
//! - **filter runs**: one per line of `filters-*`, by stage and outcome (what XMail did with
//!   the filter's exit code, [`crate::parse::filters::classify`]).
//! - **LMAIL messages** and **FINGER queries**: one per line of `lmail-*` / `finger-*`.
//!
//! Times are the local times XMail writes; webmail lines stamped in UTC are moved to the
//! configured zone. The period runs from the first to the last time stamp of any line read
//! (webmail lines without a time stamp do not move it). The per-hour table sums each local
//! hour over every day of the period.
//!
//! # A time range
//!
//! With a [`TimeRange`] (`report --since/--until`, [`Summary::with_range`], [`summarize`]),
//! only the lines whose time is in the range count, everywhere: totals, tables, `lines`
//! read and the period. Webmail times stamped in UTC are compared once moved to the
//! configured zone. What a line means is still decided as if every line was read: a bounce
//! is counted at its first SMAIL line, so an `X` message that began before the range is not
//! counted in it; the recipients of a large message include its `RCPT=OK` lines before the
//! range.
//!
//! A line without a time of its own (a malformed line, an over-long line, a webmail error
//! without a time stamp, a line of a PHP stack trace) goes with the line before it in its
//! file: it counts when that line did. At the start of a file it counts when the day the
//! file is named for is a day of the range (or the name holds no date).
//!
//! Files whose names say they cannot hold lines of the range are not read at all
//! ([`range::file_may_hold`]).
//!
//! # Layout
//! - this file: the accumulator and its [`Sink`];
//! - [`report`]: the [`Report`] and its rows, serialised as the JSON output;
//! - [`text`]: the text tables (display widths of Korean, binary units);
//! - [`range`]: the bounds `report` accepts, which files can hold lines of a range;
//! - [`files`]: the files of a reading and their order, and [`summarize`], the summary of
//!   log directories for a range as `report --format json` prints it;
//! - [`parallel`]: the same summary read on several threads, piece by piece, merged into
//!   what one thread gives.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::tz::TimeZone;

use crate::explain::{self, Lang, printable};
use crate::meaning::{Meaning, Notice, Recipient, is_delivery};
use crate::parse::ctrl::parse_ctrl;
use crate::parse::filters::{FilterOutcome, FilterStage, parse_filter};
use crate::parse::finger::parse_finger;
use crate::parse::lmail::parse_lmail;
use crate::parse::pop3::{LoginResult, parse_pop3};
use crate::parse::psync::{SyncResult, parse_psync};
use crate::parse::smail::{DeliveryType, Origin, SmailEvent};
use crate::parse::smtp::{Source, parse_smtp};
use crate::parse::status::{AuthMechanism, Stage, Status, StatusCode};
use crate::parse::time::{LocalTime, TimeConverter};
use crate::parse::webmail::{Classifier, WebmailEvent};
use crate::parse::{LogKind, ParseCtx, ParseError};
use crate::read::Sink;
use crate::read::range::TimeRange;

pub mod files;
pub mod parallel;
pub mod range;
pub mod report;
pub mod text;

pub use files::{LogFile, Summarized, summarize, summarize_files};
pub use report::*;
pub use text::{human_bytes, render_text};

/// A received message, for the largest-messages list.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Received {
    size: u64,
    time: LocalTime,
    id: String,
    sender: String,
    recipient: String,
    recipients: u64,
    /// Read as a piece's part ([`parallel`]): `recipients` counts only the piece's `RCPT=OK`
    /// lines, those before it are still to be added.
    open: bool,
}

/// A line of a piece whose meaning depends on lines before the piece ([`parallel`]): kept
/// as read, and given its meaning when the pieces are merged in reading order.
#[derive(Clone, Debug)]
enum Deferred {
    /// An SMTP `DATA=EFILTER` or `RCPT=EFILTER` line (the legacy pair that counts once),
    /// counted as a refusal of its own when `kept` (in the range).
    Legacy { line: Vec<u8>, kept: bool },
    /// An SMAIL record of an `X` message, not counted as a bounce or notice yet.
    Notice { line: Vec<u8>, kept: bool },
}

/// What a summary read as one piece of a parallel reading keeps for the merge.
#[derive(Debug, Default)]
struct Part {
    /// Lines whose meaning waits for the merge, in reading order.
    deferred: Vec<Deferred>,
    /// Message IDs whose `RCPT=OK` count started again in the piece (`RECV=OK`, a filter).
    reset: std::collections::HashSet<String>,
    /// The piece starts inside a file and no line with a time was read yet: whether a line
    /// without a time counts is the last timed line's before the piece.
    start_unknown: bool,
    /// Lines without a time read while `start_unknown`, per log.
    lead_malformed: [u64; LogKind::COUNT],
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
    by_source: [u64; Source::COUNT],
    recipients_accepted: u64,
    recipients_refused: u64,
    smail_types: [u64; DeliveryType::COUNT],
    delivered_by_origin: [u64; Origin::COUNT],
    refused: u64,
    refused_by_stage: [u64; Stage::COUNT],
    refusals: BTreeMap<String, (Option<StatusCode>, Stage, u64)>,
    dnsbl: HashMap<String, u64>,
    auth: [u64; AuthMechanism::COUNT],
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
    pop3: [u64; LoginResult::COUNT],
    ctrl: [u64; LoginResult::COUNT],
    psync: [u64; SyncResult::COUNT],
    psync_messages: SyncAmount,
    psync_bytes: SyncAmount,
    filter_runs: [[u64; FilterOutcome::COUNT]; FilterStage::COUNT],
    lmail: u64,
    finger: u64,
    /// Only lines of this range count.
    range: TimeRange,
    /// `range` leaves lines out.
    ranged: bool,
    /// With a range: the file of the last line seen.
    file: PathBuf,
    /// Whether the last line with a time in `file` was in the range (at the start of the
    /// file: whether its day is): a line without a time goes with it.
    last_in: bool,
    /// Read as one piece of a parallel reading ([`parallel`]).
    part: Option<Box<Part>>,
}

fn address(b: &[u8]) -> String {
    if b.is_empty() {
        "<>".to_string()
    } else {
        lower(b)
    }
}

fn domain_of(b: &[u8]) -> String {
    let d = crate::parse::fields::domain_of(b).unwrap_or(b);
    if d.is_empty() {
        "-".to_string()
    } else {
        lower(d)
    }
}

/// [`printable`] in lower case; printable ASCII (most addresses) in one copy.
fn lower(b: &[u8]) -> String {
    match explain::printable_ascii(b) {
        Some(ascii) => ascii.to_ascii_lowercase(),
        None => printable(b).to_lowercase(),
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
            by_source: [0; Source::COUNT],
            recipients_accepted: 0,
            recipients_refused: 0,
            smail_types: [0; DeliveryType::COUNT],
            delivered_by_origin: [0; Origin::COUNT],
            refused: 0,
            refused_by_stage: [0; Stage::COUNT],
            refusals: BTreeMap::new(),
            dnsbl: HashMap::new(),
            auth: [0; AuthMechanism::COUNT],
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
            pop3: [0; LoginResult::COUNT],
            ctrl: [0; LoginResult::COUNT],
            psync: [0; SyncResult::COUNT],
            psync_messages: SyncAmount::default(),
            psync_bytes: SyncAmount::default(),
            filter_runs: [[0; FilterOutcome::COUNT]; FilterStage::COUNT],
            lmail: 0,
            finger: 0,
            range: TimeRange::default(),
            ranged: false,
            file: PathBuf::new(),
            last_in: true,
            part: None,
        }
    }

    /// Makes this (empty) summary the part of one piece of a parallel reading
    /// ([`parallel`]): the lines whose meaning depends on the lines before the piece are
    /// kept for the merge. `inside`: the piece starts inside this file, not at its start.
    fn into_part(mut self, inside: Option<&Path>) -> Summary {
        let mut part = Part::default();
        if let Some(path) = inside {
            self.file = path.to_path_buf();
            part.start_unknown = true;
        }
        self.part = Some(Box::new(part));
        self
    }

    /// Counts only the lines of `range` (see the module documentation).
    pub fn with_range(mut self, range: TimeRange) -> Summary {
        self.range = range;
        self.ranged = range::is_bounded(&range);
        self
    }

    /// Is a line at `t` in the range? Lines without a time that follow it go with it.
    fn keep(&mut self, t: LocalTime) -> bool {
        if let Some(p) = &mut self.part {
            p.start_unknown = false;
        }
        self.last_in = self.range.contains(t);
        self.last_in
    }

    /// With a range, notes the file of the next line: at the start of a file, a line
    /// without a time counts when the day the file is named for is in the range.
    fn enter(&mut self, ctx: &ParseCtx, path: &Path) {
        if self.ranged && path.as_os_str() != self.file.as_os_str() {
            self.file = path.to_path_buf();
            self.last_in = ctx
                .file_date
                .is_none_or(|d| range::holds_day(&self.range, d));
        }
    }

    /// A malformed or over-long line: counted when the line before it was.
    fn untimed(&mut self, kind: LogKind) {
        match &mut self.part {
            Some(p) if p.start_unknown => p.lead_malformed[kind.index()] += 1,
            _ if self.last_in => self.malformed[kind.index()] += 1,
            _ => {}
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

    /// Counts an SMTP line; `Ok(false)` when it is outside the range.
    fn smtp(&mut self, line: &[u8]) -> Result<bool, ParseError> {
        let ev = parse_smtp(line)?;
        let mut meaning = self.meaning.smtp(&ev);
        // A piece's part counts the legacy pair's second line as a refusal of its own, and
        // the merge takes it back when it pairs (see `parallel`).
        let legacy = self.part.is_some()
            && matches!(
                ev.status.status,
                Status::Known(StatusCode::DataFilter | StatusCode::RcptFilter)
            );
        if legacy {
            meaning.refused = ev.status.status.stage();
        }
        // The message ID is kept only for what follows a message through its lines.
        let transaction_end = matches!(
            ev.status.status,
            Status::Known(
                StatusCode::PredataFilter | StatusCode::PostdataFilter | StatusCode::DataFilter,
            )
        );
        let id = if meaning.recipient == Some(Recipient::Accepted)
            || meaning.received
            || transaction_end
        {
            printable(ev.message_id)
        } else {
            String::new()
        };
        // The message's accepted recipients, whether or not the line is in the range.
        let mut recipients = 0;
        let mut open = false;
        if meaning.recipient == Some(Recipient::Accepted) && !id.is_empty() {
            *self.pending_rcpts.entry(id.clone()).or_default() += 1;
        }
        if meaning.received {
            recipients = self.pending_rcpts.remove(&id).unwrap_or(0);
            if let Some(p) = &mut self.part {
                open = p.reset.insert(id.clone());
            }
        }
        // The transaction ended without a message.
        if transaction_end {
            self.pending_rcpts.remove(&id);
            if let Some(p) = &mut self.part {
                p.reset.insert(id.clone());
            }
        }
        let kept = self.keep(ev.time);
        if legacy && let Some(p) = &mut self.part {
            p.deferred.push(Deferred::Legacy {
                line: line.to_vec(),
                kept,
            });
        }
        if !kept {
            return Ok(false);
        }
        self.seen(ev.time);
        match meaning.recipient {
            Some(Recipient::Accepted) => self.recipients_accepted += 1,
            Some(Recipient::Refused) => self.recipients_refused += 1,
            None => {}
        }
        if meaning.received {
            self.received += 1;
            self.received_bytes += ev.size;
            self.by_source[ev.source().index()] += 1;
            self.traffic(ev.time, |t| t.received += 1);
            let sender = address(ev.sender);
            let s = match self.senders.get_mut(&sender) {
                Some(s) => s,
                None => self.senders.entry(sender.clone()).or_default(),
            };
            s.0 += 1;
            s.1 += ev.size;
            if self.would_keep(ev.size, ev.time) {
                self.keep_large(Received {
                    size: ev.size,
                    time: ev.time,
                    id,
                    sender,
                    recipient: address(ev.recipient),
                    recipients,
                    open,
                });
            }
            return Ok(true);
        }
        if let Some(stage) = meaning.refused {
            let (key, code) = match ev.status.status {
                Status::Known(code) => (code.as_str().to_string(), Some(code)),
                Status::Unknown(raw) => (printable(raw), None),
            };
            self.refused += 1;
            self.refused_by_stage[stage.index()] += 1;
            self.traffic(ev.time, |t| t.refused += 1);
            self.refusals.entry(key).or_insert((code, stage, 0)).2 += 1;
        }
        match ev.status.status {
            Status::Known(StatusCode::SenderIpDnsbl) => {
                let list = ev.status.dnsbl_list.map(printable).unwrap_or_default();
                *self.dnsbl.entry(list).or_default() += 1;
            }
            Status::Known(StatusCode::AuthFailed) => {
                let m = ev.status.auth_mechanism.unwrap_or(AuthMechanism::Other);
                self.auth[m.index()] += 1;
            }
            _ => {}
        }
        Ok(true)
    }

    /// Whether a message of `size` received at `time` would enter the largest-messages
    /// list ([`Summary::keep_large`]), before its row is made.
    fn would_keep(&self, size: u64, time: LocalTime) -> bool {
        self.top == 0 || self.largest.len() < self.top || self.rank(size, time) < self.top
    }

    /// Where a message of `size` received at `time` goes in the largest-messages list:
    /// larger first, the earlier first among equals.
    fn rank(&self, size: u64, time: LocalTime) -> usize {
        self.largest.partition_point(|x| {
            (x.size, std::cmp::Reverse(x.time)) >= (size, std::cmp::Reverse(time))
        })
    }

    fn keep_large(&mut self, r: Received) {
        let pos = self.rank(r.size, r.time);
        if self.top == 0 || pos < self.top {
            self.largest.insert(pos, r);
            if self.top > 0 {
                self.largest.truncate(self.top);
            }
        }
    }

    /// Counts an SMAIL record (the line `line`); `false` when it is outside the range.
    fn smail(&mut self, ev: &SmailEvent<'_>, line: &[u8]) -> bool {
        // A piece's part leaves the notices to the merge (see `parallel`).
        let defer = self.part.is_some() && ev.origin() == Origin::Bounce;
        let meaning = if defer {
            crate::meaning::SmailMeaning {
                delivered: crate::meaning::delivery_index(ev.delivery),
                notice: None,
            }
        } else {
            self.meaning.smail(ev, self.local.to_unix(ev.time))
        };
        let kept = self.keep(ev.time);
        if defer && let Some(p) = &mut self.part {
            p.deferred.push(Deferred::Notice {
                line: line.to_vec(),
                kept,
            });
        }
        if !kept {
            return false;
        }
        self.seen(ev.time);
        self.smail_types[ev.delivery.index()] += 1;
        if meaning.delivered.is_some() {
            self.delivered_by_origin[ev.origin().index()] += 1;
            self.traffic(ev.time, |t| t.delivered += 1);
            *self
                .recipient_domains
                .entry(domain_of(ev.recipient))
                .or_default() += 1;
        }
        self.notice(meaning.notice, ev);
        true
    }

    /// Counts the notice an SMAIL record of the range is, if any.
    fn notice(&mut self, notice: Option<Notice>, ev: &SmailEvent<'_>) {
        match notice {
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

    /// Counts a webmail error; `false` when it is outside the range.
    fn webmail(&mut self, ev: &WebmailEvent<'_>) -> bool {
        let t = match ev.time {
            Some(s) if s.utc => self.utc_to_local(s.time),
            Some(s) => Some(s.time),
            None => None,
        };
        let keep = match t {
            Some(t) => self.keep(t),
            None => self.last_in,
        };
        if !keep {
            return false;
        }
        if let Some(c) = self.webmail.get_mut(ev.category) {
            *c += 1;
        }
        if let Some(t) = t {
            self.seen(t);
        }
        true
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

    /// Counts a POP3 line; `Ok(false)` when it is outside the range.
    fn pop3(&mut self, line: &[u8]) -> Result<bool, ParseError> {
        let ev = parse_pop3(line)?;
        if !self.keep(ev.time) {
            return Ok(false);
        }
        self.seen(ev.time);
        self.pop3[ev.result.index()] += 1;
        Ok(true)
    }

    /// Counts a CTRL line; `Ok(false)` when it is outside the range.
    fn ctrl(&mut self, line: &[u8]) -> Result<bool, ParseError> {
        let ev = parse_ctrl(line)?;
        if !self.keep(ev.time) {
            return Ok(false);
        }
        self.seen(ev.time);
        if let Some(r) = ev.kind.result() {
            self.ctrl[r.index()] += 1;
        }
        Ok(true)
    }

    /// Counts a PSYNC line; `Ok(false)` when it is outside the range.
    fn psync(&mut self, line: &[u8]) -> Result<bool, ParseError> {
        let ev = parse_psync(line)?;
        if !self.keep(ev.time) {
            return Ok(false);
        }
        self.seen(ev.time);
        self.psync[ev.result.index()] += 1;
        self.psync_messages.synced += ev.msgs_synced;
        self.psync_messages.error += ev.msgs_err;
        self.psync_bytes.synced += ev.bytes_synced;
        self.psync_bytes.error += ev.bytes_err;
        Ok(true)
    }

    /// Counts a filters line; `Ok(false)` when it is outside the range.
    fn filter(&mut self, line: &[u8]) -> Result<bool, ParseError> {
        let ev = parse_filter(line)?;
        if !self.keep(ev.time) {
            return Ok(false);
        }
        self.seen(ev.time);
        self.filter_runs[ev.stage.index()][ev.outcome().index()] += 1;
        Ok(true)
    }

    /// Counts an LMAIL line; `Ok(false)` when it is outside the range.
    fn lmail(&mut self, line: &[u8]) -> Result<bool, ParseError> {
        let ev = parse_lmail(line)?;
        if !self.keep(ev.time) {
            return Ok(false);
        }
        self.seen(ev.time);
        self.lmail += 1;
        Ok(true)
    }

    /// Counts a FINGER line; `Ok(false)` when it is outside the range.
    fn finger(&mut self, line: &[u8]) -> Result<bool, ParseError> {
        let ev = parse_finger(line)?;
        if !self.keep(ev.time) {
            return Ok(false);
        }
        self.seen(ev.time);
        self.finger += 1;
        Ok(true)
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
                    None => crate::explain::words::words(lang)
                        .unknown_status
                        .to_string(),
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
        let runs = |stage: FilterStage| {
            let n = |o: FilterOutcome| self.filter_runs[stage.index()][o.index()];
            FilterOutcomes {
                passed: n(FilterOutcome::Passed),
                modified: n(FilterOutcome::Modified),
                rejected: n(FilterOutcome::Rejected),
                error: n(FilterOutcome::Error),
                skipped: n(FilterOutcome::Skipped),
            }
        };
        Report {
            period: Period {
                first: self.first.map(|t| t.to_string()),
                last: self.last.map(|t| t.to_string()),
                timezone: self.tz.iana_name().map(str::to_string),
                range: self.ranged.then(|| RangeBounds {
                    since: self.range.since.map(|t| t.to_string()),
                    until: self.range.until.map(|t| t.to_string()),
                }),
            },
            lines: Lines {
                smtp: lines(LogKind::Smtp),
                smail: lines(LogKind::Smail),
                pop3: lines(LogKind::Pop3),
                webmail: lines(LogKind::Webmail),
                ctrl: lines(LogKind::Ctrl),
                psync: lines(LogKind::Psync),
                filters: lines(LogKind::Filters),
                lmail: lines(LogKind::Lmail),
                finger: lines(LogKind::Finger),
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
            ctrl_logins: CtrlLogins {
                ok: self.ctrl[LoginResult::Ok.index()],
                failed: self.ctrl[LoginResult::Failed.index()],
            },
            pop3_sync: Pop3Sync {
                syncs: SyncRuns {
                    ok: self.psync[SyncResult::Ok.index()],
                    failed: self.psync[SyncResult::Failed.index()],
                    no_user: self.psync[SyncResult::NoUser.index()],
                },
                messages: self.psync_messages,
                bytes: self.psync_bytes,
            },
            filter_runs: FilterRuns {
                inbound: runs(FilterStage::In),
                outbound: runs(FilterStage::Out),
                post_rcpt: runs(FilterStage::PostRcpt),
                pre_data: runs(FilterStage::PreData),
                post_data: runs(FilterStage::PostData),
            },
            lmail_messages: self.lmail,
            finger_queries: self.finger,
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
    fn line(&mut self, ctx: &mut ParseCtx, path: &Path, line: &[u8]) {
        let kind = ctx.kind;
        self.enter(ctx, path);
        // `Ok(false)`: outside the range.
        let result = match kind {
            LogKind::Smtp => self.smtp(line),
            // `None`: the rest of a remote reply that spans lines, part of the record before.
            LogKind::Smail => match ctx.smail(line) {
                None => return,
                Some(parsed) => parsed.map(|ev| self.smail(&ev, line)),
            },
            // `None`: a line of a PHP stack trace, part of the error before.
            LogKind::Webmail => match ctx.webmail(line, &self.classifier) {
                None => Ok(self.last_in),
                Some(Err(ParseError::Empty)) => return,
                Some(parsed) => parsed.map(|ev| self.webmail(&ev)),
            },
            LogKind::Pop3 => self.pop3(line),
            LogKind::Ctrl => self.ctrl(line),
            LogKind::Psync => self.psync(line),
            LogKind::Filters => self.filter(line),
            LogKind::Lmail => self.lmail(line),
            LogKind::Finger => self.finger(line),
        };
        match result {
            Ok(true) => self.parsed[kind.index()] += 1,
            Ok(false) => {}
            Err(_) => self.untimed(kind),
        }
    }

    fn line_too_long(&mut self, ctx: &mut ParseCtx, path: &Path, _len: u64) {
        ctx.smail_continues = false;
        self.enter(ctx, path);
        self.untimed(ctx.kind);
    }

    fn consumed(&mut self, _kind: LogKind, _bytes: u64) {}

    fn file_opened(&mut self, _kind: LogKind, _path: &Path, _rotation: bool) {}

    fn truncated(&mut self, _kind: LogKind, _path: &Path) {}

    fn read_error(&mut self, _kind: LogKind, _path: &Path, _err: &io::Error) {
        self.read_errors += 1;
    }

    fn lag(&mut self, _kind: LogKind, _bytes: u64) {}
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

    fn ranged(since: &str, until: &str) -> Summary {
        Summary::new(
            Arc::new(Classifier::default()),
            TimeZone::get("Asia/Seoul").unwrap(),
            10,
        )
        .with_range(range::parse_range(Some(since), Some(until)).unwrap())
    }

    /// Feeds `lines` as the content of the file `name`.
    fn feed(s: &mut Summary, kind: LogKind, name: &str, lines: &[&str]) {
        let mut ctx = ParseCtx::for_file(kind, name);
        for l in lines {
            s.line(&mut ctx, Path::new(name), l.as_bytes());
        }
    }

    #[test]
    fn a_range_counts_only_its_lines() {
        let mut s = ranged("2026-11-27 10:00", "2026-11-27 10:59");
        #[rustfmt::skip]
        let smtp_lines = [
            smtp("2026-11-27 09:59:59", "S1", "RCPT=OK", "a@x.example", "b@y.example", 0),
            smtp("2026-11-27 10:00:00", "S1", "RCPT=OK", "a@x.example", "c@y.example", 0),
            smtp("2026-11-27 10:00:01", "S1", "RECV=OK", "a@x.example", "c@y.example", 700),
            "garbage after a line of the range".to_string(),
            smtp("2026-11-27 10:59:59", "", "RCPT=EAVAIL", "a@x.example", "d@y.example", 0),
            smtp("2026-11-27 11:00:00", "S2", "RECV=OK", "a@x.example", "c@y.example", 9),
            "garbage after a line outside the range".to_string(),
        ];
        let refs: Vec<&str> = smtp_lines.iter().map(String::as_str).collect();
        feed(&mut s, LogKind::Smtp, "smtp-202611270000", &refs);
        // The bounce began before the range: not one of its bounces.
        #[rustfmt::skip]
        let smail_lines = [
            smail("2026-11-27 09:00:00", "X1", "", "a@x.example", "SMTP"),
            smail("2026-11-27 10:30:00", "X1", "", "a@x.example", "LOCAL"),
            smail("2026-11-27 10:30:00", "X2", "", "a@x.example", "LOCAL"),
        ];
        let refs: Vec<&str> = smail_lines.iter().map(String::as_str).collect();
        feed(&mut s, LogKind::Smail, "smail-202611270000", &refs);
        let r = s.report(10, Lang::En);
        assert_eq!(r.totals.received, 1);
        assert_eq!(r.totals.received_bytes, 700);
        assert_eq!(r.totals.recipients_accepted, 1);
        assert_eq!(r.totals.recipients_refused, 1);
        // Both RCPT=OK lines are the message's, the one before the range too.
        assert_eq!(r.largest_messages[0].recipients, 2);
        assert_eq!(r.totals.delivered, 2);
        assert_eq!(r.totals.bounced, 1);
        assert_eq!(r.lines.smtp.parsed, 3);
        assert_eq!(r.lines.smtp.malformed, 1);
        assert_eq!(r.lines.smail.parsed, 2);
        assert_eq!(r.period.first.as_deref(), Some("2026-11-27 10:00:00"));
        assert_eq!(r.period.last.as_deref(), Some("2026-11-27 10:59:59"));
        let range = r.period.range.unwrap();
        assert_eq!(range.since.as_deref(), Some("2026-11-27 10:00:00"));
        assert_eq!(range.until.as_deref(), Some("2026-11-27 10:59:59"));
        // Without a range, no `range` in the JSON.
        let json = serde_json::to_value(summary(&[]).report(10, Lang::En)).unwrap();
        assert!(json["period"].get("range").is_none());
    }

    #[test]
    fn lines_without_a_time_go_with_the_line_before() {
        let mut s = ranged("2026-11-27 10:00", "2026-11-27 10:59");
        feed(
            &mut s,
            LogKind::Webmail,
            "error-20261127.txt",
            &[
                // The start of a file of a day of the range: counted.
                "no time stamp at the start",
                "[2026-11-27 09:00:00] PHP Fatal error:  Uncaught Exception: x in /a.php:3",
                "Stack trace:",
                "#0 {main}",
                "no time stamp after a line before the range",
                // 10:45 in Seoul.
                "[27-Nov-2026 01:45:30 UTC] PHP Fatal error:  Uncaught Exception: y in /a.php:3",
                "Stack trace:",
                "#0 {main}",
                "no time stamp after a line of the range",
                "[2026-11-27 11:00:00] PHP Warning: z",
                "  indented, after a line after the range",
            ],
        );
        // A file named for a day outside the range.
        feed(
            &mut s,
            LogKind::Webmail,
            "error-20261126.txt",
            &[
                "no time stamp at the start",
                "[2026-11-27 10:10:00] PHP Warning: late",
            ],
        );
        let r = s.report(10, Lang::En);
        assert_eq!(r.totals.webmail_errors, 4);
        // The errors and the two lines of the trace of the one in the range.
        assert_eq!(r.lines.webmail.parsed, 6);
        assert_eq!(r.period.first.as_deref(), Some("2026-11-27 10:10:00"));
        assert_eq!(r.period.last.as_deref(), Some("2026-11-27 10:45:30"));
    }

    #[test]
    fn the_other_logs_count_in_their_range() {
        let mut s = ranged("2026-11-27 10:00", "2026-11-27 10:59");
        feed(
            &mut s,
            LogKind::Ctrl,
            "ctrl-202611270000",
            &[
                "\"192.0.2.1\"\t\"admin\"\t\"x\"\t\"2026-11-27 09:59:59\"\t\"FAIL\"",
                "\"192.0.2.1\"\t\"admin\"\t\"x\"\t\"2026-11-27 10:00:00\"\t\"REQ\"",
                "\"192.0.2.1\"\t\"admin\"\t\"x\"\t\"2026-11-27 10:00:00\"\t\"AUTH\"",
                "garbage after a line of the range",
                "\"192.0.2.1\"\t\"admin\"\t\"x\"\t\"2026-11-27 11:00:00\"\t\"FAIL\"",
                "garbage after a line outside the range",
            ],
        );
        feed(
            &mut s,
            LogKind::Filters,
            "filters-202611270000",
            &[
                "\"a@x\"\t\"b@y\"\t\"192.0.2.1\"\t\"192.0.2.2\"\t\"2026-11-27 10:30:00\"\t\"in\"\t\"\"\t\"0\"\t\"7\"\t\"f.sh;\"",
                "\"a@x\"\t\"b@y\"\t\"192.0.2.1\"\t\"192.0.2.2\"\t\"2026-11-27 11:30:00\"\t\"in\"\t\"\"\t\"0\"\t\"0\"\t\"f.sh;\"",
            ],
        );
        feed(
            &mut s,
            LogKind::Lmail,
            "lmail-202611270000",
            &[
                "\"x\"\t\"1.2.mail\"\t\"L1\"\t\"2026-11-27 10:59:59\"",
                "\"x\"\t\"1.3.mail\"\t\"L2\"\t\"2026-11-27 11:00:00\"",
            ],
        );
        let r = s.report(10, Lang::En);
        assert_eq!((r.ctrl_logins.ok, r.ctrl_logins.failed), (1, 0));
        assert_eq!(r.lines.ctrl.parsed, 2);
        assert_eq!(r.lines.ctrl.malformed, 1);
        assert_eq!(r.filter_runs.inbound.modified, 1);
        assert_eq!(r.filter_runs.inbound.total(), 1);
        assert_eq!(r.lines.filters.parsed, 1);
        assert_eq!(r.lmail_messages, 1);
        assert_eq!(r.lines.psync.parsed + r.lines.finger.parsed, 0);
        assert_eq!(r.period.first.as_deref(), Some("2026-11-27 10:00:00"));
        assert_eq!(r.period.last.as_deref(), Some("2026-11-27 10:59:59"));
        // Only the logs with lines get a text section.
        let text = render_text(&r, Lang::En);
        assert!(
            text.contains("\nCTRL logins (remote administration)\n"),
            "{text}"
        );
        assert!(text.contains("\nLMAIL (local mail drop)\n"), "{text}");
        assert!(!text.contains("POP3 sync"), "{text}");
        assert!(!text.contains("FINGER"), "{text}");
        assert!(
            text.contains(", ctrl 2, filters 1, lmail 1; malformed 1\n"),
            "{text}"
        );
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
