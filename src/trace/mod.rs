//! The story of a message: every SMTP and SMAIL line of the messages a query names, each with
//! its sentence, and what is missing (an accepted recipient without a delivery line, and the
//! bounce that says why). The `trace` command prints it; anything else that answers "what
//! happened to this mail?" calls the same [`trace`] with plain inputs and gets [`Message`]s,
//! or [`trace_bounded`] with [`Limits`] when it serves requests (a web console).
//!
//! A query ([`Query`]) is a message ID (`S293D9`), an address (every message it sent or
//! received, and the refusals that name it) or a spool file name. The files ([`log_files`])
//! are the `smtp-*` and `smail-*` files of a directory whose names can hold lines of the
//! [`TimeRange`], in name order, so a message is followed across day files. They are read as
//! streams, through the same [`crate::read::Sink`] interface as the metrics and `report`: a
//! first pass finds the message IDs an address or a spool file names (an ID query needs
//! none), a second collects their lines and every bounce XMail sent.
//!
//! Most lines are of other messages. Before a line is parsed, the pre-filter (the private
//! `prefilter` module) looks for the bytes it must hold to matter to the pass (the ID, the
//! address in any case, the spool file name, an `X…` ID) and passes over the others; the
//! answer is the same as with every line parsed, only sooner. A pass that no line of a kind
//! can matter to (SMTP lines, for a spool file name's first pass) does not read those files.
//! [`Limits`] bound one search: the bytes read over both passes (reading stops where they run
//! out) and the messages returned (the earliest are kept); [`Traced::truncated`] says when
//! either cut the answer short.
//!
//! Owned here: the query, the choice of files, the pre-filter, the limits, the grouping of
//! lines into messages (XMail reuses IDs: lines of one ID days apart are different messages)
//! and the notes. Parsing is [`crate::parse`]'s (with the fields the pre-filter finds without
//! parsing, and passing over an SMAIL line without losing a record that runs on), what a
//! delivery type means is [`crate::meaning`]'s, the sentences are [`crate::explain`]'s,
//! reading a file, whole or up to a budget, is [`crate::read::once`]'s. How a caller shows
//! the answer, and which limits a request gets, is the caller's.

mod prefilter;
mod query;

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::Path;

use anyhow::Context;
use jiff::SignedDuration;
use serde::Serialize;

use crate::explain::{self, Lang, lossy};
use crate::meaning::{SAME_ID_WINDOW_SECS, handles_recipient};
use crate::parse::filters::{FilterOutcome, FilterStage, parse_filter};
use crate::parse::smail::DeliveryType;
use crate::parse::smtp::parse_smtp;
use crate::parse::status::{Status, StatusCode};
use crate::parse::time::LocalTime;
use crate::parse::{LogKind, ParseCtx};
use crate::read::EachLine;
pub use crate::read::discover::LogFile;
use crate::read::discover::{self, KindSet};
pub use crate::read::range::{TimeRange, parse_bound};
use prefilter::Prefilter;
pub use query::Query;

/// The `smtp-*` and `smail-*` files of `dir` that can hold lines of `range`, in the order
/// to read them: by the time in their names, a period's SMTP file before its SMAIL file.
pub fn log_files(dir: &Path, range: &TimeRange) -> io::Result<Vec<LogFile>> {
    let mut files: Vec<LogFile> = discover::scan(dir, KindSet::MESSAGES.union(KindSet::FILTERS))?
        .into_iter()
        .filter(|f| {
            ParseCtx::for_file(f.kind, &f.name)
                .file_date
                .is_none_or(|d| range.may_hold(d))
        })
        .map(|f| LogFile {
            path: dir.join(&f.name),
            kind: f.kind,
            name: f.name,
        })
        .collect();
    files.sort_by(|a, b| file_key(&a.name).cmp(&file_key(&b.name)));
    Ok(files)
}

fn file_key(name: &str) -> (&str, u8) {
    let (prefix, date) = name.split_once('-').unwrap_or((name, ""));
    (date, if prefix == "smtp" { 0 } else { 1 })
}

