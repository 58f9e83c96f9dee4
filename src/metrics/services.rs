//! The other XMail services' logs into metrics: CTRL (admin) logins, POP3 sync of external
//! accounts (PSYNC), filter runs, LMAIL drops and FINGER queries. These logs exist only when
//! XMail runs with `-Cl`, `-Yl`, `-Qg`, `-Ll` and `-Fl` (all off by default).
//!
//! No user name, password, address, IP or command line ever reaches a label: the CTRL log
//! holds the password in clear and the filters log the full command line. Every child is
//! resolved at start-up and exported at 0. What a filter's exit code means per stage is
//! [`crate::parse::filters::classify`]'s.

use prometheus::{IntCounter, IntCounterVec, Opts, Registry};

use super::family::{counter, counter_vec};
use crate::parse::ctrl::CtrlEvent;
use crate::parse::filters::{FilterEvent, FilterOutcome, FilterStage};
use crate::parse::pop3::LoginResult;
use crate::parse::psync::{PsyncEvent, SyncResult};

/// The CTRL login results counted: a `REQ` line starts an attempt and is not a login.
const CTRL_RESULTS: [LoginResult; 2] = [LoginResult::Ok, LoginResult::Failed];

/// Pre-resolved children of the other services' metrics.
pub struct ServiceMetrics {
    /// `[ok, failed]`.
    ctrl_logins: [IntCounter; 2],
    /// Indexed like [`SyncResult::ALL`].
    psync_syncs: [IntCounter; SyncResult::COUNT],
    /// `[synced, error]`.
    psync_messages: [IntCounter; 2],
    /// `[synced, error]`.
    psync_bytes: [IntCounter; 2],
    /// Indexed like [`FilterStage::ALL`], then [`FilterOutcome::ALL`].
    filter_runs: [[IntCounter; FilterOutcome::COUNT]; FilterStage::COUNT],
    lmail_messages: IntCounter,
    finger_queries: IntCounter,
}

impl ServiceMetrics {
    /// Registers the families, every child at 0.
    pub fn new(registry: &Registry) -> prometheus::Result<ServiceMetrics> {
        let ctrl = counter_vec(
            registry,
            "xmail_ctrl_logins_total",
            "Logins to XMail's CTRL (admin) port from the ctrl-* files, by result (ok: AUTH, failed: FAIL; a REQ line starts an attempt and is not counted).",
            &["result"],
        )?;
        let syncs = counter_vec(
            registry,
            "xmail_psync_syncs_total",
            "External POP3 accounts synced by XMail (psync-* files), by result (ok: SYNC=OK, failed: SYNC=EFAIL, no_user: SYNC=ENOUSER).",
            &["result"],
        )?;
        let messages = counter_vec(
            registry,
            "xmail_psync_messages_total",
            "Messages fetched by POP3 sync (psync-* files), by result (synced: MsgsSynced, error: MsgsErr).",
            &["result"],
        )?;
        let bytes = counter_vec(
            registry,
            "xmail_psync_bytes_total",
            "Bytes fetched by POP3 sync (psync-* files), by result (synced: BytesSynced, error: BytesErr).",
            &["result"],
        )?;
        let runs = IntCounterVec::new(
            Opts::new(
                "xmail_filter_runs_total",
                "Filter runs from the filters-* files, by stage (in, out: SMAIL filters; post-rcpt, pre-data, post-data: SMTP filters) and result (skipped: not run; error: could not run; rejected and modified: by the exit code, see the README).",
            ),
            &["stage", "result"],
        )?;
        registry.register(Box::new(runs.clone()))?;
        let pair = |v: &IntCounterVec| {
            [
                v.with_label_values(&["synced"]),
                v.with_label_values(&["error"]),
            ]
        };
        Ok(ServiceMetrics {
            ctrl_logins: CTRL_RESULTS.map(|r| ctrl.with_label_values(&[r.as_str()])),
            psync_syncs: SyncResult::ALL.map(|r| syncs.with_label_values(&[r.as_str()])),
            psync_messages: pair(&messages),
            psync_bytes: pair(&bytes),
            filter_runs: FilterStage::ALL.map(|s| {
                FilterOutcome::ALL.map(|o| runs.with_label_values(&[s.as_str(), o.as_str()]))
            }),
            lmail_messages: counter(
                registry,
                "xmail_lmail_messages_total",
                "Messages XMail's LMAIL service took in from spool/local (lmail-* files).",
            )?,
            finger_queries: counter(
                registry,
                "xmail_finger_queries_total",
                "FINGER queries XMail answered (finger-* files).",
            )?,
        })
    }

    /// Counts one CTRL line (a login when it says AUTH or FAIL).
    #[inline]
    pub fn ctrl(&self, ev: &CtrlEvent<'_>) {
        match ev.kind.result() {
            Some(LoginResult::Ok) => self.ctrl_logins[0].inc(),
            Some(LoginResult::Failed) => self.ctrl_logins[1].inc(),
            _ => {}
        }
    }

    /// Counts one PSYNC line.
    #[inline]
    pub fn psync(&self, ev: &PsyncEvent<'_>) {
        self.psync_syncs[ev.result.index()].inc();
        self.psync_messages[0].inc_by(ev.msgs_synced);
        self.psync_messages[1].inc_by(ev.msgs_err);
        self.psync_bytes[0].inc_by(ev.bytes_synced);
        self.psync_bytes[1].inc_by(ev.bytes_err);
    }

    /// Counts one filter run.
    #[inline]
    pub fn filter(&self, ev: &FilterEvent<'_>) {
        self.filter_runs[ev.stage.index()][ev.outcome().index()].inc();
    }

    /// Counts one LMAIL line.
    #[inline]
    pub fn lmail(&self) {
        self.lmail_messages.inc();
    }

    /// Counts one FINGER line.
    #[inline]
    pub fn finger(&self) {
        self.finger_queries.inc();
    }
}
