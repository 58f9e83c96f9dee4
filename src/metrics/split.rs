//! `report --format prometheus` on two threads: the SMTP files are read on one, every other
//! file on this one, each into a [`Recorder`] of its own, and the two registries are added
//! up into what the output encodes ([`merge`]). The output is byte for byte that of one
//! recorder reading every file in reading order
//! ([`crate::summary::files::reading_order`]).
//!
//! # Why it is the same
//!
//! What a line counts depends on the lines before it in three places, and each stays on one
//! thread, in reading order:
//!
//! - the legacy `DATA=EFILTER` + `RCPT=EFILTER` pair ([`crate::meaning`]) and the capped
//!   labels of unknown statuses and DNSBL lists (the first ones seen get series): SMTP lines
//!   only, all on the SMTP thread;
//! - the notices (an `X` message counts at its first SMAIL line): SMAIL lines only, all here;
//! - the delivery delay, which joins SMTP `RECV=OK` lines to SMAIL deliveries: neither
//!   thread joins as it reads. The SMTP thread hands over, file by file, each `RECV=OK`
//!   ([`JoinStep::Received`]) and each point where one recorder would have let waiting
//!   deliveries expire ([`JoinStep::Consumed`]). This thread keeps its own deliveries and
//!   expiry points ([`Deferred`]) in reading order, with a mark where each SMTP file comes
//!   ([`Deferred::SmtpFile`]), and does them in that order as the SMTP files' steps arrive
//!   (`settle`): the join sees what one recorder would have seen, in the same order.
//!
//! Everything else is a sum (counters, histograms) or a value only one side sets or both set
//! alike (gauges: the last event time of a log, build information), merged as the larger.
//!
//! Both threads read at once. The SMTP thread runs ahead of this one by at most [`QUEUE`]
//! batches of steps; this one keeps at most [`MAX_DEFERRED`] join operations before it
//! waits for the SMTP thread. Memory stays bounded however large the files are.
//!
//! Owns the hand-over and the merge; what a line means is [`Recorder`]'s, reading a file
//! [`crate::read::once`]'s.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc::{Receiver, TryRecvError, sync_channel};

use prometheus::proto::{Metric, MetricFamily, MetricType};

use super::Recorder;
use crate::config::Settings;
use crate::parse::smail::DeliveryType;
use crate::parse::{LogKind, ParseCtx};
use crate::read::Sink;
use crate::read::discover::LogFile;
use crate::summary::files::read_files;

/// What the SMTP side of a split reading hands over to the delivery join, in reading order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinStep {
    /// Message `id` was received (`RECV=OK`) at `t` (Unix seconds).
    Received {
        /// The key of its `S` ID.
        id: u64,
        /// Unix seconds.
        t: i64,
    },
    /// A block was read: deliveries waiting for a `RECV=OK` expire against this SMTP log
    /// time, as [`Sink::consumed`] makes them.
    Consumed(i64),
    /// The SMTP log reached this time (the end of a batch).
    LogTime(i64),
}

/// A join operation of the non-SMTP side of a split reading, kept until the SMTP steps
/// before it in reading order are applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deferred {
    /// A delivery of message `id` at `t` (Unix seconds).
    Delivery {
        /// The key of its `S` ID.
        id: u64,
        /// Unix seconds.
        t: i64,
        /// Its delivery type.
        kind: DeliveryType,
    },
    /// A block was read: waiting deliveries may expire.
    Expire,
    /// The SMTP file at this index of the reading comes here: its steps go first.
    SmtpFile(usize),
}

/// Batches of join steps that may wait for this thread.
pub const QUEUE: usize = 8;

/// Join operations this thread keeps before it waits for the SMTP thread (24 bytes each):
/// twice the steps of a batch.
pub const MAX_DEFERRED: usize = 2 * BATCH_STEPS;

/// A batch of steps is sent when this many are kept.
pub const BATCH_STEPS: usize = 1 << 14;

/// The join steps of one SMTP file (`file`: its index in the reading), perhaps in several
/// batches; `done` on its last.
struct Batch {
    file: usize,
    steps: Vec<JoinStep>,
    done: bool,
}

/// A side's sink: the recorder, and what that side does after every block it read (the
/// SMTP side sends its steps when enough are kept; the other does the join operations it
/// kept as far as the SMTP steps allow).
struct AfterBlock<'a, F: FnMut(&mut Recorder)> {
    recorder: &'a mut Recorder,
    after: F,
}

