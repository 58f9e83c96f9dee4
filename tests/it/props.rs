//! Property tests for every parser and for the line splitter, and a replay of the committed
//! fuzz corpus (`fuzz/corpus/<target>/`) through the same checks the fuzz targets run.
//!
//! The checks themselves live in `fuzz/src/lib.rs`, shared with the cargo-fuzz targets, so
//! what CI replays here is exactly what the fuzzers asserted.

use std::net::Ipv6Addr;
use std::time::Instant;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use xmail_exporter::parse::ctrl::{CtrlKind, parse_ctrl};
use xmail_exporter::parse::filters::{FilterStage, parse_filter};
use xmail_exporter::parse::finger::parse_finger;
use xmail_exporter::parse::lmail::parse_lmail;
use xmail_exporter::parse::pop3::{LoginResult, parse_pop3};
use xmail_exporter::parse::psync::{SyncResult, parse_psync};
use xmail_exporter::parse::smail::{DeliveryType, parse_smail};
use xmail_exporter::parse::smtp::parse_smtp;
use xmail_exporter::parse::status::{
    AuthMechanism, ParsedStatus, Status, StatusCode, parse_status,
};
use xmail_exporter::parse::time::LocalTime;
use xmail_exporter::parse::webmail::parse_webmail;
use xmail_exporter::read::lines::{MAX_LINE_BYTES, READ_CHUNK};

#[path = "../../fuzz/src/lib.rs"]
mod checks;

use checks::{CLASSIFIER, check_linebuf, render_time};

/// Case counts: the whole file runs in a few seconds in a debug build. `PROPTEST_CASES`
/// overrides them for a deeper run. Failures are not persisted to files: a failure found
/// here becomes a unit test next to its parser.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------
// Generators

/// A valid XMail time.
fn local_time() -> impl Strategy<Value = LocalTime> {
    (0i16..=9999, 1i8..=12, 1i8..=31, 0i8..24, 0i8..60, 0i8..=60).prop_map(
        |(year, month, day, hour, minute, second)| LocalTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
        },
    )
}

/// A host name, or empty (fields 1, 2, 6 and 13 are empty on some lines).
fn host_or_empty() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just(String::new()),
        4 => "([a-z0-9][a-z0-9-]{0,10}\\.){0,3}[a-z]{2,6}\\.?",
    ]
}

/// An address as XMail 1.25+ validates it (RFC dot-atom characters), or empty.
fn address_or_empty() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just(String::new()),
        4 => "[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,20}@([a-z0-9-]{1,10}\\.){0,2}[a-z]{2,6}",
    ]
}

fn ip() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|[a, b, c, d]| format!("{a}.{b}.{c}.{d}")),
        any::<u128>().prop_map(|n| Ipv6Addr::from(n).to_string()),
        any::<[u8; 4]>().prop_map(|[a, b, c, d]| format!("::ffff:{a}.{b}.{c}.{d}")),
    ]
}

/// A HELO argument: 7-bit bytes except NUL, CR and LF, heavy on `"` and TAB, with whole
/// `"<TAB>"` separators mixed in (the client controls it; XMail writes it raw).
fn helo(allow_tab: bool) -> impl Strategy<Value = Vec<u8>> {
    let byte = (1u8..=0x7f).prop_filter("no CR, LF", |b| *b != b'\r' && *b != b'\n');
    let piece = prop_oneof![
        4 => byte.prop_map(|b| vec![b]),
        2 => Just(b"\"".to_vec()),
        2 => Just(b"\t".to_vec()),
        2 => Just(b"\"\t\"".to_vec()),
        2 => "[a-z0-9.-]{1,12}".prop_map(String::into_bytes),
    ];
    vec(piece, 0..12)
        .prop_map(|p| p.concat())
        .prop_filter("no TAB unless allowed", move |h| {
            allow_tab || !h.contains(&b'\t')
        })
}

/// The status an SMTP status string must parse to, owned.
#[derive(Clone, Debug, PartialEq)]
enum Want {
    Known(StatusCode, Option<Vec<u8>>, Option<AuthMechanism>),
    Unknown(Vec<u8>),
}

