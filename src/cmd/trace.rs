//! `xmail_exporter trace QUERY`: follow messages through the SMTP and SMAIL logs and say, line
//! by line, what happened to them.
//!
//! QUERY is a message ID (`S293D9`), an address (every message it sent or received, and the
//! refusals that name it), or a spool file name. All `smtp-*` and `smail-*` files of the
//! directory are read in name order, so a message is followed across day files. Two passes:
//! the first finds the message IDs that match, the second collects every line of those
//! messages and the bounces (`X…` IDs) XMail sent for them.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;

use crate::cli::{TraceArgs, TraceFormat};
use crate::explain::{self, Lang};
use crate::meaning::handles_recipient;
use crate::parse::smail::{DeliveryType, parse_smail};
use crate::parse::smtp::parse_smtp;
use crate::parse::status::{Status, StatusCode};
use crate::parse::time::LocalTime;
use crate::parse::{LogKind, fields};
use crate::tail::discover::{self, KindSet};

/// What the user asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Query {
    /// A message ID, upper-cased.
    Id(String),
    /// An address, lower-cased.
    Address(String),
    /// A spool file name.
    Spool(String),
}

impl Query {
    fn parse(q: &str) -> Query {
        let q = q.trim();
        let upper = q.to_ascii_uppercase();
        let is_id = upper.len() >= 2
            && matches!(upper.as_bytes()[0], b'S' | b'L' | b'P' | b'X')
            && upper[1..].bytes().all(|b| b.is_ascii_hexdigit());
        if is_id {
            Query::Id(upper)
        } else if q.contains('@') {
            Query::Address(q.to_ascii_lowercase())
        } else {
            Query::Spool(q.to_string())
        }
    }
}

/// One line of a traced message, as printed.
#[derive(Clone, Debug, Serialize)]
struct Entry {
    /// `YYYY-MM-DD HH:MM:SS`, local time as written.
    time: String,
    /// `smtp` or `smail`.
    log: &'static str,
    /// The log file it came from.
    file: String,
    /// The status (SMTP) or delivery type (SMAIL).
    event: String,
    sender: String,
    recipient: String,
    /// SMTP: the peer IP; SMAIL: the type's parameter (mailbox, host, program, target).
    detail: String,
    /// SMTP `RECV=OK`: bytes received.
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    /// The sentence.
    text: String,
    #[serde(skip)]
    order: (LocalTime, u8, usize),
}

/// A message and its story.
#[derive(Debug, Default, Serialize)]
struct Message {
    /// Empty for lines that carry no message ID (refusals before MAIL FROM completed).
    message_id: String,
    lines: Vec<Entry>,
    /// Notes on what is missing (accepted recipients without a delivery line, ...).
    notes: Vec<String>,
}

/// A bounce XMail generated: an `X…` message to a sender.
#[derive(Debug, Clone)]
struct Bounce {
    id: String,
    to: String,
    time: LocalTime,
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn lower(b: &[u8]) -> String {
    text(b).to_ascii_lowercase()
}

/// Parses `YYYY-MM-DD` or `YYYY-MM-DD HH:MM[:SS]`; `end` makes a bare date mean its last second.
fn parse_bound(s: &str, end: bool) -> anyhow::Result<LocalTime> {
    let s = s.trim();
    let full = match s.len() {
        10 => format!("{s} {}", if end { "23:59:59" } else { "00:00:00" }),
        16 => format!("{s}:{}", if end { "59" } else { "00" }),
        _ => s.to_string(),
    };
    LocalTime::parse_xmail(full.as_bytes())
        .with_context(|| format!("bad time {s:?}: write YYYY-MM-DD or \"YYYY-MM-DD HH:MM:SS\""))
}

/// The date a log file's name starts at, if any.
fn file_date(name: &str) -> Option<(i16, i8, i8)> {
    let d = crate::parse::ParseCtx::for_file(LogKind::Smtp, name).file_date?;
    Some((d.year, d.month, d.day))
}

struct Scan<'a> {
    files: Vec<(PathBuf, LogKind, String)>,
    since: Option<LocalTime>,
    until: Option<LocalTime>,
    lang: Lang,
    query: &'a Query,
}

