//! Everything the exporter exports, declared once, and the [`Recorder`] that turns parsed
//! lines into metric updates.
//!
//! What an event *means* (received, delivered, bounced, refused) is decided in
//! [`crate::meaning`]; [`mail`] counts those meanings (the dashboards' headline numbers).
//! Each log family has its own file for the per-line detail: [`smtp`] counts SMTP lines by
//! status, [`smail`] SMAIL records by type, [`pop3`] logins, [`webmail`] errors by category,
//! [`delay`] joins each delivery to its `RECV=OK`, [`domains`] holds the opt-in per-domain
//! counters, [`spool`] the spool gauges and [`exporter`] the exporter's own metrics;
//! [`family`] has the helpers every family is built with; the `process_*` metrics come from
//! the prometheus crate's collector on Linux and from `process_windows` on Windows. Label
//! children are resolved at start-up, so every known series is exported at 0 (the spool
//! gauges excepted: they appear with the first count) and the per-line path never looks a
//! metric up by label strings.

pub mod delay;
pub mod domains;
pub mod exporter;
pub mod family;
pub mod mail;
pub mod pop3;
#[cfg(windows)]
pub mod process_windows;
pub mod services;
pub mod smail;
pub mod smtp;
pub mod split;
pub mod spool;
pub mod webmail;

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use prometheus::local::LocalIntCounter;
use prometheus::{Encoder, Registry, TextEncoder};

use crate::config::JoinLimits;
use crate::config::Settings;
use crate::meaning::Meaning;
use crate::parse::ctrl::parse_ctrl;
use crate::parse::filters::parse_filter;
use crate::parse::finger::parse_finger;
use crate::parse::lmail::parse_lmail;
use crate::parse::pop3::parse_pop3;
use crate::parse::psync::parse_psync;
use crate::parse::smtp::parse_smtp;
use crate::parse::time::TimeConverter;
use crate::parse::webmail::Classifier;
use crate::parse::{LogKind, ParseCtx, ParseError};
use crate::rate::Throttle;
use crate::read::Sink;
use crate::recent::Recent;
use delay::{DelayMetrics, PENDING_WALL, Pending, ReceivedJoin, smtp_id_key};
use domains::DomainMetrics;
use exporter::ExporterMetrics;
use mail::MailMetrics;
use pop3::Pop3Metrics;
use services::ServiceMetrics;
use smail::SmailMetrics;
use smtp::SmtpMetrics;
pub use split::{Deferred, JoinStep};
use spool::SpoolMetrics;
use webmail::WebmailMetrics;

pub use family::{BoundedLabels, OTHER};

/// Options for [`Metrics::new`].
#[derive(Clone, Debug)]
pub struct MetricsOptions {
    /// Register the `process_*` collector and the spool gauges (serving, not one-shot
    /// reports, which know nothing of the process or the spool).
    pub process: bool,
    /// Local domains that get per-domain counters (none by default).
    pub domains: Vec<String>,
}

/// The registry and the pre-resolved children of every metric.
pub struct Metrics {
    /// What `/metrics` encodes.
    pub registry: Registry,
    /// Received, delivered, bounced, refused: the headline numbers.
    pub mail: MailMetrics,
    /// SMTP events.
    pub smtp: SmtpMetrics,
    /// SMAIL deliveries.
    pub smail: SmailMetrics,
    /// Webmail errors.
    pub webmail: WebmailMetrics,
    /// Delivery delays.
    pub delay: DelayMetrics,
    /// POP3 logins.
    pub pop3: Pop3Metrics,
    /// CTRL logins, POP3 sync, filter runs, LMAIL drops, FINGER queries.
    pub services: ServiceMetrics,
    /// Opt-in per-domain counters.
    pub domains: DomainMetrics,
    /// The exporter's own metrics.
    pub exporter: ExporterMetrics,
    /// Spool queue sizes (serving only; shared with the spool scan thread).
    pub spool: Option<std::sync::Arc<SpoolMetrics>>,
}