impl Want {
    fn check(&self, got: &ParsedStatus<'_>) {
        let have = match got.status {
            Status::Known(c) => {
                Want::Known(c, got.dnsbl_list.map(<[u8]>::to_vec), got.auth_mechanism)
            }
            Status::Unknown(w) => {
                assert!(got.dnsbl_list.is_none() && got.auth_mechanism.is_none());
                Want::Unknown(w.to_vec())
            }
        };
        assert_eq!(&have, self);
    }
}

/// A status string XMail writes (or could write), with what it must parse to.
fn status() -> impl Strategy<Value = (String, Want)> {
    let known = select(StatusCode::ALL.to_vec())
        .prop_filter("EIPMAP and AUTH have their own cases", |c| {
            !matches!(c, StatusCode::SenderIpDnsbl | StatusCode::AuthFailed)
        })
        .prop_map(|c| (c.as_str().to_string(), Want::Known(c, None, None)));
    let legacy = Just((
        "RCV=OK".to_string(),
        Want::Known(StatusCode::RecvOk, None, None),
    ));
    let eipmap = prop_oneof![
        1 => Just(None),
        4 => "[a-z0-9.-]{0,30}".prop_map(Some),
        1 => vec(any::<u8>(), 0..16).prop_map(|b| Some(String::from_utf8_lossy(&b).into_owned())),
    ]
    .prop_map(|list| match list {
        None => (
            "SNDRIP=EIPMAP".to_string(),
            Want::Known(StatusCode::SenderIpDnsbl, None, None),
        ),
        Some(l) => (
            format!("SNDRIP=EIPMAP ({l})"),
            Want::Known(StatusCode::SenderIpDnsbl, Some(l.into_bytes()), None),
        ),
    });
    let mechs = AuthMechanism::ALL
        .iter()
        .filter(|m| **m != AuthMechanism::Other)
        .map(|m| (m.as_str().to_string(), *m))
        .collect::<Vec<_>>();
    let auth = prop_oneof![
        Just(("AUTH=EFAIL".to_string(), AuthMechanism::Other)),
        select(mechs).prop_map(|(m, k)| (format!("AUTH=EFAIL:TYPE={m}"), k)),
        "[A-Z0-9-]{0,12}".prop_map(|m| {
            let k = AuthMechanism::ALL
                .into_iter()
                .find(|k| *k != AuthMechanism::Other && k.as_str() == m)
                .unwrap_or(AuthMechanism::Other);
            (format!("AUTH=EFAIL:TYPE={m}"), k)
        }),
    ]
    .prop_map(|(s, k)| (s, Want::Known(StatusCode::AuthFailed, None, Some(k))));
    let unknown = "[A-Z]{1,24}=[A-Z0-9_-]{1,24}"
        .prop_filter("not in the table", |s| {
            parse_status(s.as_bytes()).is_some_and(|p| matches!(p.status, Status::Unknown(_)))
        })
        .prop_map(|s| {
            let w = Want::Unknown(s.clone().into_bytes());
            (s, w)
        });
    prop_oneof![
        6 => known,
        1 => legacy,
        2 => eipmap,
        2 => auth,
        2 => unknown,
    ]
}

/// How a POP3 line ends.
#[derive(Clone, Debug)]
enum Pop3End {
    /// 1.25+: `"LOGIN" "<messages>" "<bytes>"`.
    Login(u64, u64),
    /// 1.25+: `"ELOGIN"`.
    Failed,
    /// Up to 1.24: nothing after the password.
    Legacy,
}

#[derive(Clone, Debug)]
struct Pop3Record {
    server_fqdn: String,
    domain: String,
    peer_ip: String,
    time: LocalTime,
    user: Vec<u8>,
    password: Vec<u8>,
    end: Pop3End,
}

/// Client text (a POP3 user or password): any bytes but LF, heavy on `"`, TAB and the
/// status words.
fn client_text() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => any::<u8>().prop_filter("no LF", |b| *b != b'\n').prop_map(|b| vec![b]),
        2 => Just(b"\"\t\"".to_vec()),
        1 => Just(b"LOGIN".to_vec()),
        1 => Just(b"ELOGIN".to_vec()),
        1 => Just(b"\"".to_vec()),
    ];
    vec(piece, 0..12).prop_map(|v| v.concat())
}