impl Scan<'_> {
    fn in_range(&self, t: LocalTime) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t <= u)
    }

    /// Calls `f` for every line of every file, with the file's kind and name.
    fn each_line(&self, mut f: impl FnMut(LogKind, &str, usize, &[u8])) -> anyhow::Result<()> {
        for (path, kind, name) in &self.files {
            let mut data = Vec::new();
            crate::tail::open::open_log(path)
                .and_then(|mut f| std::io::Read::read_to_end(&mut f, &mut data))
                .with_context(|| format!("cannot read {}", path.display()))?;
            for (n, line) in data.split(|&b| b == b'\n').enumerate() {
                f(*kind, name, n, fields::trim_cr(line));
            }
        }
        Ok(())
    }

    /// Pass 1: the message IDs the query names.
    fn matching_ids(&self) -> anyhow::Result<BTreeSet<String>> {
        let mut ids = BTreeSet::new();
        if let Query::Id(id) = self.query {
            ids.insert(id.clone());
            return Ok(ids);
        }
        self.each_line(|kind, _, _, line| match kind {
            LogKind::Smtp => {
                if let Ok(ev) = parse_smtp(line)
                    && !ev.message_id.is_empty()
                    && self.in_range(ev.time)
                    && let Query::Address(a) = self.query
                    && (lower(ev.sender) == *a || lower(ev.recipient) == *a)
                {
                    ids.insert(text(ev.message_id));
                }
            }
            LogKind::Smail => {
                if let Ok(ev) = parse_smail(line)
                    && self.in_range(ev.time)
                {
                    let hit = match self.query {
                        Query::Address(a) => {
                            lower(ev.sender) == *a
                                || lower(ev.recipient) == *a
                                || lower(ev.param) == *a
                        }
                        Query::Spool(sp) => ev.spool_file == sp.as_bytes(),
                        Query::Id(_) => false,
                    };
                    if hit {
                        ids.insert(text(ev.message_id));
                    }
                }
            }
            LogKind::Webmail | LogKind::Pop3 => {}
        })?;
        Ok(ids)
    }

    /// Pass 2: every line of those messages, the ID-less lines that name the address, and
    /// every bounce.
    fn collect(&self, ids: &BTreeSet<String>) -> anyhow::Result<(Vec<Message>, Vec<Bounce>)> {
        let mut messages: BTreeMap<String, Vec<Message>> = BTreeMap::new();
        let mut bounces = Vec::new();
        let mut seq = 0usize;
        self.each_line(|kind, file, _, line| {
            seq += 1;
            match kind {
                LogKind::Smtp => {
                    let Ok(ev) = parse_smtp(line) else { return };
                    if !self.in_range(ev.time) {
                        return;
                    }
                    let id = text(ev.message_id);
                    let wanted = if id.is_empty() {
                        matches!(self.query, Query::Address(a) if lower(ev.sender) == *a || lower(ev.recipient) == *a)
                    } else {
                        ids.contains(&id)
                    };
                    if !wanted {
                        return;
                    }
                    let event = match ev.status.status {
                        Status::Known(c) => c.as_str().to_string(),
                        Status::Unknown(u) => text(u),
                    };
                    message_for(&mut messages, id, ev.time).lines.push(Entry {
                        time: ev.time.to_string(),
                        log: "smtp",
                        file: file.to_string(),
                        event,
                        sender: text(ev.sender),
                        recipient: text(ev.recipient),
                        detail: text(ev.peer_ip),
                        size: (ev.status.status == Status::Known(StatusCode::RecvOk)).then_some(ev.size),
                        text: explain::smtp(&ev, self.lang),
                        order: (ev.time, 0, seq),
                    });
                }
                LogKind::Smail => {
                    let Ok(ev) = parse_smail(line) else { return };
                    if !self.in_range(ev.time) {
                        return;
                    }
                    let id = text(ev.message_id);
                    let postmaster = ev.sender.is_empty() || lower(ev.sender).starts_with("postmaster@");
                    if id.starts_with('X') && postmaster {
                        bounces.push(Bounce {
                            id: id.clone(),
                            to: lower(ev.recipient),
                            time: ev.time,
                        });
                    }
                    if !ids.contains(&id) {
                        return;
                    }
                    message_for(&mut messages, id, ev.time).lines.push(Entry {
                        time: ev.time.to_string(),
                        log: "smail",
                        file: file.to_string(),
                        event: text(ev.delivery_raw),
                        sender: text(ev.sender),
                        recipient: text(ev.recipient),
                        detail: text(ev.param),
                        size: None,
                        text: explain::smail(&ev, self.lang),
                        order: (ev.time, 1, seq),
                    });
                }
                LogKind::Webmail | LogKind::Pop3 => {}
            }
        })?;
        Ok((messages.into_values().flatten().collect(), bounces))
    }
}

/// XMail's message ID counter can start again (a deleted `message.id`): lines of one ID
/// more than this far apart belong to different messages.
const SAME_MESSAGE_WINDOW_SECS: i64 = 3 * 86_400;