impl Metrics {
    /// Registers every metric in a new registry.
    pub fn new(classifier: &Classifier, opts: &MetricsOptions) -> prometheus::Result<Metrics> {
        let registry = Registry::new();
        exporter::register_build_info(&registry)?;
        #[cfg(target_os = "linux")]
        if opts.process {
            registry.register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))?;
        }
        #[cfg(windows)]
        if opts.process {
            registry.register(Box::new(process_windows::ProcessCollector::for_self()))?;
        }
        #[cfg(not(any(target_os = "linux", windows)))]
        let _ = opts.process;
        Ok(Metrics {
            mail: MailMetrics::new(&registry)?,
            smtp: SmtpMetrics::new(&registry)?,
            smail: SmailMetrics::new(&registry)?,
            webmail: WebmailMetrics::new(&registry, classifier)?,
            delay: DelayMetrics::new(&registry)?,
            pop3: Pop3Metrics::new(&registry)?,
            services: ServiceMetrics::new(&registry)?,
            domains: DomainMetrics::new(&registry, &opts.domains)?,
            exporter: ExporterMetrics::new(&registry)?,
            spool: if opts.process {
                Some(std::sync::Arc::new(SpoolMetrics::new(&registry)?))
            } else {
                None
            },
            registry,
        })
    }
}

/// Encodes a registry in the Prometheus text format.
pub fn encode_text(registry: &Registry) -> Vec<u8> {
    encode_families(&registry.gather())
}

/// Encodes gathered metric families in the Prometheus text format.
pub fn encode_families(families: &[prometheus::proto::MetricFamily]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(16 * 1024);
    // Encoding into a Vec cannot fail for I/O reasons; a family that does not encode (an
    // invalid name) would be a bug caught by the golden tests.
    if let Err(e) = TextEncoder::new().encode(families, &mut buf) {
        tracing::error!(error = %e, "cannot encode metrics");
    }
    buf
}

/// Messages about malformed or over-long lines: at most this many at once per log...
const MALFORMED_LOG_BURST: u32 = 5;
/// ... and one more per this interval (5 a minute).
const MALFORMED_LOG_INTERVAL: Duration = Duration::from_secs(12);

/// Parses lines and updates the metrics: the [`Sink`] the tailer and `report` feed.
pub struct Recorder {
    metrics: Metrics,
    classifier: Arc<Classifier>,
    local: TimeConverter,
    utc: TimeConverter,
    last_event: [i64; LogKind::COUNT],
    malformed_log: [Throttle; LogKind::COUNT],
    meaning: Meaning,
    received: ReceivedJoin,
    pending: Pending,
    /// With the mail desk: where refused SMTP lines are kept.
    recent: Option<Arc<Recent>>,
    /// Whether the delivery join is done as lines are read, or is one side of a [`split`]
    /// reading.
    join: JoinMode,
}

/// Where a [`Recorder`]'s delivery-join work goes.
#[derive(Debug)]
enum JoinMode {
    /// Done at once (one recorder reads every file).
    Direct,
    /// Reading only SMTP files for [`split`]: the join's steps, in reading order, for the
    /// recorder of the other files, instead of into `received` and `pending`.
    HandOver(Vec<JoinStep>),
    /// Reading the other files of a [`split`] reading: what the join does, kept in reading
    /// order until the SMTP steps before it are applied ([`split::settle`]).
    Defer(VecDeque<Deferred>),
}

impl Recorder {
    /// The recorder `serve` and `report --format prometheus` use: every metric registered
    /// in a new registry (with the `process_*` collector and the spool gauges when
    /// `process`), the settings' webmail classifier, time zone, domains and join limits.
    pub fn from_settings(settings: &Settings, process: bool) -> prometheus::Result<Recorder> {
        let metrics = Metrics::new(
            &settings.classifier,
            &MetricsOptions {
                process,
                domains: settings.domains.clone(),
            },
        )?;
        Ok(
            Recorder::new(metrics, settings.classifier.clone(), settings.tz.clone())
                .with_join_limits(settings.join_limits),
        )
    }

    /// A recorder over `metrics`, reading XMail times in `tz`.
    pub fn new(metrics: Metrics, classifier: Arc<Classifier>, tz: TimeZone) -> Recorder {
        Recorder {
            metrics,
            classifier,
            local: TimeConverter::new(tz),
            utc: TimeConverter::new(TimeZone::UTC),
            last_event: [0; LogKind::COUNT],
            malformed_log: std::array::from_fn(|_| {
                Throttle::new(MALFORMED_LOG_INTERVAL, MALFORMED_LOG_BURST)
            }),
            meaning: Meaning::new(),
            received: ReceivedJoin::new(JoinLimits::default()),
            pending: Pending::new(Some(PENDING_WALL)),
            recent: None,
            join: JoinMode::Direct,
        }
    }