fn pop3_record() -> impl Strategy<Value = Pop3Record> {
    (
        (host_or_empty(), host_or_empty(), ip(), local_time()),
        (client_text(), client_text()),
        prop_oneof![
            (0u64..100_000, 0u64..=9_999_999_999_999_999_999)
                .prop_map(|(m, b)| Pop3End::Login(m, b)),
            Just(Pop3End::Failed),
            Just(Pop3End::Legacy),
        ],
    )
        .prop_map(
            |((server_fqdn, domain, peer_ip, time), (user, password), end)| Pop3Record {
                server_fqdn,
                domain,
                peer_ip,
                time,
                user,
                password,
                end,
            },
        )
}

impl Pop3Record {
    fn render(&self, crlf: bool) -> Vec<u8> {
        let time = render_time(self.time);
        let (m, b);
        let mut fields: Vec<&[u8]> = vec![
            self.server_fqdn.as_bytes(),
            self.domain.as_bytes(),
            self.peer_ip.as_bytes(),
            time.as_bytes(),
            &self.user,
            &self.password,
        ];
        match self.end {
            Pop3End::Login(messages, bytes) => {
                (m, b) = (messages.to_string(), bytes.to_string());
                fields.extend([&b"LOGIN"[..], m.as_bytes(), b.as_bytes()]);
            }
            Pop3End::Failed => fields.push(b"ELOGIN"),
            Pop3End::Legacy => {}
        }
        render(&fields, crlf)
    }

    /// A legacy line ends with the password, so a password that itself ends like a status
    /// (`…"<TAB>"ELOGIN`, or exactly `ELOGIN`) cannot be told from one, nor can a user name
    /// and password that together end like one (`…"LOGIN"<TAB>"3"<TAB>"4`, with numbers
    /// where XMail writes the counts); XMail 1.25+ lines always can, whatever the user and
    /// password hold.
    fn ambiguous(&self) -> bool {
        if !matches!(self.end, Pop3End::Legacy) {
            return false;
        }
        // The line's fields as read from the right: a separator is `"<TAB>"`, and the next
        // one to the left ends at or before the quote that opens this one.
        let line = self.render(false);
        let inner = &line[1..line.len() - 1];
        let mut fields: Vec<&[u8]> = Vec::new();
        let mut end = inner.len();
        while fields.len() < 3 {
            let Some(p) = inner[..end].windows(3).rposition(|w| w == b"\"\t\"") else {
                break;
            };
            fields.push(&inner[p + 3..end]);
            end = p;
        }
        let number = |f: &[u8]| !f.is_empty() && f.len() <= 19 && f.iter().all(u8::is_ascii_digit);
        match fields[..] {
            [last, ..] if last == b"ELOGIN" || last == b"LOGIN" => true,
            [bytes, messages, status] => status == b"LOGIN" && number(messages) && number(bytes),
            _ => false,
        }
    }

    fn check(&self, line: &[u8]) {
        let ev = parse_pop3(line).unwrap_or_else(|e| {
            panic!("{e}: {:?}", String::from_utf8_lossy(line));
        });
        assert_eq!(ev.server_fqdn, self.server_fqdn.as_bytes());
        assert_eq!(ev.domain, self.domain.as_bytes());
        assert_eq!(ev.peer_ip, self.peer_ip.as_bytes());
        assert_eq!(ev.time, self.time);
        let want = match self.end {
            Pop3End::Login(m, b) => (LoginResult::Ok, Some(m), Some(b)),
            Pop3End::Failed => (LoginResult::Failed, None, None),
            Pop3End::Legacy => (LoginResult::Unknown, None, None),
        };
        assert_eq!(
            (ev.result, ev.messages, ev.mailbox_bytes),
            want,
            "{:?}",
            String::from_utf8_lossy(line)
        );
    }
}

/// Writes a record as XMail does: every field quoted, TAB between, optional CR.
fn render(fields: &[&[u8]], crlf: bool) -> Vec<u8> {
    let mut out = vec![b'"'];
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\"\t\"");
        }
        out.extend_from_slice(f);
    }
    out.push(b'"');
    if crlf {
        out.push(b'\r');
    }
    out
}

#[derive(Clone, Debug)]
struct SmtpRecord {
    server_fqdn: String,
    server_domain: String,
    peer_ip: String,
    time: LocalTime,
    helo: Vec<u8>,
    dest_domain: String,
    sender: String,
    recipient: String,
    message_id: String,
    status: (String, Want),
    auth_user: String,
    size: u64,
    client_fqdn: String,
}