impl<F: FnMut(&mut Recorder)> Sink for AfterBlock<'_, F> {
    #[inline]
    fn line(&mut self, ctx: &mut ParseCtx, path: &Path, line: &[u8]) {
        self.recorder.line(ctx, path, line);
    }
    fn line_too_long(&mut self, ctx: &mut ParseCtx, path: &Path, len: u64) {
        self.recorder.line_too_long(ctx, path, len);
    }
    fn consumed(&mut self, kind: LogKind, bytes: u64) {
        self.recorder.consumed(kind, bytes);
        (self.after)(self.recorder);
    }
    fn file_opened(&mut self, kind: LogKind, path: &Path, rotation: bool) {
        self.recorder.file_opened(kind, path, rotation);
    }
    fn truncated(&mut self, kind: LogKind, path: &Path) {
        self.recorder.truncated(kind, path);
    }
    fn read_error(&mut self, kind: LogKind, path: &Path, err: &std::io::Error) {
        self.recorder.read_error(kind, path, err);
    }
    fn lag(&mut self, kind: LogKind, bytes: u64) {
        self.recorder.lag(kind, bytes);
    }
}

/// Does `recorder`'s kept join operations in order, applying each SMTP file's steps where
/// its mark is: all of them when `block` (waiting for the SMTP thread), else as far as the
/// steps already sent allow. `false` when the SMTP thread stopped before sending what was
/// needed.
fn settle(recorder: &mut Recorder, rx: &Receiver<Batch>, block: bool) -> bool {
    while let Some(&op) = recorder.deferred().front() {
        let Deferred::SmtpFile(file) = op else {
            recorder.deferred().pop_front();
            recorder.do_deferred(op);
            continue;
        };
        let batch = if block {
            match rx.recv() {
                Ok(b) => b,
                Err(_) => return false,
            }
        } else {
            match rx.try_recv() {
                Ok(b) => b,
                Err(TryRecvError::Empty) => return true,
                Err(TryRecvError::Disconnected) => return false,
            }
        };
        debug_assert_eq!(batch.file, file);
        recorder.apply_join(&batch.steps);
        if batch.done {
            recorder.deferred().pop_front();
        }
    }
    true
}

/// Reads `file` whole into `sink`; `false` when it could not be read (logged, and counted by
/// the sink).
fn read_one(file: &LogFile, sink: &mut impl Sink) -> bool {
    read_files(std::slice::from_ref(file), sink, u64::MAX).failed == 0
}