/// One line of a traced message.
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    /// `YYYY-MM-DD HH:MM:SS`, local time as written.
    pub time: String,
    /// `smtp` or `smail`.
    pub log: &'static str,
    /// The log file it came from.
    pub file: String,
    /// The status (SMTP) or delivery type (SMAIL).
    pub event: String,
    /// The sender as written (empty for the null sender).
    pub sender: String,
    /// The recipient as written.
    pub recipient: String,
    /// SMTP: the peer IP; SMAIL: the type's parameter (mailbox, host, program, target).
    pub detail: String,
    /// SMTP `RECV=OK`: bytes received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The sentence.
    pub text: String,
    /// Time, SMTP before SMAIL, then reading order.
    #[serde(skip)]
    order: (LocalTime, u8, usize),
}

/// A message and its story.
#[derive(Debug, Default, Serialize)]
pub struct Message {
    /// Empty for lines that carry no message ID (refusals before MAIL FROM completed).
    pub message_id: String,
    /// Its lines in time order.
    pub lines: Vec<Entry>,
    /// What is missing (accepted recipients without a delivery line, ...), as sentences.
    pub notes: Vec<String>,
}

/// A bounce XMail generated: an `X…` message to a sender.
#[derive(Debug, Clone)]
struct Bounce {
    id: String,
    to: String,
    time: LocalTime,
}

fn lower(b: &[u8]) -> String {
    lossy(b).to_ascii_lowercase()
}

/// Bounds on one search (a web request): bytes read across both passes, and messages returned.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Bytes of log read, both passes together; when reached, reading stops.
    pub max_bytes: u64,
    /// Messages returned: the first ones in time order.
    pub max_messages: usize,
}

impl Limits {
    /// No bound.
    pub const NONE: Limits = Limits {
        max_bytes: u64::MAX,
        max_messages: usize::MAX,
    };
}

/// What a bounded search found.
#[derive(Debug)]
pub struct Traced {
    /// The messages, as [`trace`] returns them, at most [`Limits::max_messages`].
    pub messages: Vec<Message>,
    /// true when a limit cut the search short
    pub truncated: bool,
    /// Bytes of log read, both passes together.
    pub bytes_read: u64,
}

/// The messages `query` names in `files` (from [`log_files`]), lines in `range` only, the
/// sentences and notes in `lang`; in the order of their first line. An error names the file
/// that could not be read. [`trace_bounded`] without bounds.
pub fn trace(
    files: &[LogFile],
    query: &Query,
    range: &TimeRange,
    lang: Lang,
) -> anyhow::Result<Vec<Message>> {
    Ok(trace_bounded(files, range, query, lang, Limits::NONE)?.messages)
}

/// [`trace`] within `limits`. Files are read oldest first, so when the byte budget runs out
/// the messages found are those of the older lines read so far (and none at all if it runs
/// out in the first pass of an address or spool file query, which finds the IDs); when more
/// messages match than `limits.max_messages`, the earliest are kept. Either way `truncated`
/// says so.
pub fn trace_bounded(
    files: &[LogFile],
    range: &TimeRange,
    query: &Query,
    lang: Lang,
    limits: Limits,
) -> anyhow::Result<Traced> {
    let mut budget = Budget {
        left: limits.max_bytes,
        read: 0,
        cut: false,
    };
    let (ids, capped) = match query {
        Query::Id(id) => (BTreeSet::from([id.clone()]), false),
        _ => {
            let mut finder = FindIds {
                query,
                range,
                ids: BTreeSet::new(),
                cap: limits.max_messages,
                capped: false,
            };
            let filter = Prefilter::find_ids(query);
            read_all(files, &filter, &mut budget, |ctx, path, line| {
                finder.line(ctx, path, line)
            })?;
            (finder.ids, finder.capped)
        }
    };
    let mut collect = Collect {
        query,
        range,
        lang,
        ids: &ids,
        messages: BTreeMap::new(),
        bounces: Vec::new(),
        seq: 0,
        senders: BTreeSet::new(),
        filter_runs: Vec::new(),
    };
    if !budget.cut {
        let filter = Prefilter::collect(query, &ids);
        read_all(files, &filter, &mut budget, |ctx, path, line| {
            collect.line(ctx, path, line)
        })?;
    }
    let bounces = collect.bounces;
    let filter_runs = collect.filter_runs;
    let mut messages: Vec<Message> = collect
        .messages
        .into_values()
        .flatten()
        .filter(|m| !m.lines.is_empty())
        // An ID can be reused years later: an address query keeps only the messages that
        // involve the address, not every message that once had one of its IDs.
        .filter(|m| match query {
            Query::Address(_) => m.lines.iter().any(|e| involves(e, query)),
            _ => true,
        })
        .collect();
    for m in &mut messages {
        join_filter_runs(m, &filter_runs, lang);
        m.lines.sort_by_key(|e| e.order);
    }
    messages.sort_by(|a, b| a.lines[0].order.cmp(&b.lines[0].order));
    let too_many = messages.len() > limits.max_messages;
    messages.truncate(limits.max_messages);
    for m in &mut messages {
        annotate(m, &bounces, lang);
    }
    Ok(Traced {
        messages,
        truncated: budget.cut || too_many || capped,
        bytes_read: budget.read,
    })
}