/// The message `id` a line at `time` belongs to: the latest one with that ID, unless the
/// line is too far from it in time.
fn message_for(
    messages: &mut BTreeMap<String, Vec<Message>>,
    id: String,
    time: LocalTime,
) -> &mut Message {
    let list = messages.entry(id.clone()).or_default();
    let fits = list.last().is_some_and(|m| {
        m.lines.last().is_some_and(|e| {
            (civil_seconds(e.order.0) - civil_seconds(time)).abs() <= SAME_MESSAGE_WINDOW_SECS
        })
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

/// Seconds since 1970-01-01 00:00:00 of a wall-clock time, ignoring zones (for distances).
fn civil_seconds(t: LocalTime) -> i64 {
    let month_start = jiff::civil::Date::new(t.year, t.month, 1).unwrap_or_default();
    let days = month_start
        .since(jiff::civil::date(1970, 1, 1))
        .map(|s| i64::from(s.get_days()))
        .unwrap_or(0)
        + i64::from(t.day)
        - 1;
    days * 86_400 + i64::from(t.hour) * 3600 + i64::from(t.minute) * 60 + i64::from(t.second)
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

/// Runs `trace`. Exits with failure when nothing matches.
pub fn run(args: &TraceArgs) -> anyhow::Result<ExitCode> {
    let query = Query::parse(&args.query);
    let since = args
        .since
        .as_deref()
        .map(|s| parse_bound(s, false))
        .transpose()?;
    let until = args
        .until
        .as_deref()
        .map(|s| parse_bound(s, true))
        .transpose()?;
    let dir = &args.xmail_log_dir;
    let found = discover::scan(dir, KindSet::MESSAGES)
        .with_context(|| format!("cannot list {}: check --xmail.log-dir", dir.display()))?;
    // Keep the files whose period can hold lines in range (a day's margin for late lines).
    let keep = |name: &str| match file_date(name) {
        None => true,
        Some(d) => {
            let after_since = since.is_none_or(|s| {
                let prev = (s.year, s.month, s.day);
                d >= prev || days_between(d, prev) <= 1
            });
            let before_until = until.is_none_or(|u| d <= (u.year, u.month, u.day));
            after_since && before_until
        }
    };
    let mut files: Vec<(PathBuf, LogKind, String)> = found
        .into_iter()
        .filter(|f| keep(&f.name))
        .map(|f| (dir.join(&f.name), f.kind, f.name))
        .collect();
    // Name order across kinds: the same day's SMTP file before its SMAIL file.
    files.sort_by_key(|f| file_key(&f.2));
    let scan = Scan {
        files,
        since,
        until,
        lang: args.lang,
        query: &query,
    };
    let ids = scan.matching_ids()?;
    let (messages, bounces) = scan.collect(&ids)?;
    let mut messages: Vec<Message> = messages
        .into_iter()
        .filter(|m| !m.lines.is_empty())
        .collect();
    for m in &mut messages {
        m.lines.sort_by_key(|e| e.order);
        annotate(m, &bounces, args.lang);
    }
    messages.sort_by(|a, b| a.lines[0].order.cmp(&b.lines[0].order));
    let mut out = std::io::stdout().lock();
    let result = match args.format {
        TraceFormat::Json => serde_json::to_writer_pretty(&mut out, &messages)
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(out)),
        TraceFormat::Text => write_text(&mut out, &messages, args.lang),
    };
    if let Err(e) = result
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(e).context("cannot write to stdout");
    }
    if messages.is_empty() {
        eprintln!(
            "xmail_exporter: no SMTP or SMAIL line matches {:?} in {}",
            args.query,
            dir.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn file_key(name: &str) -> (String, u8) {
    let (prefix, date) = name.split_once('-').unwrap_or((name, ""));
    (date.to_string(), if prefix == "smtp" { 0 } else { 1 })
}

fn days_between(a: (i16, i8, i8), b: (i16, i8, i8)) -> i64 {
    let day = |(year, month, day): (i16, i8, i8)| {
        LocalTime::midnight(year, month, day).map_or(0, civil_seconds) / 86_400
    };
    (day(a) - day(b)).abs()
}

fn write_text(out: &mut impl Write, messages: &[Message], lang: Lang) -> std::io::Result<()> {
    for (i, m) in messages.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let title = if m.message_id.is_empty() {
            match lang {
                Lang::En => "(no message ID: refused before or without a transaction)".to_string(),
                Lang::Ko => "(메시지 ID 없음: 트랜잭션 전에 거부됨)".to_string(),
            }
        } else {
            m.message_id.clone()
        };
        writeln!(out, "{title}")?;
        for e in &m.lines {
            writeln!(
                out,
                "  {}  {:<5}  {:<17}  {}",
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
        assert_eq!(days_between((2026, 11, 27), (2026, 12, 1)), 4);
    }
}