/// Reads `files` (in reading order) as [`Recorder::from_settings`] (one-shot, no process
/// metrics) would, SMTP files on a thread of their own, their join steps handed over in
/// batches of `batch_steps` ([`BATCH_STEPS`]; less in tests, so that batches end anywhere),
/// this thread keeping at most twice as many join operations before it waits.
/// Returns the merged metric families and how many files could not be read.
pub fn read_split(
    files: &[LogFile],
    settings: &Settings,
    batch_steps: usize,
) -> prometheus::Result<(Vec<MetricFamily>, usize)> {
    let batch_steps = batch_steps.max(1);
    let mut here = Recorder::from_settings(settings, false)?
        .one_shot()
        .deferring_join();
    let (tx, rx) = sync_channel::<Batch>(QUEUE);
    std::thread::scope(|scope| {
        let smtp = std::thread::Builder::new()
            .name("report-smtp".into())
            .spawn_scoped(scope, move || -> prometheus::Result<_> {
                let mut recorder = Recorder::from_settings(settings, false)?
                    .one_shot()
                    .handing_over_join();
                let mut failed = 0;
                for (i, f) in files.iter().enumerate() {
                    if f.kind != LogKind::Smtp {
                        continue;
                    }
                    let mut sink = AfterBlock {
                        recorder: &mut recorder,
                        after: |r: &mut Recorder| {
                            if r.join_steps_kept() >= batch_steps {
                                let steps = r.take_join_steps();
                                // The other thread gone: it failed, and says so itself.
                                let _ = tx.send(Batch {
                                    file: i,
                                    steps,
                                    done: false,
                                });
                            }
                        },
                    };
                    failed += usize::from(!read_one(f, &mut sink));
                    let steps = recorder.take_join_steps();
                    if tx
                        .send(Batch {
                            file: i,
                            steps,
                            done: true,
                        })
                        .is_err()
                    {
                        break;
                    }
                }
                recorder.finish();
                Ok((recorder.registry().gather(), failed))
            })
            .expect("cannot start a thread");
        let mut failed = 0;
        let mut gone = false;
        for (i, f) in files.iter().enumerate() {
            if f.kind == LogKind::Smtp {
                // Where one recorder would have read this SMTP file: its join steps.
                here.deferred().push_back(Deferred::SmtpFile(i));
                continue;
            }
            let mut sink = AfterBlock {
                recorder: &mut here,
                after: |r: &mut Recorder| {
                    let block = r.deferred_len() > 2 * batch_steps;
                    if !gone && !settle(r, &rx, block) {
                        gone = true;
                    }
                },
            };
            failed += usize::from(!read_one(f, &mut sink));
        }
        if !gone && !settle(&mut here, &rx, true) {
            gone = true;
        }
        if gone {
            // The SMTP thread's result says why; what is kept is dropped.
            here.deferred().clear();
        }
        drop(rx);
        here.finish();
        let (theirs, their_failed) = match smtp.join() {
            Ok(r) => r?,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        Ok((
            merge(here.registry().gather(), theirs),
            failed + their_failed,
        ))
    })
}

/// The families of two registries of the same metrics added up: counters and histograms
/// summed, gauges the larger; series only one side has are kept; families and series in the
/// order [`prometheus::Registry::gather`] gives.
pub fn merge(a: Vec<MetricFamily>, b: Vec<MetricFamily>) -> Vec<MetricFamily> {
    let mut by_name: BTreeMap<String, MetricFamily> =
        a.into_iter().map(|f| (f.name().to_string(), f)).collect();
    for mut fb in b {
        match by_name.get_mut(fb.name()) {
            None => {
                by_name.insert(fb.name().to_string(), fb);
            }
            Some(fa) => {
                let kind = fa.get_field_type();
                for mb in fb.take_metric() {
                    match fa.mut_metric().iter_mut().find(|ma| same_labels(ma, &mb)) {
                        Some(ma) => add(kind, ma, &mb),
                        None => fa.mut_metric().push(mb),
                    }
                }
                fa.mut_metric().sort_by(|m1, m2| {
                    let (l1, l2) = (m1.get_label(), m2.get_label());
                    l1.len().cmp(&l2.len()).then_with(|| {
                        l1.iter()
                            .map(|l| l.value())
                            .cmp(l2.iter().map(|l| l.value()))
                    })
                });
            }
        }
    }
    by_name.into_values().collect()
}

fn same_labels(a: &Metric, b: &Metric) -> bool {
    let (la, lb) = (a.get_label(), b.get_label());
    la.len() == lb.len()
        && la
            .iter()
            .zip(lb)
            .all(|(x, y)| x.name() == y.name() && x.value() == y.value())
}

/// Adds `b`'s value to `a`'s.
fn add(kind: MetricType, a: &mut Metric, b: &Metric) {
    match kind {
        MetricType::COUNTER => {
            let mut c = (**a.get_counter()).clone();
            c.set_value(c.value() + b.get_counter().value());
            a.set_counter(c);
        }
        MetricType::GAUGE => {
            let mut g = (**a.get_gauge()).clone();
            g.set_value(g.value().max(b.get_gauge().value()));
            a.set_gauge(g);
        }
        MetricType::HISTOGRAM => {
            let (ha, hb) = (a.get_histogram(), b.get_histogram());
            let mut h = (**ha).clone();
            h.set_sample_count(ha.sample_count() + hb.sample_count());
            h.set_sample_sum(ha.sample_sum() + hb.sample_sum());
            let buckets = ha
                .get_bucket()
                .iter()
                .zip(hb.get_bucket())
                .map(|(x, y)| {
                    let mut x = x.clone();
                    x.set_cumulative_count(x.cumulative_count() + y.cumulative_count());
                    x
                })
                .collect();
            h.set_bucket(buckets);
            a.set_histogram(h);
        }
        // This exporter has neither: `a`'s value stays.
        MetricType::UNTYPED | MetricType::SUMMARY => {
            debug_assert!(false, "no {kind:?} metrics in this exporter")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus::{Histogram, HistogramOpts, IntCounterVec, IntGauge, Opts, Registry};

    fn registry(counts: &[(&str, u64)], gauge: i64, observed: &[f64]) -> Vec<MetricFamily> {
        let r = Registry::new();
        let c = IntCounterVec::new(Opts::new("c_total", "c"), &["k"]).unwrap();
        r.register(Box::new(c.clone())).unwrap();
        for (k, n) in counts {
            c.with_label_values(&[k]).inc_by(*n);
        }
        let g = IntGauge::new("g", "g").unwrap();
        r.register(Box::new(g.clone())).unwrap();
        g.set(gauge);
        let h =
            Histogram::with_opts(HistogramOpts::new("h", "h").buckets(vec![1.0, 10.0])).unwrap();
        r.register(Box::new(h.clone())).unwrap();
        observed.iter().for_each(|v| h.observe(*v));
        r.gather()
    }

    #[test]
    fn merge_adds_counters_and_histograms_and_keeps_the_larger_gauge() {
        let a = registry(&[("x", 2), ("z", 1)], 5, &[0.5, 20.0]);
        let b = registry(&[("y", 3), ("x", 4)], 7, &[3.0]);
        let merged = merge(a, b);
        let both = registry(&[("x", 6), ("y", 3), ("z", 1)], 7, &[0.5, 20.0, 3.0]);
        assert_eq!(
            String::from_utf8(super::super::encode_families(&merged)).unwrap(),
            String::from_utf8(super::super::encode_families(&both)).unwrap()
        );
    }
}