fn involves(e: &Entry, query: &Query) -> bool {
    query.is_address(e.sender.as_bytes())
        || query.is_address(e.recipient.as_bytes())
        || (e.log == "smail" && query.is_address(e.detail.as_bytes()))
}

/// The bytes a search may still read.
struct Budget {
    left: u64,
    read: u64,
    /// Reading stopped before the end of a file.
    cut: bool,
}

/// One pass: the files `filter` can want, in order, each line it wants handed to `line`,
/// until the budget runs out.
fn read_all(
    files: &[LogFile],
    filter: &Prefilter<'_>,
    budget: &mut Budget,
    mut line: impl FnMut(&mut ParseCtx, &Path, &[u8]),
) -> anyhow::Result<()> {
    let mut sink = EachLine(|ctx: &mut ParseCtx, path: &Path, l: &[u8]| {
        if filter.wants(ctx, l) {
            line(ctx, path, l);
        }
    });
    for f in files.iter().filter(|f| filter.reads(f.kind)) {
        let r = crate::read::once::read_at_most(&f.path, f.kind, &f.name, &mut sink, budget.left)
            .with_context(|| format!("cannot read {}", f.path.display()))?;
        budget.read += r.bytes;
        budget.left -= r.bytes;
        if r.cut {
            budget.cut = true;
            break;
        }
    }
    Ok(())
}

/// Pass 1: the message IDs an address or a spool file names.
struct FindIds<'a> {
    query: &'a Query,
    range: &'a TimeRange,
    ids: BTreeSet<String>,
    /// At most this many IDs plus one are kept (the one says there were more), the first
    /// found, so a search for an address of thousands of messages holds no more than a
    /// page's worth in memory.
    cap: usize,
    /// More IDs were found than kept.
    capped: bool,
}

impl FindIds<'_> {
    fn keep(&mut self, id: &[u8]) {
        let id = lossy(id);
        if self.ids.len() <= self.cap || self.ids.contains(&id) {
            self.ids.insert(id);
        } else {
            self.capped = true;
        }
    }

    fn line(&mut self, ctx: &mut ParseCtx, _path: &Path, line: &[u8]) {
        match ctx.kind {
            LogKind::Smtp => {
                if let Ok(ev) = parse_smtp(line)
                    && !ev.message_id.is_empty()
                    && self.range.contains(ev.time)
                    && (self.query.is_address(ev.sender) || self.query.is_address(ev.recipient))
                {
                    self.keep(ev.message_id);
                }
            }
            LogKind::Smail => {
                if let Some(Ok(ev)) = ctx.smail(line)
                    && self.range.contains(ev.time)
                {
                    let hit = match self.query {
                        Query::Address(_) => {
                            self.query.is_address(ev.sender)
                                || self.query.is_address(ev.recipient)
                                || self.query.is_address(ev.param)
                        }
                        Query::Spool(sp) => ev.spool_file == sp.as_bytes(),
                        Query::Id(_) => false,
                    };
                    if hit {
                        self.keep(ev.message_id);
                    }
                }
            }
            // The other logs carry no message lines.
            _ => {}
        }
    }
}