    /// For a one-shot read (`report`): a delivery waits for its `RECV=OK` by log time only,
    /// so the output does not depend on how fast the files are read. Call [`Recorder::finish`]
    /// at the end.
    pub fn one_shot(mut self) -> Recorder {
        self.pending = Pending::new(None);
        self
    }

    /// The end of a one-shot read: deliveries still waiting for their `RECV=OK` are unmatched.
    pub fn finish(&mut self) {
        debug_assert_eq!(self.deferred_len(), 0, "join operations left undone");
        let n = self.pending.expire_all();
        self.metrics.delay.unmatched.inc_by(n);
        self.flush();
    }

    /// Publishes the per-line counts added up since the last call (the tailer and `report`
    /// call it through [`Sink::consumed`] after every read).
    pub fn flush(&self) {
        let m = &self.metrics;
        m.mail.flush();
        m.smtp.flush();
        m.smail.flush();
        m.delay.flush();
        m.exporter.parsed.iter().for_each(LocalIntCounter::flush);
    }

    /// Changes how long and how many received messages are kept for the delivery delay.
    pub fn with_join_limits(mut self, limits: JoinLimits) -> Recorder {
        self.received = ReceivedJoin::new(limits);
        self
    }

    /// For the SMTP side of a [`split`] reading: the delivery join's steps are kept for
    /// [`Recorder::take_join_steps`] instead of being applied here.
    pub fn handing_over_join(mut self) -> Recorder {
        self.join = JoinMode::HandOver(Vec::new());
        self
    }

    /// The join steps kept since the last call, with one [`JoinStep::LogTime`] at the end
    /// (see [`Recorder::handing_over_join`]).
    pub fn take_join_steps(&mut self) -> Vec<JoinStep> {
        let log_time = self.pending.log_time();
        match &mut self.join {
            JoinMode::HandOver(out) => {
                out.push(JoinStep::LogTime(log_time));
                std::mem::take(out)
            }
            _ => Vec::new(),
        }
    }

    /// How many join steps are kept (see [`Recorder::handing_over_join`]).
    pub fn join_steps_kept(&self) -> usize {
        match &self.join {
            JoinMode::HandOver(out) => out.len(),
            _ => 0,
        }
    }

    /// Applies join steps handed over by the SMTP side of a [`split`] reading, as reading
    /// those SMTP lines here would have.
    pub fn apply_join(&mut self, steps: &[JoinStep]) {
        for step in steps {
            match *step {
                JoinStep::Received { id, t } => self.join_received(id, t),
                JoinStep::Consumed(log_time) => {
                    self.pending.smtp_time(log_time);
                    self.expire_waiting();
                }
                JoinStep::LogTime(log_time) => self.pending.smtp_time(log_time),
            }
        }
    }

    /// For the other side of a [`split`] reading: the delivery join's operations are kept
    /// (see [`Recorder::deferred`]) instead of being done at once.
    pub fn deferring_join(mut self) -> Recorder {
        self.join = JoinMode::Defer(VecDeque::new());
        self
    }

    /// The join operations kept, oldest first.
    ///
    /// # Panics
    /// On a recorder not made with [`Recorder::deferring_join`]: one that joins as it reads
    /// has nothing kept, and must not start keeping.
    pub fn deferred(&mut self) -> &mut VecDeque<Deferred> {
        match &mut self.join {
            JoinMode::Defer(kept) => kept,
            _ => panic!("deferred() is for a recorder made with deferring_join()"),
        }
    }

    /// How many join operations are kept.
    pub fn deferred_len(&self) -> usize {
        match &self.join {
            JoinMode::Defer(kept) => kept.len(),
            _ => 0,
        }
    }

    /// Does a join operation that was kept, as it would have been done when it was read.
    /// [`Deferred::SmtpFile`] is the caller's: it applies that file's steps.
    pub fn do_deferred(&mut self, op: Deferred) {
        match op {
            Deferred::Delivery { id, t, kind } => self.join_delivery(id, t, kind),
            Deferred::Expire => self.expire_waiting(),
            Deferred::SmtpFile(_) => {}
        }
    }