fn smtp_record(helo_tab: bool) -> impl Strategy<Value = SmtpRecord> {
    (
        (host_or_empty(), host_or_empty(), ip(), local_time()),
        helo(helo_tab),
        (
            host_or_empty(),
            address_or_empty(),
            address_or_empty(),
            prop_oneof![Just(String::new()), "S[0-9A-F]{1,16}"],
            status(),
            address_or_empty(),
            prop_oneof![0u64..100_000_000, 0u64..=9_999_999_999_999_999_999],
            host_or_empty(),
        ),
    )
        .prop_map(
            |(
                (server_fqdn, server_domain, peer_ip, time),
                helo,
                (dest_domain, sender, recipient, message_id, status, auth_user, size, client_fqdn),
            )| SmtpRecord {
                server_fqdn,
                server_domain,
                peer_ip,
                time,
                helo,
                dest_domain,
                sender,
                recipient,
                message_id,
                status,
                auth_user,
                size,
                client_fqdn,
            },
        )
}

impl SmtpRecord {
    fn render(&self, thirteen: bool, crlf: bool) -> Vec<u8> {
        let time = render_time(self.time);
        let size = self.size.to_string();
        let mut fields: Vec<&[u8]> = vec![
            self.server_fqdn.as_bytes(),
            self.server_domain.as_bytes(),
            self.peer_ip.as_bytes(),
            time.as_bytes(),
            &self.helo,
            self.dest_domain.as_bytes(),
            self.sender.as_bytes(),
            self.recipient.as_bytes(),
            self.message_id.as_bytes(),
            self.status.0.as_bytes(),
            self.auth_user.as_bytes(),
            size.as_bytes(),
        ];
        if thirteen {
            fields.push(self.client_fqdn.as_bytes());
        }
        render(&fields, crlf)
    }

    fn check(&self, line: &[u8], thirteen: bool) {
        let ev = parse_smtp(line).unwrap_or_else(|e| {
            panic!("{e}: {:?}", String::from_utf8_lossy(line));
        });
        assert_eq!(ev.server_fqdn, self.server_fqdn.as_bytes());
        assert_eq!(ev.server_domain, self.server_domain.as_bytes());
        assert_eq!(ev.peer_ip, self.peer_ip.as_bytes());
        assert_eq!(ev.time, self.time);
        assert_eq!(
            ev.helo,
            &self.helo[..],
            "HELO {:?}",
            String::from_utf8_lossy(&self.helo)
        );
        assert_eq!(ev.dest_domain, self.dest_domain.as_bytes());
        assert_eq!(ev.sender, self.sender.as_bytes());
        assert_eq!(ev.recipient, self.recipient.as_bytes());
        assert_eq!(ev.message_id, self.message_id.as_bytes());
        self.status.1.check(&ev.status);
        assert_eq!(ev.auth_user, self.auth_user.as_bytes());
        assert_eq!(ev.size, self.size);
        let fqdn: &[u8] = if thirteen {
            self.client_fqdn.as_bytes()
        } else {
            b""
        };
        assert_eq!(ev.client_fqdn, fqdn);
    }
}

#[derive(Clone, Debug)]
struct SmailRecord {
    smtp_domain: String,
    spool_file: String,
    message_id: String,
    sender: String,
    recipient: String,
    delivery: String,
    param: String,
    time: LocalTime,
    remote: Vec<u8>,
}

fn smail_record() -> impl Strategy<Value = SmailRecord> {
    let types: Vec<String> = DeliveryType::ALL
        .iter()
        .filter(|t| **t != DeliveryType::Other)
        .map(|t| t.as_str().to_string())
        .collect();
    // Field 9: any bytes but LF, heavy on the ones that matter.
    let remote_byte = prop_oneof![
        4 => any::<u8>().prop_filter("no LF", |b| *b != b'\n'),
        1 => Just(b'"'),
        1 => Just(b'\t'),
        1 => Just(b'\r'),
        1 => Just(0u8),
    ];
    (
        (
            host_or_empty(),
            "[0-9]{13}\\.[0-9a-f]{1,12}\\.[0-9a-f]{1,8}\\.[0-9a-f]{1,4}(\\.[a-z.]{1,20}|\\.eml)",
            "[SLPX][0-9A-F]{1,16}",
            address_or_empty(),
            address_or_empty(),
        ),
        (
            prop_oneof![4 => select(types), 1 => "[A-Za-z0-9]{1,32}"],
            prop_oneof![
                host_or_empty(),
                address_or_empty(),
                "(/[a-z0-9._-]{1,10}){1,4}"
            ],
            local_time(),
            vec(remote_byte, 0..80),
        ),
    )
        .prop_map(
            |(
                (smtp_domain, spool_file, message_id, sender, recipient),
                (delivery, param, time, remote),
            )| SmailRecord {
                smtp_domain,
                spool_file,
                message_id,
                sender,
                recipient,
                delivery,
                param,
                time,
                remote,
            },
        )
}