/// Pass 2: every line of those messages, the ID-less lines that name the address, and
/// every bounce.
struct Collect<'a> {
    query: &'a Query,
    range: &'a TimeRange,
    lang: Lang,
    ids: &'a BTreeSet<String>,
    messages: BTreeMap<String, Vec<Message>>,
    bounces: Vec<Bounce>,
    seq: usize,
    /// The senders of the messages collected so far, lower-cased: a filter run of another
    /// sender cannot belong to them.
    senders: BTreeSet<String>,
    /// Filter runs that may belong to the messages (joined after the pass, see
    /// [`join_filter_runs`]); at most [`MAX_FILTER_RUNS`].
    filter_runs: Vec<FilterRun>,
}

/// At most this many filter runs are kept for joining.
const MAX_FILTER_RUNS: usize = 10_000;

/// A filter run that may belong to a traced message: the filters log has no message ID.
struct FilterRun {
    time: LocalTime,
    file: String,
    sender: String,
    recipient: String,
    stage: FilterStage,
    outcome: FilterOutcome,
    exec_result: i32,
    exit_code: i32,
    seq: usize,
}

/// A filter run belongs to a message when it names the message's sender and one of its
/// recipients (or `*`, XMail's word for several), within this distance of the message's
/// lines.
const FILTER_WINDOW: SignedDuration = SignedDuration::from_secs(300);

/// Adds to `m` the filter runs that match it by sender, recipient and time (see
/// [`FILTER_WINDOW`]), each with its sentence, which says how it was matched.
fn join_filter_runs(m: &mut Message, runs: &[FilterRun], lang: Lang) {
    if runs.is_empty() || !m.message_id.starts_with('S') {
        return;
    }
    let smtp = || m.lines.iter().filter(|e| e.log == "smtp");
    let Some(sender) = smtp()
        .find(|e| !e.sender.is_empty())
        .map(|e| e.sender.to_ascii_lowercase())
    else {
        return;
    };
    let recipients: BTreeSet<String> = smtp()
        .filter(|e| !e.recipient.is_empty())
        .map(|e| e.recipient.to_ascii_lowercase())
        .collect();
    let (Some(first), Some(last)) = (
        m.lines.iter().map(|e| e.order.0).min(),
        m.lines.iter().map(|e| e.order.0).max(),
    ) else {
        return;
    };
    let near = |t: LocalTime| {
        (t >= first && t <= last)
            || distance(t, first) <= FILTER_WINDOW
            || distance(t, last) <= FILTER_WINDOW
    };
    let mut added = Vec::new();
    for r in runs {
        if r.sender == sender
            && (r.recipient == "*" || recipients.contains(&r.recipient))
            && near(r.time)
        {
            added.push(Entry {
                time: r.time.to_string(),
                log: "filters",
                file: r.file.clone(),
                event: r.stage.as_str().to_string(),
                sender: r.sender.clone(),
                recipient: r.recipient.clone(),
                detail: format!("exit {}", r.exit_code),
                size: None,
                text: explain::filter_run(r.stage, r.outcome, r.exec_result, r.exit_code, lang),
                order: (r.time, 2, r.seq),
            });
        }
    }
    m.lines.extend(added);
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl Collect<'_> {
    fn line(&mut self, ctx: &mut ParseCtx, path: &Path, line: &[u8]) {
        self.seq += 1;
        let seq = self.seq;
        match ctx.kind {
            LogKind::Smtp => {
                let Ok(ev) = parse_smtp(line) else { return };
                if !self.range.contains(ev.time) {
                    return;
                }
                let wanted = if ev.message_id.is_empty() {
                    self.query.is_address(ev.sender) || self.query.is_address(ev.recipient)
                } else {
                    self.ids.contains(&*String::from_utf8_lossy(ev.message_id))
                };
                if !wanted {
                    return;
                }
                let event = match ev.status.status {
                    Status::Known(c) => c.as_str().to_string(),
                    Status::Unknown(u) => lossy(u),
                };
                let entry = Entry {
                    time: ev.time.to_string(),
                    log: "smtp",
                    file: file_name(path),
                    event,
                    sender: lossy(ev.sender),
                    recipient: lossy(ev.recipient),
                    detail: lossy(ev.peer_ip),
                    size: (ev.status.status == Status::Known(StatusCode::RecvOk))
                        .then_some(ev.size),
                    text: explain::smtp(&ev, self.lang),
                    order: (ev.time, 0, seq),
                };
                if !ev.message_id.is_empty() && !ev.sender.is_empty() {
                    self.senders.insert(lower(ev.sender));
                }
                message_for(&mut self.messages, lossy(ev.message_id), ev.time)
                    .lines
                    .push(entry);
            }
            LogKind::Smail => {
                let Some(Ok(ev)) = ctx.smail(line) else {
                    return;
                };
                if !self.range.contains(ev.time) {
                    return;
                }
                let id = lossy(ev.message_id);
                let postmaster =
                    ev.sender.is_empty() || lower(ev.sender).starts_with("postmaster@");
                if id.starts_with('X') && postmaster {
                    self.bounces.push(Bounce {
                        id: id.clone(),
                        to: lower(ev.recipient),
                        time: ev.time,
                    });
                }
                if !self.ids.contains(&id) {
                    return;
                }
                let entry = Entry {
                    time: ev.time.to_string(),
                    log: "smail",
                    file: file_name(path),
                    event: lossy(ev.delivery_raw),
                    sender: lossy(ev.sender),
                    recipient: lossy(ev.recipient),
                    detail: lossy(ev.param),
                    size: None,
                    text: explain::smail(&ev, self.lang),
                    order: (ev.time, 1, seq),
                };
                message_for(&mut self.messages, id, ev.time)
                    .lines
                    .push(entry);
            }
            LogKind::Filters => {
                let Ok(ev) = parse_filter(line) else { return };
                if !self.range.contains(ev.time) || self.filter_runs.len() >= MAX_FILTER_RUNS {
                    return;
                }
                let sender = lower(ev.sender);
                if !self.senders.contains(&sender) {
                    return;
                }
                self.filter_runs.push(FilterRun {
                    time: ev.time,
                    file: file_name(path),
                    sender,
                    recipient: lower(ev.recipient),
                    stage: ev.stage,
                    outcome: ev.outcome(),
                    exec_result: ev.exec_result,
                    exit_code: ev.exit_code,
                    seq,
                });
            }
            // The other logs carry no message lines.
            _ => {}
        }
    }
}

