//! The sample logs of both format variants, parsed line by line, with exact counts per
//! status, source, delivery type and origin.

use std::collections::BTreeMap;

use xmail_exporter::parse::smail::parse_smail;
use xmail_exporter::parse::smtp::parse_smtp;
use xmail_exporter::parse::status::Status;

use crate::util::root;

fn lines(rel: &str) -> Vec<Vec<u8>> {
    let data = std::fs::read(root().join("tests/fixtures").join(rel)).unwrap();
    data.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn smtp_counts(rel: &str) -> (BTreeMap<String, u32>, BTreeMap<String, u32>) {
    let (mut by_status, mut other) = (BTreeMap::new(), BTreeMap::new());
    for l in lines(rel) {
        let ev = parse_smtp(&l).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&l)));
        let status = match ev.status.status {
            Status::Known(c) => c.as_str().to_string(),
            Status::Unknown(u) => String::from_utf8_lossy(u).into_owned(),
        };
        *by_status.entry(status).or_insert(0) += 1;
        *other
            .entry(format!("source={}", ev.source().as_str()))
            .or_insert(0) += 1;
        if let Some(list) = ev.status.dnsbl_list {
            *other
                .entry(format!("dnsbl={}", String::from_utf8_lossy(list)))
                .or_insert(0) += 1;
        }
        if let Some(m) = ev.status.auth_mechanism {
            *other.entry(format!("auth={}", m.as_str())).or_insert(0) += 1;
        }
        if ev.helo.contains(&b'"') {
            *other
                .entry(format!("helo={}", String::from_utf8_lossy(ev.helo)))
                .or_insert(0) += 1;
        }
    }
    (by_status, other)
}

fn table(pairs: &[(&str, u32)]) -> BTreeMap<String, u32> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn smtp_1_27_every_status() {
    let (by_status, other) = smtp_counts("xmail-1.27/smtp-202611270000");
    assert_eq!(
        by_status,
        table(&[
            ("AUTH=EFAIL", 4),
            ("ETRN=EACCESS", 1),
            ("POSTDATA=EFILTER", 1),
            ("PREDATA=EFILTER", 1),
            ("RCPT=EACCESS", 1),
            ("RCPT=EAVAIL", 3),
            ("RCPT=EDSBL", 1),
            ("RCPT=EFILTER", 1),
            ("RCPT=EFULL", 1),
            ("RCPT=ENBR", 1),
            ("RCPT=ERELAY", 1),
            ("RCPT=OK", 18),
            ("RECV=OK", 12),
            ("SIZE=EBIG", 1),
            ("SMTP=EERRS", 1),
            ("SMTP=ESSL", 1),
            ("SNDR=EEMPTY", 1),
            ("SNDR=ENODNS", 1),
            ("SNDR=ESPAM", 1),
            ("SNDR=ESYNTAX", 1),
            ("SNDRIP=EIPBAN", 1),
            ("SNDRIP=EIPMAP", 2),
            ("SNDRIP=EIPSPAM", 2),
            ("SNDRIP=ERDNS", 1),
            ("VRFY=EACCESS", 1),
        ])
    );
    assert_eq!(
        other,
        table(&[
            ("auth=CRAM-MD5", 1),
            ("auth=LOGIN", 2),
            ("auth=PLAIN", 1),
            ("dnsbl=bl.spamcop.net.", 1),
            ("dnsbl=zen.spamhaus.org.", 1),
            ("helo=friend\"s-pc", 2),
            ("source=external", 46),
            ("source=webmail", 14),
        ])
    );
}

#[test]
fn smtp_seed_format_rcv_ok_is_recv_ok() {
    let (by_status, other) = smtp_counts("seed-format/smtp-200604100000");
    assert_eq!(by_status, table(&[("RCPT=OK", 2), ("RECV=OK", 2)]));
    assert_eq!(
        other,
        table(&[("source=external", 2), ("source=webmail", 2)])
    );
}

fn smail_counts(rel: &str) -> BTreeMap<String, u32> {
    let mut m = BTreeMap::new();
    for l in lines(rel) {
        let ev = parse_smail(&l).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&l)));
        let fields = if ev.remote_id.is_some() { 9 } else { 8 };
        *m.entry(format!(
            "{} {} {fields}",
            ev.delivery.as_str(),
            ev.origin().as_str()
        ))
        .or_insert(0) += 1;
    }
    m
}

#[test]
fn smail_1_27_every_type_and_origin() {
    assert_eq!(
        smail_counts("xmail-1.27/smail-202611270000"),
        table(&[
            ("EXTRN bounce 9", 1),
            ("EXTRN pop3sync 9", 1),
            ("EXTRN smtp 9", 5),
            ("FILTER smtp 9", 3),
            ("FWD smtp 9", 2),
            ("LOCAL bounce 9", 2),
            ("LOCAL local 9", 1),
            ("LOCAL pop3sync 9", 1),
            ("LOCAL smtp 9", 11),
            ("LREDIR bounce 9", 1),
            ("LREDIR smtp 9", 3),
            ("REDIR smtp 9", 3),
            ("RLYS smtp 9", 1),
            ("SMTP smtp 9", 7),
        ])
    );
}

#[test]
fn smail_seed_format_has_eight_fields() {
    assert_eq!(
        smail_counts("seed-format/smail-200704170000"),
        table(&[("LOCAL smtp 8", 1), ("REDIR smtp 8", 1), ("SMTP smtp 8", 1)])
    );
}