impl SmailRecord {
    fn render(&self, nine: bool, crlf: bool) -> Vec<u8> {
        let time = render_time(self.time);
        let mut fields: Vec<&[u8]> = vec![
            self.smtp_domain.as_bytes(),
            self.spool_file.as_bytes(),
            self.message_id.as_bytes(),
            self.sender.as_bytes(),
            self.recipient.as_bytes(),
            self.delivery.as_bytes(),
            self.param.as_bytes(),
            time.as_bytes(),
        ];
        if nine {
            fields.push(&self.remote);
        }
        render(&fields, crlf)
    }

    fn check(&self, line: &[u8], nine: bool) {
        let ev = parse_smail(line).unwrap_or_else(|e| {
            panic!("{e}: {:?}", String::from_utf8_lossy(line));
        });
        assert_eq!(ev.smtp_domain, self.smtp_domain.as_bytes());
        assert_eq!(ev.spool_file, self.spool_file.as_bytes());
        assert_eq!(ev.message_id, self.message_id.as_bytes());
        assert_eq!(ev.sender, self.sender.as_bytes());
        assert_eq!(ev.recipient, self.recipient.as_bytes());
        assert_eq!(ev.delivery_raw, self.delivery.as_bytes());
        let want_type = DeliveryType::ALL
            .into_iter()
            .find(|t| t.as_str() == self.delivery)
            .unwrap_or(DeliveryType::Other);
        assert_eq!(ev.delivery, want_type);
        assert_eq!(ev.param, self.param.as_bytes());
        assert_eq!(ev.time, self.time);
        assert_eq!(ev.remote_id, nine.then_some(&self.remote[..]));
        assert!(!ev.continues);
    }
}

/// A valid record of each kind with bytes that matter (`"`, TAB, CR, NUL, LF, anything)
/// inserted, overwritten or cut at random places.
fn mangled(valid: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let edit = (
        any::<prop::sample::Index>(),
        0u8..4,
        prop_oneof![
            Just(b'"'),
            Just(b'\t'),
            Just(b'\r'),
            Just(0u8),
            Just(b'\n'),
            any::<u8>()
        ],
    );
    (valid, vec(edit, 0..8)).prop_map(|(mut line, edits)| {
        for (at, op, b) in edits {
            let i = at.index(line.len() + 1);
            match op {
                0 => line.insert(i, b),
                1 if i < line.len() => line[i] = b,
                2 => line.truncate(i),
                _ if i < line.len() => {
                    line.remove(i);
                }
                _ => {}
            }
        }
        line
    })
}

fn valid_lines() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (pop3_record(), any::<bool>()).prop_map(|(r, crlf)| r.render(crlf)),
        (smtp_record(true), any::<bool>()).prop_map(|(r, crlf)| r.render(true, crlf)),
        (smtp_record(false), any::<bool>()).prop_map(|(r, crlf)| r.render(false, crlf)),
        (smail_record(), any::<bool>(), any::<bool>()).prop_map(|(r, n, c)| r.render(n, c)),
        status().prop_map(|(s, _)| s.into_bytes()),
        local_time().prop_map(|t| render_time(t).into_bytes()),
    ]
}

/// Runs every check on one input.
fn check_all(data: &[u8]) {
    checks::check_smtp(data);
    checks::check_smail(data);
    checks::check_status(data);
    checks::check_webmail(data);
    checks::check_pop3(data);
    checks::check_ctrl(data);
    checks::check_psync(data);
    checks::check_filters(data);
    checks::check_lmail(data);
    checks::check_finger(data);
    checks::check_time(data);
}