    /// A delivery of message `id` at `t`: its delay, or it waits for its `RECV=OK`.
    #[inline]
    fn join_delivery(&mut self, id: u64, t: i64, kind: crate::parse::smail::DeliveryType) {
        match self.received.received_at(id) {
            Some(received) => self.metrics.delay.observe(kind, t - received),
            None => {
                let dropped = self.pending.wait(id, t, kind, Instant::now());
                self.metrics.delay.unmatched.inc_by(dropped);
            }
        }
    }

    /// Deliveries that waited long enough for their `RECV=OK` count as unmatched.
    fn expire_waiting(&mut self) {
        let expired = self.pending.expire(Instant::now());
        if expired > 0 {
            self.metrics.delay.unmatched.inc_by(expired);
        }
    }

    /// Message `id` was received at `t`: remembered for its deliveries, and the deliveries
    /// that waited for it get their delay.
    #[inline]
    fn join_received(&mut self, id: u64, t: i64) {
        let evicted = self.received.received(id, t);
        if evicted > 0 {
            self.metrics.delay.evictions.inc_by(evicted);
        }
        let delay = &self.metrics.delay;
        self.pending.received(id, t, |k, d| delay.observe(k, d));
    }

    /// Keeps every refused SMTP line in `recent` too (the mail desk's recent refusals).
    pub fn with_recent(mut self, recent: Arc<Recent>) -> Recorder {
        self.recent = Some(recent);
        self
    }

    /// The registry to encode.
    pub fn registry(&self) -> &Registry {
        &self.metrics.registry
    }

    /// The metrics themselves.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    #[inline]
    fn event_time(&mut self, kind: LogKind, unix: Option<i64>) {
        if let Some(t) = unix {
            let i = kind.index();
            if t > self.last_event[i] {
                self.last_event[i] = t;
                self.metrics.exporter.last_event[i].set(t as f64);
            }
        }
    }

    /// Restores the newest event time of `kind` from the previous run (the state file), so
    /// that `xmail_exporter_log_last_event_timestamp_seconds` does not go back to 0 at a
    /// restart. Like every event time, it only ever moves forward.
    pub fn restore_event_time(&mut self, kind: LogKind, unix: i64) {
        self.event_time(kind, Some(unix));
    }

    /// A line of `kind` at local time `t` was parsed and counted.
    #[inline]
    fn parsed(&mut self, kind: LogKind, t: crate::parse::time::LocalTime) {
        self.metrics.exporter.parsed[kind.index()].inc();
        let t = self.local.to_unix(t);
        self.event_time(kind, t);
    }

    fn malformed(&mut self, kind: LogKind, path: &Path, err: ParseError, line: &[u8]) {
        self.metrics.exporter.malformed[kind.index()].inc();
        if let Some(suppressed) = self.malformed_log[kind.index()].allow(Instant::now()) {
            // POP3 and CTRL lines can hold a password, PSYNC lines account names, filters
            // lines a command line: their content is never logged.
            let secret = matches!(
                kind,
                LogKind::Pop3 | LogKind::Ctrl | LogKind::Psync | LogKind::Filters
            );
            let shown = if secret {
                &b"(not shown: it may hold a password or a command line)"[..]
            } else {
                &line[..line.len().min(200)]
            };
            tracing::debug!(
                log = kind.as_str(),
                path = %path.display(),
                error = %err,
                line = %String::from_utf8_lossy(shown),
                suppressed,
                "malformed line skipped"
            );
        }
    }
}