/// Lines of one ID further apart than this belong to different messages.
const SAME_MESSAGE_WINDOW: SignedDuration = SignedDuration::from_secs(SAME_ID_WINDOW_SECS);

/// The distance between two wall-clock times, ignoring zones; impossible dates are far.
fn distance(a: LocalTime, b: LocalTime) -> SignedDuration {
    match (a.civil(), b.civil()) {
        (Some(a), Some(b)) => a.duration_since(b).abs(),
        _ => SignedDuration::MAX,
    }
}

/// The message `id` a line at `time` belongs to: the latest one with that ID, unless the
/// line is too far from it in time.
fn message_for(
    messages: &mut BTreeMap<String, Vec<Message>>,
    id: String,
    time: LocalTime,
) -> &mut Message {
    let list = messages.entry(id.clone()).or_default();
    let fits = list.last().is_some_and(|m| {
        m.lines
            .last()
            .is_some_and(|e| distance(e.order.0, time) <= SAME_MESSAGE_WINDOW)
    });
    if !fits {
        list.push(Message {
            message_id: id,
            ..Message::default()
        });
    }
    let last = list.len() - 1;
    &mut list[last]
}

/// Adds the notes: accepted recipients without a delivery line (and the bounce that says
/// why), or a transaction that never ended in `RECV=OK`.
fn annotate(m: &mut Message, bounces: &[Bounce], lang: Lang) {
    if m.message_id.is_empty() || !m.message_id.starts_with('S') {
        return;
    }
    let smtp: Vec<&Entry> = m.lines.iter().filter(|e| e.log == "smtp").collect();
    if smtp.is_empty() {
        return;
    }
    let received = smtp.iter().find(|e| e.event == StatusCode::RecvOk.as_str());
    let accepted: BTreeSet<String> = smtp
        .iter()
        .filter(|e| e.event == StatusCode::RcptOk.as_str() && !e.recipient.is_empty())
        .map(|e| e.recipient.to_ascii_lowercase())
        .collect();
    let Some(recv) = received else {
        if !accepted.is_empty() {
            m.notes.push(explain::not_received(lang).to_string());
        }
        return;
    };
    let delivered: BTreeSet<String> = m
        .lines
        .iter()
        .filter(|e| {
            e.log == "smail"
                && DeliveryType::ALL
                    .iter()
                    .any(|&t| t.as_str() == e.event && handles_recipient(t))
        })
        .map(|e| e.recipient.to_ascii_lowercase())
        .collect();
    let sender = recv.sender.to_ascii_lowercase();
    let recv_time = recv.order.0;
    for rcpt in accepted.difference(&delivered) {
        let bounce = bounces
            .iter()
            .find(|b| b.to == sender && b.time >= recv_time);
        m.notes.push(explain::missing_delivery(
            rcpt,
            bounce.map(|b| (b.id.as_str(), b.to.as_str(), b.time)),
            lang,
        ));
    }
}