// ---------------------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(config(512))]

    /// No parser panics on arbitrary bytes, and what each accepts is consistent.
    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(data in vec(any::<u8>(), 0..300)) {
        check_all(&data);
    }

    /// Nor on valid records of every kind with `"`, TAB, CR, NUL and LF mixed in.
    #[test]
    fn parsers_never_panic_on_mangled_records(data in mangled(valid_lines())) {
        check_all(&data);
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// A 13-field SMTP record, HELO included (with `"`, TAB and `"<TAB>"` in it), comes back
    /// field by field.
    #[test]
    fn smtp_13_fields_round_trip(r in smtp_record(true), crlf in any::<bool>()) {
        r.check(&r.render(true, crlf), true);
    }

    /// A 12-field record (XMail before 1.12) too, as long as its HELO has no TAB: with one,
    /// 12 and 13 fields cannot be told apart.
    #[test]
    fn smtp_12_fields_round_trip(r in smtp_record(false), crlf in any::<bool>()) {
        r.check(&r.render(false, crlf), false);
    }

    /// An SMAIL record of 8 or 9 fields, field 9 any bytes but LF, comes back field by field.
    #[test]
    fn smail_round_trip(r in smail_record(), nine in any::<bool>(), crlf in any::<bool>()) {
        r.check(&r.render(nine, crlf), nine);
    }

    /// A POP3 record comes back field by field, its result and mailbox counts read from the
    /// right whatever the user name and password hold (`"`, TAB, `"<TAB>"`, status words).
    #[test]
    fn pop3_round_trip(r in pop3_record(), crlf in any::<bool>()) {
        prop_assume!(!r.ambiguous());
        r.check(&r.render(crlf));
    }

    /// Status strings: known ones, `SNDRIP=EIPMAP (list)`, `AUTH=EFAIL[:TYPE=X]`, unknown
    /// well-formed ones.
    #[test]
    fn status_round_trip((s, want) in status()) {
        let got = parse_status(s.as_bytes());
        prop_assert!(got.is_some(), "{s:?} not parsed");
        want.check(&got.unwrap());
    }

    /// Times: XMail's form exactly, and the loose form with any of its separators and junk
    /// after it.
    #[test]
    fn time_round_trip(
        t in local_time(),
        date_sep in select(vec![b'-', b'/', b'.']),
        mid in select(vec![b' ', b'T']),
        tail in vec(any::<u8>(), 0..8),
    ) {
        let s = render_time(t).into_bytes();
        prop_assert_eq!(LocalTime::parse_xmail(&s), Some(t));
        let mut loose = s.clone();
        loose[4] = date_sep;
        loose[7] = date_sep;
        loose[10] = mid;
        loose.extend_from_slice(&tail);
        prop_assert_eq!(LocalTime::parse_loose(&loose), Some(t));
    }

    /// Webmail: a UTF-8 line comes back as its text, with a leading time where it has one.
    #[test]
    fn webmail_text_and_time(
        t in local_time(),
        stamp in any::<bool>(),
        text in "[^\r\n]{1,60}",
    ) {
        let line = if stamp {
            format!("[{}] {text}", render_time(t))
        } else {
            format!("x {text}")
        };
        let ev = parse_webmail(line.as_bytes(), &CLASSIFIER).unwrap();
        prop_assert_eq!(&ev.text[..], &line[..]);
        prop_assert!(ev.category < CLASSIFIER.categories().len());
        prop_assert_eq!(ev.time.map(|s| s.time), stamp.then_some(t));
    }
}

/// One piece of a [`LineBuf`](xmail_exporter::read::lines::LineBuf) input stream.
#[derive(Clone, Debug)]
enum Piece {
    /// Short bytes, LF-heavy.
    Bytes(Vec<u8>),
    /// `n` copies of one byte: lines at, just under and just over the limit, or far longer
    /// than a whole read buffer.
    Run(u8, usize),
}

fn stream() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        3 => any::<u8>(),
        2 => Just(b'\n'),
        1 => Just(b'\r'),
    ];
    let piece = prop_oneof![
        12 => vec(byte, 0..40).prop_map(Piece::Bytes),
        2 => (Just(b'x'), (MAX_LINE_BYTES - 2)..=(MAX_LINE_BYTES + 2))
            .prop_map(|(b, n)| Piece::Run(b, n)),
        1 => (Just(b'y'), (MAX_LINE_BYTES + 3)..(3 * READ_CHUNK))
            .prop_map(|(b, n)| Piece::Run(b, n)),
    ];
    vec(piece, 0..12).prop_map(|pieces| {
        let mut out = Vec::new();
        for p in pieces {
            match p {
                Piece::Bytes(b) => out.extend_from_slice(&b),
                Piece::Run(b, n) => out.resize(out.len() + n, b),
            }
        }
        out
    })
}