impl Sink for Recorder {
    #[inline]
    fn line(&mut self, ctx: &mut ParseCtx, path: &Path, line: &[u8]) {
        let kind = ctx.kind;
        match kind {
            LogKind::Smtp => match parse_smtp(line) {
                Ok(ev) => {
                    let meaning = self.meaning.smtp(&ev);
                    if meaning.refused.is_some()
                        && let Some(recent) = &self.recent
                    {
                        recent.push(line);
                    }
                    self.metrics.mail.smtp(&meaning, ev.source());
                    self.metrics.smtp.record(&ev);
                    self.metrics.domains.record_smtp(&ev, &meaning);
                    self.metrics.exporter.parsed[kind.index()].inc();
                    let t = self.local.to_unix(ev.time);
                    self.event_time(kind, t);
                    if let Some(t) = t {
                        self.pending.smtp_time(t);
                    }
                    if meaning.received
                        && let (Some(id), Some(t)) = (smtp_id_key(ev.message_id), t)
                    {
                        match &mut self.join {
                            JoinMode::HandOver(out) => out.push(JoinStep::Received { id, t }),
                            _ => self.join_received(id, t),
                        }
                    }
                }
                Err(e) => self.malformed(kind, path, e, line),
            },
            LogKind::Smail => {
                // `None`: the rest of a remote reply that spans lines, part of the record before.
                let Some(parsed) = ctx.smail(line) else {
                    return;
                };
                match parsed {
                    Ok(ev) => {
                        let t = self.local.to_unix(ev.time);
                        let meaning = self.meaning.smail(&ev, t);
                        self.metrics.mail.smail(&meaning, ev.origin());
                        self.metrics.smail.record(&ev);
                        self.metrics.domains.record_smail(&ev, &meaning);
                        self.metrics.exporter.parsed[kind.index()].inc();
                        self.event_time(kind, t);
                        if let (Some(id), Some(t)) = (smtp_id_key(ev.message_id), t) {
                            let kind = ev.delivery;
                            match &mut self.join {
                                JoinMode::Defer(d) => {
                                    d.push_back(Deferred::Delivery { id, t, kind })
                                }
                                _ => self.join_delivery(id, t, kind),
                            }
                        }
                    }
                    Err(e) => self.malformed(kind, path, e, line),
                }
            }
            LogKind::Webmail => match ctx.webmail(line, &self.classifier) {
                // A line of the previous error's stack trace: read and understood (`parsed`),
                // but not an error of its own and no time of its own.
                None => self.metrics.exporter.parsed[kind.index()].inc(),
                Some(Ok(ev)) => {
                    self.metrics.webmail.record(&ev);
                    self.metrics.exporter.parsed[kind.index()].inc();
                    let t = match ev.time {
                        Some(s) if s.utc => self.utc.to_unix(s.time),
                        Some(s) => self.local.to_unix(s.time),
                        None => ctx.file_date.and_then(|d| self.local.to_unix(d)),
                    };
                    self.event_time(kind, t);
                }
                Some(Err(ParseError::Empty)) => {}
                Some(Err(e)) => self.malformed(kind, path, e, line),
            },
            LogKind::Pop3 => match parse_pop3(line) {
                Ok(ev) => {
                    self.metrics.pop3.record(&ev);
                    self.parsed(kind, ev.time);
                }
                Err(e) => self.malformed(kind, path, e, line),
            },
            LogKind::Ctrl => match parse_ctrl(line) {
                Ok(ev) => {
                    self.metrics.services.ctrl(&ev);
                    self.parsed(kind, ev.time);
                }
                Err(e) => self.malformed(kind, path, e, line),
            },
            LogKind::Psync => match parse_psync(line) {
                Ok(ev) => {
                    self.metrics.services.psync(&ev);
                    self.parsed(kind, ev.time);
                }
                Err(e) => self.malformed(kind, path, e, line),
            },
            LogKind::Filters => match parse_filter(line) {
                Ok(ev) => {
                    self.metrics.services.filter(&ev);
                    self.parsed(kind, ev.time);
                }
                Err(e) => self.malformed(kind, path, e, line),
            },
            LogKind::Lmail => match parse_lmail(line) {
                Ok(ev) => {
                    self.metrics.services.lmail();
                    self.parsed(kind, ev.time);
                }
                Err(e) => self.malformed(kind, path, e, line),
            },
            LogKind::Finger => match parse_finger(line) {
                Ok(ev) => {
                    self.metrics.services.finger();
                    self.parsed(kind, ev.time);
                }
                Err(e) => self.malformed(kind, path, e, line),
            },
        }
    }

    fn line_too_long(&mut self, ctx: &mut ParseCtx, path: &Path, len: u64) {
        ctx.smail_continues = false;
        self.metrics.exporter.malformed[ctx.kind.index()].inc();
        if let Some(suppressed) = self.malformed_log[ctx.kind.index()].allow(Instant::now()) {
            tracing::debug!(log = ctx.kind.as_str(), path = %path.display(), bytes = len, suppressed, "over-long line skipped");
        }
    }

    fn consumed(&mut self, kind: LogKind, bytes: u64) {
        // The SMTP side of a split reading has no deliveries waiting: its expiry point is
        // handed over instead.
        match &mut self.join {
            JoinMode::Direct => self.expire_waiting(),
            JoinMode::HandOver(out) => out.push(JoinStep::Consumed(self.pending.log_time())),
            JoinMode::Defer(d) => d.push_back(Deferred::Expire),
        }
        self.flush();
        self.metrics.exporter.read_bytes[kind.index()].inc_by(bytes);
    }

