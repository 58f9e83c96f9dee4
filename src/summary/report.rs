//! The summary as `report --format json` prints it: [`Report`] and its rows. Field names
//! are the JSON interface that scripts rely on: keep them stable.
//!
//! One object: `period` (`first`, `last`: `"YYYY-MM-DD HH:MM:SS"` or null; `timezone`; with
//! `--since`/`--until` only, `range`: `since`, `until`, the bounds as
//! `"YYYY-MM-DD HH:MM:SS"`, null for an open end),
//! `lines` (per log: `smtp`, `smail`, `pop3`, `webmail`, `ctrl`, `psync`, `filters`,
//! `lmail`, `finger`; each `parsed`, `malformed`), `read_errors`, `totals` (`received`,
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
//! `bounces`), `webmail_errors` (`category`, `count`), `ctrl_logins` (`ok`, `failed`: the
//! `AUTH` and `FAIL` lines of `ctrl-*`), `pop3_sync` (`psync-*`: `syncs` (`ok`, `failed`,
//! `no_user`), `messages` and `bytes` (`synced`, `error`)), `filter_runs` (`filters-*`: one
//! object per stage, `in`, `out`, `post-rcpt`, `pre-data`, `post-data`, each with `passed`,
//! `modified`, `rejected`, `error`, `skipped`), `lmail_messages` (`lmail-*` lines),
//! `finger_queries` (`finger-*` lines) and `top` (the limit used). These five sections are
//! always there, zeros when their log was not read. Lists hold
//! only entries above zero, largest first (ties by name); the `top_*`, `largest_messages`,
//! `bounces_by_recipient` and `dnsbl_lists` lists are cut to `top` entries.

use serde::Serialize;

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
    /// Adds `o`'s counts.
    pub(crate) fn add(&mut self, o: &Traffic) {
        self.received += o.received;
        self.delivered += o.delivered;
        self.bounced += o.bounced;
        self.refused += o.refused;
    }

    pub(crate) fn any(&self) -> bool {
        self.received + self.delivered + self.bounced + self.refused > 0
    }
}

/// The summary as printed. Field names are the JSON interface: keep them stable.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// First and last time stamp counted, and the range asked for.
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
    /// CTRL (administration) logins by result.
    pub ctrl_logins: CtrlLogins,
    /// POP3 sync (`psync-*`) runs, messages and bytes.
    pub pop3_sync: Pop3Sync,
    /// Filter runs (`filters-*`) by stage and outcome.
    pub filter_runs: FilterRuns,
    /// Messages queued by LMAIL (`lmail-*` lines).
    pub lmail_messages: u64,
    /// FINGER queries (`finger-*` lines).
    pub finger_queries: u64,
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
    /// The time range asked for; absent (not null) without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<RangeBounds>,
}

/// The bounds of a time range, both included.
#[derive(Clone, Debug, Serialize)]
pub struct RangeBounds {
    /// `YYYY-MM-DD HH:MM:SS`, local time; null when the range has no start.
    pub since: Option<String>,
    /// `YYYY-MM-DD HH:MM:SS`, local time; null when the range has no end.
    pub until: Option<String>,
}

/// Lines of one log.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct LineCount {
    /// Lines that parsed.
    pub parsed: u64,
    /// Lines that did not (counted nowhere else).
    pub malformed: u64,
}

impl LineCount {
    /// Whether the log had any line, parsed or not.
    pub fn any(&self) -> bool {
        self.parsed + self.malformed > 0
    }
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
    /// `ctrl-*`.
    pub ctrl: LineCount,
    /// `psync-*`.
    pub psync: LineCount,
    /// `filters-*`.
    pub filters: LineCount,
    /// `lmail-*`.
    pub lmail: LineCount,
    /// `finger-*`.
    pub finger: LineCount,
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

/// CTRL logins by result (`REQ` lines, one per attempt, are not counted).
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct CtrlLogins {
    /// `AUTH`.
    pub ok: u64,
    /// `FAIL`.
    pub failed: u64,
}

/// POP3 sync runs, and what they fetched.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Pop3Sync {
    /// Runs by result.
    pub syncs: SyncRuns,
    /// Messages: `MsgsSynced`, `MsgsErr`.
    pub messages: SyncAmount,
    /// Bytes: `BytesSynced`, `BytesErr`.
    pub bytes: SyncAmount,
}

/// POP3 sync runs by result.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct SyncRuns {
    /// `SYNC=OK`.
    pub ok: u64,
    /// `SYNC=EFAIL`.
    pub failed: u64,
    /// `SYNC=ENOUSER`.
    pub no_user: u64,
}

/// Messages or bytes of POP3 syncs.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct SyncAmount {
    /// Fetched.
    pub synced: u64,
    /// Not fetched because of an error.
    pub error: u64,
}

/// Filter runs per stage, in XMail's order of the stages.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct FilterRuns {
    /// `in`: SMAIL inbound filters.
    #[serde(rename = "in")]
    pub inbound: FilterOutcomes,
    /// `out`: SMAIL outbound filters.
    #[serde(rename = "out")]
    pub outbound: FilterOutcomes,
    /// `post-rcpt`: SMTP filters after `RCPT TO`.
    #[serde(rename = "post-rcpt")]
    pub post_rcpt: FilterOutcomes,
    /// `pre-data`: SMTP filters on `DATA`.
    #[serde(rename = "pre-data")]
    pub pre_data: FilterOutcomes,
    /// `post-data`: SMTP filters after the message.
    #[serde(rename = "post-data")]
    pub post_data: FilterOutcomes,
}

impl FilterRuns {
    /// The stages with their label (`in`, `out`, `post-rcpt`, `pre-data`, `post-data`).
    pub fn stages(&self) -> [(&'static str, &FilterOutcomes); 5] {
        [
            ("in", &self.inbound),
            ("out", &self.outbound),
            ("post-rcpt", &self.post_rcpt),
            ("pre-data", &self.pre_data),
            ("post-data", &self.post_data),
        ]
    }
}

/// Filter runs of one stage by outcome.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct FilterOutcomes {
    /// The message went on unchanged.
    pub passed: u64,
    /// A SMAIL filter rewrote it (exit code 7).
    pub modified: u64,
    /// The filter refused it.
    pub rejected: u64,
    /// The command could not be run.
    pub error: u64,
    /// A pre-exec option skipped the command.
    pub skipped: u64,
}

impl FilterOutcomes {
    /// Runs, every outcome.
    pub fn total(&self) -> u64 {
        self.passed + self.modified + self.rejected + self.error + self.skipped
    }
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