/// Read sizes, cycled: 0 (no data for now), tiny, medium, and larger than the buffer.
fn steps() -> impl Strategy<Value = Vec<usize>> {
    let step = prop_oneof![
        1 => Just(0usize),
        2 => 1usize..8,
        2 => 8usize..4096,
        3 => 4096usize..(READ_CHUNK + 50_000),
    ];
    vec(step, 1..6)
}

proptest! {
    #![proptest_config(config(96))]

    /// LineBuf hands out exactly the lines of a plain split on LF (over-long ones by their
    /// exact length), and consumes exactly the bytes up to the last LF, whatever the read
    /// sizes; with a skipped first line, that line is consumed silently.
    #[test]
    fn linebuf_matches_a_plain_split(
        data in stream(),
        steps in steps(),
        skip_first in prop::bool::weighted(0.2),
    ) {
        check_linebuf(&data, &steps, skip_first);
    }
}

// ---------------------------------------------------------------------------------------
// The fuzz corpus as a regression suite

/// Every file of `fuzz/corpus/<target>/` through the check its fuzz target runs.
#[test]
fn fuzz_corpus_replays() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let started = Instant::now();
    let mut counts = Vec::new();
    for target in [
        "smtp", "smail", "status", "webmail", "pop3", "ctrl", "psync", "filters", "lmail",
        "finger", "lines",
    ] {
        let check = checks::check_for_target(target).unwrap();
        let dir = root.join(target);
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let res = std::panic::catch_unwind(|| check(&data));
            assert!(res.is_ok(), "{target}: {} fails", path.display());
            n += 1;
        }
        assert!(n > 0, "{}: empty corpus", dir.display());
        counts.push(format!("{target}={n}"));
    }
    eprintln!(
        "fuzz corpus replayed: {} in {:.1?}",
        counts.join(" "),
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------------------
// The other XMail logs: CTRL, PSYNC, filters, LMAIL, FINGER. Their client or admin text (a
// CTRL user and password, a PSYNC remote user, a filter's command line, an LMAIL file name, a
// FINGER query) may hold `"`, TAB and whole separators; the fields around it come back.

/// Client text with no whole separator in it, nor one it could form with the quotes around
/// it: what XMail itself can write in a field split from the left.
fn plain_client_text() -> impl Strategy<Value = Vec<u8>> {
    client_text().prop_filter("no separator", |t| {
        !t.windows(3).any(|w| w == b"\"\t\"") && !t.starts_with(b"\t\"") && !t.ends_with(b"\"\t")
    })
}

proptest! {
    #![proptest_config(config(256))]

    /// CTRL: the peer, the time and the kind always come back, whatever the password holds;
    /// the user too when it holds no separator.
    #[test]
    fn ctrl_round_trip(
        ip in ip(),
        user in plain_client_text(),
        password in client_text(),
        t in local_time(),
        kind in select(vec![CtrlKind::Request, CtrlKind::Auth, CtrlKind::Fail]),
        crlf in any::<bool>(),
    ) {
        let word: &[u8] = match kind {
            CtrlKind::Request => b"REQ",
            CtrlKind::Auth => b"AUTH",
            CtrlKind::Fail => b"FAIL",
        };
        let time = render_time(t);
        let line = render(&[ip.as_bytes(), &user, &password, time.as_bytes(), word], crlf);
        let ev = parse_ctrl(&line).unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&line)));
        prop_assert_eq!(ev.peer_ip, ip.as_bytes());
        prop_assert_eq!(ev.user, &user[..]);
        prop_assert_eq!(ev.time, t);
        prop_assert_eq!(ev.kind, kind);
    }

    /// PSYNC: every field back, the remote user (the one in the middle) any text.
    #[test]
    fn psync_round_trip(
        (domain, user, remote_domain) in (host_or_empty(), host_or_empty(), host_or_empty()),
        remote_user in client_text(),
        t in local_time(),
        result in select(SyncResult::ALL.to_vec()),
        counts in (0u64..1_000_000, 0u64..u64::MAX / 2, 0u64..1_000_000, 0u64..u64::MAX / 2),
        crlf in any::<bool>(),
    ) {
        let status: &[u8] = match result {
            SyncResult::Ok => b"SYNC=OK",
            SyncResult::Failed => b"SYNC=EFAIL",
            SyncResult::NoUser => b"SYNC=ENOUSER",
        };
        let time = render_time(t);
        let n = [counts.0.to_string(), counts.1.to_string(), counts.2.to_string(), counts.3.to_string()];
        let line = render(&[
            time.as_bytes(), domain.as_bytes(), user.as_bytes(), remote_domain.as_bytes(),
            &remote_user, b"POP3", status, n[0].as_bytes(), n[1].as_bytes(), n[2].as_bytes(),
            n[3].as_bytes(),
        ], crlf);
        let ev = parse_psync(&line).unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&line)));
        prop_assert_eq!(ev.time, t);
        prop_assert_eq!(ev.local_domain, domain.as_bytes());
        prop_assert_eq!(ev.local_user, user.as_bytes());
        prop_assert_eq!(ev.remote_domain, remote_domain.as_bytes());
        prop_assert_eq!(ev.remote_user, &remote_user[..]);
        prop_assert_eq!(ev.result, result);
        prop_assert_eq!(
            (ev.msgs_synced, ev.bytes_synced, ev.msgs_err, ev.bytes_err),
            counts
        );
    }

    /// Filters: every field back, the command line (the last, any text) included.
    #[test]
    fn filters_round_trip(
        (sender, recipient) in (address_or_empty(), address_or_empty()),
        (local_ip, remote_ip) in (ip(), ip()),
        t in local_time(),
        stage in select(FilterStage::ALL.to_vec()),
        (exec, exit) in (-20i32..5, -5i32..40),
        command in client_text(),
        crlf in any::<bool>(),
    ) {
        let time = render_time(t);
        let (e, x) = (exec.to_string(), exit.to_string());
        let line = render(&[
            sender.as_bytes(), recipient.as_bytes(), local_ip.as_bytes(), remote_ip.as_bytes(),
            time.as_bytes(), stage.as_str().as_bytes(), b"", e.as_bytes(), x.as_bytes(), &command,
        ], crlf);
        let ev = parse_filter(&line).unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&line)));
        prop_assert_eq!(ev.sender, sender.as_bytes());
        prop_assert_eq!(ev.recipient, recipient.as_bytes());
        prop_assert_eq!(ev.time, t);
        prop_assert_eq!(ev.stage, stage);
        prop_assert_eq!((ev.exec_result, ev.exit_code), (exec, exit));
        prop_assert_eq!(ev.command, &command[..]);
    }

    /// LMAIL: the domain, the ID and the time back, the file name (in the middle) any text.
    #[test]
    fn lmail_round_trip(
        domain in host_or_empty(),
        file in client_text(),
        id in "L[0-9A-F]{1,8}",
        t in local_time(),
        crlf in any::<bool>(),
    ) {
        let time = render_time(t);
        let line = render(&[domain.as_bytes(), &file, id.as_bytes(), time.as_bytes()], crlf);
        let ev = parse_lmail(&line).unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&line)));
        prop_assert_eq!(ev.smtp_domain, domain.as_bytes());
        prop_assert_eq!(ev.file_name, &file[..]);
        prop_assert_eq!(ev.message_id, id.as_bytes());
        prop_assert_eq!(ev.time, t);
    }

    /// FINGER: the host, domain, peer and time back, the query (the last) any text.
    #[test]
    fn finger_round_trip(
        (host, domain) in (host_or_empty(), host_or_empty()),
        peer in ip(),
        t in local_time(),
        query in client_text(),
        crlf in any::<bool>(),
    ) {
        let time = render_time(t);
        let line = render(&[host.as_bytes(), domain.as_bytes(), peer.as_bytes(), time.as_bytes(), &query], crlf);
        let ev = parse_finger(&line).unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&line)));
        prop_assert_eq!(ev.local_host, host.as_bytes());
        prop_assert_eq!(ev.local_domain, domain.as_bytes());
        prop_assert_eq!(ev.peer_ip, peer.as_bytes());
        prop_assert_eq!(ev.time, t);
        prop_assert_eq!(ev.query, &query[..]);
    }
}