    fn file_opened(&mut self, kind: LogKind, path: &Path, rotation: bool) {
        if rotation {
            self.metrics.exporter.rotations[kind.index()].inc();
        }
        tracing::debug!(log = kind.as_str(), path = %path.display(), rotation, "following log file");
    }

    fn truncated(&mut self, kind: LogKind, path: &Path) {
        self.metrics.exporter.truncations[kind.index()].inc();
        tracing::info!(log = kind.as_str(), path = %path.display(), "log file was truncated: reading it again from the start");
    }

    fn read_error(&mut self, kind: LogKind, _path: &Path, _err: &std::io::Error) {
        // The tailer logs the error itself, once per state change; here it is only counted.
        self.metrics.exporter.read_errors[kind.index()].inc();
    }

    fn lag(&mut self, kind: LogKind, bytes: u64) {
        self.metrics.exporter.lag[kind.index()].set(bytes.min(i64::MAX as u64) as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::time::LocalTime;

    #[test]
    fn bounded_labels_cap_and_share_other() {
        let made = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let m2 = made.clone();
        let mut t: BoundedLabels<String> = BoundedLabels::new(2, move || {
            m2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            OTHER.to_string()
        });
        let ok = |_: &[u8]| true;
        assert_eq!(t.get(b"a", ok, |s| s.to_string()), "a");
        assert_eq!(t.get(b"b", ok, |s| s.to_string()), "b");
        assert_eq!(t.get(b"a", ok, |s| s.to_string()), "a");
        assert_eq!(t.get(b"c", ok, |s| s.to_string()), OTHER);
        assert_eq!(t.get(b"d", ok, |s| s.to_string()), OTHER);
        assert_eq!(t.len(), 2);
        assert_eq!(made.load(std::sync::atomic::Ordering::Relaxed), 1);
        let mut u: BoundedLabels<String> = BoundedLabels::new(5, || OTHER.to_string());
        assert_eq!(u.get(b"other", ok, |s| format!("own {s}")), OTHER);
        assert_eq!(u.get(b"\xff", ok, |s| s.to_string()), OTHER);
        assert_eq!(u.get(b"x", |_| false, |s| s.to_string()), OTHER);
    }

    fn recorder() -> Recorder {
        let settings = Settings {
            tz: TimeZone::get("Asia/Seoul").unwrap(),
            domains: vec!["example.co.kr".into()],
            ..Settings::load(None).unwrap()
        };
        Recorder::from_settings(&settings, false).unwrap()
    }

    fn feed(r: &mut Recorder, kind: LogKind, lines: &[&[u8]]) {
        let mut ctx = ParseCtx::for_file(kind, "error-20261127.txt");
        for l in lines {
            r.line(&mut ctx, Path::new("test"), l);
        }
        r.flush();
    }

    fn smtp(status: &str) -> Vec<u8> {
        format!(
            "\"mx\"\t\"d\"\t\"192.0.2.1\"\t\"2026-11-27 00:00:00\"\t\"h\"\t\"\"\t\"\"\t\"\"\t\"\"\t\"{status}\"\t\"\"\t\"0\"\t\"\""
        )
        .into_bytes()
    }

    fn sample(r: &Recorder, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let text = String::from_utf8(encode_text(r.registry())).unwrap();
        let mut l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        l.sort();
        let want = if l.is_empty() {
            name.to_string()
        } else {
            format!("{name}{{{}}}", l.join(","))
        };
        text.lines()
            .find_map(|line| line.strip_prefix(&want).and_then(|v| v.trim().parse().ok()))
    }

    fn series(r: &Recorder, name: &str) -> usize {
        let text = String::from_utf8(encode_text(r.registry())).unwrap();
        text.lines()
            .filter(|l| l.starts_with(&format!("{name}{{")))
            .count()
    }

    #[test]
    fn unknown_statuses_are_capped() {
        let mut r = recorder();
        let before = series(&r, "xmail_smtp_events_total");
        for i in 0..100 {
            let line = smtp(&format!("NEW=E{i}"));
            feed(&mut r, LogKind::Smtp, &[&line]);
        }
        // 32 own values and `other`, each for the three sources.
        assert_eq!(series(&r, "xmail_smtp_events_total") - before, 33 * 3);
        assert_eq!(
            sample(
                &r,
                "xmail_smtp_events_total",
                &[("status", "NEW=E0"), ("source", "external")]
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &r,
                "xmail_smtp_events_total",
                &[("status", "other"), ("source", "external")]
            ),
            Some(68.0)
        );
        assert_eq!(
            sample(
                &r,
                "xmail_exporter_log_lines_total",
                &[("log", "smtp"), ("result", "parsed")]
            ),
            Some(100.0)
        );
    }

    #[test]
    fn dnsbl_lists_are_capped_and_validated() {
        let mut r = recorder();
        for i in 0..40 {
            let line = smtp(&format!("SNDRIP=EIPMAP (bl{i}.example.)"));
            feed(&mut r, LogKind::Smtp, &[&line]);
        }
        feed(
            &mut r,
            LogKind::Smtp,
            &[&smtp("SNDRIP=EIPMAP (bad list!)"), &smtp("SNDRIP=EIPMAP")],
        );
        // 32 lists of their own; the other 8, the invalid name and the bare form (whose
        // `unnamed` value comes after the cap was reached) share `other`.
        assert_eq!(series(&r, "xmail_smtp_dnsbl_refusals_total"), 33);
        assert_eq!(
            sample(&r, "xmail_smtp_dnsbl_refusals_total", &[("list", "other")]),
            Some(10.0)
        );
        assert_eq!(
            sample(
                &r,
                "xmail_smtp_events_total",
                &[("status", "SNDRIP=EIPMAP"), ("source", "external")]
            ),
            Some(42.0)
        );
    }

    #[test]
    fn smail_continuation_lines_belong_to_the_record_before() {
        let mut r = recorder();
        let first: &[u8] = b"\"d\"\t\"f\"\t\"S1\"\t\"a@b\"\t\"c@d\"\t\"SMTP\"\t\"mx\"\t\"2026-11-27 00:00:00\"\t\"250-first\r";
        feed(
            &mut r,
            LogKind::Smail,
            &[first, b"250-middle\r", b"250 last\"", b"\"not a record"],
        );
        assert_eq!(
            sample(
                &r,
                "xmail_smail_records_total",
                &[("type", "SMTP"), ("origin", "smtp")]
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &r,
                "xmail_exporter_log_lines_total",
                &[("log", "smail"), ("result", "parsed")]
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &r,
                "xmail_exporter_log_lines_total",
                &[("log", "smail"), ("result", "malformed")]
            ),
            Some(1.0)
        );
    }

    #[test]
    fn event_times_use_the_zone_and_webmail_fallbacks() {
        let mut r = recorder();
        feed(&mut r, LogKind::Smtp, &[&smtp("RCPT=OK")]);
        // 2026-11-27 00:00:00 KST
        let kst_midnight = 1_795_705_200.0;
        let ts = |r: &Recorder, log| {
            sample(
                r,
                "xmail_exporter_log_last_event_timestamp_seconds",
                &[("log", log)],
            )
        };
        assert_eq!(ts(&r, "smtp"), Some(kst_midnight));
        // No timestamp on the line: the file's date (error-20261127.txt) at midnight.
        feed(&mut r, LogKind::Webmail, &[b"something failed"]);
        assert_eq!(ts(&r, "webmail"), Some(kst_midnight));
        // PHP's UTC stamp is UTC, whatever the configured zone.
        feed(
            &mut r,
            LogKind::Webmail,
            &[b"[27-Nov-2026 01:00:00 UTC] PHP Warning: x"],
        );
        assert_eq!(ts(&r, "webmail"), Some(kst_midnight + 10.0 * 3600.0));
        // Older events do not move it back.
        feed(&mut r, LogKind::Webmail, &[b"[2026-11-26 01:00:00] old"]);
        assert_eq!(ts(&r, "webmail"), Some(kst_midnight + 10.0 * 3600.0));
    }

    /// XMail writes local times without a zone, so in autumn the hour before the change
    /// repeats (Europe/Berlin, 2026-10-25: 02:00 to 02:59 CEST, then again in CET). A time in
    /// that hour is read as its first occurrence (summer time). What that gives is defined:
    /// a delivery written in the second 02:xx after a receipt in the first reads as earlier
    /// than the receipt, and its delay is counted as 0, never negative; the newest event
    /// time never moves back within a file; a time in the spring gap (02:30 on 2026-03-29
    /// does not exist) is read as the summer time one hour on.
    #[test]
    fn daylight_saving_changes_in_europe_berlin() {
        let settings = Settings {
            tz: TimeZone::get("Europe/Berlin").unwrap(),
            ..Settings::load(None).unwrap()
        };
        let mut r = Recorder::from_settings(&settings, false).unwrap();
        let smtp = |time: &str, id: &str| {
            format!(
                "\"mx\"\t\"dom\"\t\"192.0.2.1\"\t\"{time}\"\t\"helo\"\t\"dom\"\t\"a@x.example\"\t\"b@dom\"\t\"{id}\"\t\"RECV=OK\"\t\"\"\t\"100\"\t\"\""
            )
        };
        let smail = |time: &str, id: &str| {
            format!(
                "\"dom\"\t\"spool\"\t\"{id}\"\t\"a@x.example\"\t\"b@dom\"\t\"LOCAL\"\t\"b@dom\"\t\"{time}\"\t\"\""
            )
        };
        let ts = |r: &Recorder, log| {
            sample(
                r,
                "xmail_exporter_log_last_event_timestamp_seconds",
                &[("log", log)],
            )
            .unwrap()
        };
        // 2026-10-25 02:59:30 CEST = 00:59:30 UTC.
        let first_pass_end = 1_792_889_970.0;
        let mut smtp_ctx = ParseCtx::for_file(LogKind::Smtp, "smtp-202610250000");
        let mut smail_ctx = ParseCtx::for_file(LogKind::Smail, "smail-202610250000");
        let mut step = |r: &mut Recorder, kind, line: String| {
            let ctx = if kind == LogKind::Smtp {
                &mut smtp_ctx
            } else {
                &mut smail_ctx
            };
            r.line(ctx, Path::new("test"), line.as_bytes());
            r.flush();
        };
        // In the first 02:xx (summer time): received, then delivered 40 s later.
        step(&mut r, LogKind::Smtp, smtp("2026-10-25 02:10:00", "S1"));
        step(&mut r, LogKind::Smail, smail("2026-10-25 02:10:40", "S1"));
        // Received at the end of the first 02:xx, delivered 40 s later in the second.
        step(&mut r, LogKind::Smtp, smtp("2026-10-25 02:59:30", "S2"));
        assert_eq!(ts(&r, "smtp"), first_pass_end);
        step(&mut r, LogKind::Smail, smail("2026-10-25 02:00:10", "S2"));
        // A later SMTP line in the second 02:xx: read as an hour earlier, so not newer.
        step(&mut r, LogKind::Smtp, smtp("2026-10-25 02:01:00", "S3"));
        assert_eq!(ts(&r, "smtp"), first_pass_end, "moved back");
        // After the repeated hour, times are CET and move on.
        step(&mut r, LogKind::Smtp, smtp("2026-10-25 03:00:00", "S4"));
        assert_eq!(ts(&r, "smtp"), 1_792_893_600.0);

        let families = r.registry().gather();
        let delay = families
            .iter()
            .find(|f| f.name() == "xmail_delivery_delay_seconds")
            .expect("the delay histogram");
        let h = delay
            .get_metric()
            .iter()
            .find(|m| m.get_label().iter().any(|l| l.value() == "LOCAL"))
            .expect("the LOCAL delay")
            .get_histogram();
        // Both joined: 40 s, and the one across the change counted as 0 (not -3 560 s).
        assert_eq!(h.get_sample_count(), 2);
        assert_eq!(h.get_sample_sum(), 40.0);
        let lowest = &h.get_bucket()[0];
        assert!(lowest.upper_bound() < 40.0);
        assert_eq!(
            lowest.cumulative_count(),
            1,
            "the delay across the change is 0"
        );

        // The spring gap: 02:30 on 2026-03-29 does not exist; read as 03:30 CEST.
        let mut c = TimeConverter::new(settings.tz.clone());
        let gap = LocalTime::parse_xmail(b"2026-03-29 02:30:00").unwrap();
        let after = LocalTime::parse_xmail(b"2026-03-29 03:30:00").unwrap();
        assert_eq!(c.to_unix(gap), c.to_unix(after));
    }
}
