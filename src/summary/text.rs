//! The summary as aligned text tables, in the spirit of pflogsumm: [`render_text`]. Widths
//! count display columns (a Korean syllable takes two), sizes are in binary units. The words
//! come from [`crate::explain::words`]; the numbers from a [`Report`].

use std::fmt::Write as _;

use super::report::{Report, Traffic};
use crate::explain::Lang;
use crate::explain::words::{Words, words};

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
    if let Some(range) = &r.period.range {
        let since = range.since.as_deref().unwrap_or(w.range_start);
        let until = range.until.as_deref().unwrap_or(w.range_end);
        let _ = writeln!(out, "{}: {since} {} {until}", w.range, w.to);
    }
    let l = &r.lines;
    // The other logs are named only when they had lines.
    let others = [
        ("ctrl", l.ctrl),
        ("psync", l.psync),
        ("filters", l.filters),
        ("lmail", l.lmail),
        ("finger", l.finger),
    ];
    let malformed = l.smtp.malformed
        + l.smail.malformed
        + l.pop3.malformed
        + l.webmail.malformed
        + others.iter().map(|(_, c)| c.malformed).sum::<u64>();
    let _ = write!(
        out,
        "{}: smtp {}, smail {}, pop3 {}, webmail {}",
        w.lines_read, l.smtp.parsed, l.smail.parsed, l.pop3.parsed, l.webmail.parsed
    );
    for (name, c) in others.iter().filter(|(_, c)| c.any()) {
        let _ = write!(out, ", {name} {}", c.parsed);
    }
    let _ = write!(out, "; {} {malformed}", w.malformed);
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

    other_logs(&mut out, r, w);
    out
}

/// The sections of the CTRL, PSYNC, filters, LMAIL and FINGER logs, each only when its log
/// had lines.
fn other_logs(out: &mut String, r: &Report, w: &Words) {
    use Align::{Left as L, Right as R};
    let l = &r.lines;
    if l.ctrl.any() {
        section(out, w.ctrl_logins);
        let c = &r.ctrl_logins;
        let rows = vec![
            vec![c.ok.to_string(), w.ok.to_string()],
            vec![c.failed.to_string(), w.failed.to_string()],
        ];
        table(out, Some(&[w.count, w.result]), &[R, L], &rows);
    }
    if l.psync.any() {
        section(out, w.pop3_sync);
        let p = &r.pop3_sync;
        let rows = vec![
            vec![p.syncs.ok.to_string(), w.ok.to_string()],
            vec![p.syncs.failed.to_string(), w.failed.to_string()],
            vec![p.syncs.no_user.to_string(), w.no_user.to_string()],
        ];
        table(out, Some(&[w.count, w.result]), &[R, L], &rows);
        out.push('\n');
        let rows = vec![
            vec![
                w.messages.to_string(),
                p.messages.synced.to_string(),
                p.messages.error.to_string(),
            ],
            vec![
                w.bytes.to_string(),
                human_bytes(p.bytes.synced),
                human_bytes(p.bytes.error),
            ],
        ];
        table(out, Some(&["", w.synced, w.sync_error]), &[L, R, R], &rows);
    }
    if l.filters.any() {
        section(out, w.filter_runs);
        let rows: Vec<Vec<String>> = r
            .filter_runs
            .stages()
            .into_iter()
            .filter(|(_, o)| o.total() > 0)
            .map(|(stage, o)| {
                let mut row = vec![stage.to_string()];
                row.extend(
                    [o.passed, o.modified, o.rejected, o.error, o.skipped].map(|n| n.to_string()),
                );
                row
            })
            .collect();
        let o = &w.outcomes;
        rows_or_none(
            out,
            w,
            &[w.stage, o[0], o[1], o[2], o[3], o[4]],
            &[L, R, R, R, R, R],
            &rows,
        );
    }
    if l.lmail.any() {
        section(out, w.lmail);
        let rows = vec![vec![
            r.lmail_messages.to_string(),
            w.lmail_messages.to_string(),
        ]];
        table(out, None, &[R, L], &rows);
    }
    if l.finger.any() {
        section(out, w.finger);
        let rows = vec![vec![
            r.finger_queries.to_string(),
            w.finger_queries.to_string(),
        ]];
        table(out, None, &[R, L], &rows);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