/// The messages as text: one block per message, one line per log line with its sentence,
/// then the notes.
pub fn write_text(out: &mut impl io::Write, messages: &[Message], lang: Lang) -> io::Result<()> {
    for (i, m) in messages.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let title = if m.message_id.is_empty() {
            explain::no_message_id(lang)
        } else {
            &m.message_id
        };
        writeln!(out, "{title}")?;
        // `smtp` and `smail` fit in 5 columns; a message with filter runs widens the column.
        let width = m
            .lines
            .iter()
            .map(|e| e.log.len())
            .max()
            .unwrap_or(0)
            .max(5);
        for e in &m.lines {
            writeln!(
                out,
                "  {}  {:<width$}  {:<17}  {}",
                e.time, e.log, e.event, e.text
            )?;
        }
        for n in &m.notes {
            writeln!(out, "  ! {n}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries() {
        assert_eq!(Query::parse("S293D9"), Query::Id("S293D9".into()));
        assert_eq!(Query::parse("x293e4"), Query::Id("X293E4".into()));
        assert_eq!(
            Query::parse("Kim@Example.co.kr"),
            Query::Address("kim@example.co.kr".into())
        );
        assert_eq!(
            Query::parse("1795705273412.7f3a9c1fb700.1f4c.3a10.mail"),
            Query::Spool("1795705273412.7f3a9c1fb700.1f4c.3a10.mail".into())
        );
        assert_eq!(Query::parse("Sales"), Query::Spool("Sales".into()));
    }

    #[test]
    fn bounds() {
        assert_eq!(
            parse_bound("2026-11-27", false).unwrap().to_string(),
            "2026-11-27 00:00:00"
        );
        assert_eq!(
            parse_bound("2026-11-27", true).unwrap().to_string(),
            "2026-11-27 23:59:59"
        );
        assert_eq!(
            parse_bound("2026-11-27 10:20", true).unwrap().to_string(),
            "2026-11-27 10:20:59"
        );
        assert!(parse_bound("yesterday", false).is_err());
    }

    #[test]
    fn files_that_can_hold_the_range() {
        let r = TimeRange::parse(Some("2026-11-27 10:00"), Some("2026-11-28")).unwrap();
        let day = |d: &str| parse_bound(d, false).unwrap();
        // The day before `since` runs into it; two days before cannot.
        assert!(r.may_hold(day("2026-11-26")));
        assert!(!r.may_hold(day("2026-11-25")));
        assert!(r.may_hold(day("2026-11-27")));
        assert!(r.may_hold(day("2026-11-28")));
        assert!(!r.may_hold(day("2026-11-29")));
        // Across a month end.
        let r = TimeRange::parse(Some("2026-12-01"), None).unwrap();
        assert!(r.may_hold(day("2026-11-30")));
        assert!(!r.may_hold(day("2026-11-29")));
    }

    #[test]
    fn distances_ignore_zones_and_impossible_dates_are_far() {
        let t = |s: &str| LocalTime::parse_xmail(s.as_bytes()).unwrap();
        assert_eq!(
            distance(t("2026-11-27 10:00:00"), t("2026-11-30 10:00:00")),
            SAME_MESSAGE_WINDOW
        );
        assert_eq!(
            distance(t("2026-02-28 23:59:59"), t("2026-03-01 00:00:00")),
            SignedDuration::from_secs(1)
        );
        assert_eq!(
            distance(t("2026-02-30 00:00:00"), t("2026-03-01 00:00:00")),
            SignedDuration::MAX
        );
    }
}
