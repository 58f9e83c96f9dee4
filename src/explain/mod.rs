//! One plain sentence per log line, in English or Korean, in the spirit of the worked
//! examples administrators learn the logs from: what happened to whom, and why. The words of
//! `report`'s tables are in [`words`], the mail desk's in [`desk`]: every word a person reads
//! is in this module. What a line means is [`crate::meaning`]'s; this module only says it.

use std::fmt::Write;

use crate::parse::filters::{FilterOutcome, FilterStage};
use crate::parse::smail::{DeliveryType, SmailEvent};
use crate::parse::smtp::{SmtpEvent, Source};
use crate::parse::status::{Status, StatusCode};
use crate::parse::time::LocalTime;

pub mod desk;
pub mod words;

/// The language of the sentences.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
pub enum Lang {
    /// English.
    En,
    /// Korean (한국어).
    Ko,
}

/// Log bytes as text (invalid UTF-8 replaced), for a sentence or a JSON field.
pub fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Log bytes as text for a table on a terminal: control characters (a raw TAB in a HELO, an
/// ESC) become `?`, so they break neither the table nor the terminal.
pub fn printable(b: &[u8]) -> String {
    // Most log fields are printable ASCII already: one copy, no decoding.
    if let Some(ascii) = printable_ascii(b) {
        return ascii.to_string();
    }
    String::from_utf8_lossy(b)
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// `b` as text when it is printable ASCII (`' '` to `'~'`), which [`printable`] leaves as
/// it is.
#[inline]
pub fn printable_ascii(b: &[u8]) -> Option<&str> {
    if b.iter().all(|&c| (b' '..=b'~').contains(&c)) {
        // Printable ASCII is UTF-8.
        std::str::from_utf8(b).ok()
    } else {
        None
    }
}

fn or_null(b: &[u8]) -> String {
    if b.is_empty() {
        "<>".to_string()
    } else {
        lossy(b)
    }
}

/// The sentence for an SMTP line.
pub fn smtp(ev: &SmtpEvent<'_>, lang: Lang) -> String {
    use StatusCode::*;
    let (ip, from, to) = (lossy(ev.peer_ip), or_null(ev.sender), lossy(ev.recipient));
    let via = match (ev.source(), lang) {
        (Source::Webmail, Lang::En) => " (webmail)".to_string(),
        (Source::Webmail, Lang::Ko) => " (웹메일)".to_string(),
        (Source::Authenticated, Lang::En) => format!(" (authenticated as {})", lossy(ev.auth_user)),
        (Source::Authenticated, Lang::Ko) => format!(" ({} 인증)", lossy(ev.auth_user)),
        (Source::External, _) => String::new(),
    };
    let code = match ev.status.status {
        Status::Known(c) => c,
        Status::Unknown(u) => {
            return match lang {
                Lang::En => format!("status {} (not known to this tool)", lossy(u)),
                Lang::Ko => format!("알 수 없는 상태 {}", lossy(u)),
            };
        }
    };
    let list = ev
        .status
        .dnsbl_list
        .map(lossy)
        .unwrap_or_else(|| "?".into());
    let mech = ev.status.auth_mechanism.map(|m| m.as_str()).unwrap_or("?");
    let size = ev.size;
    let host = if ev.client_fqdn.is_empty() {
        String::new()
    } else {
        format!(" ({})", lossy(ev.client_fqdn))
    };
    match lang {
        Lang::En => match code {
            RcptOk => {
                format!("{from} -> {to}: recipient accepted (user exists or relay allowed){via}")
            }
            RecvOk => {
                format!(
                    "{size} bytes received from {ip}{host}{via}: the message is queued for delivery"
                )
            }
            RcptSyntax => "recipient refused: the address is not valid".into(),
            RcptTooMany => "recipient refused: too many recipients in one message".into(),
            RcptDisabled => format!("{to}: refused, the account may not receive mail"),
            RcptFull => format!("{to}: refused, the mailbox is full"),
            RcptAccess => format!("{to}: refused, {from} may not post to this mailing list"),
            RcptUnknownUser => format!("{to}: refused, no such user here"),
            RcptRelay => format!(
                "{to}: refused, {ip} may not relay mail to other domains (not authenticated?)"
            ),
            RcptFilter => format!("{to}: refused by the recipient filter"),
            PredataFilter => "message refused by the pre-DATA filter".into(),
            PostdataFilter => {
                "message refused by the content filter (antivirus/antispam) after it was received"
                    .into()
            }
            DataFilter => "message refused by an SMTP filter".into(),
            SenderIpBanned => {
                format!("connection from {ip} refused: the address is banned (smtp.ipmap.tab)")
            }
            SenderIpSpam => format!("{ip} refused: listed in spammers.tab"),
            SenderIpDnsbl => format!("{ip} refused: listed by the DNSBL {list}"),
            SenderIpNoRdns => format!("{ip} refused: it has no reverse DNS (PTR) record"),
            SenderEmpty => "the null sender <> was refused".into(),
            SenderSyntax => format!("sender {from} refused: not a valid address"),
            SenderNoDns => format!("sender {from} refused: its domain has no MX or A record"),
            SenderSpam => format!("sender {from} refused: listed in spam-address.tab"),
            SizeTooBig => format!("refused: the declared size of {size} bytes is over the limit"),
            TooManyErrors => format!("connection from {ip} dropped after too many errors"),
            TlsFailed => format!("STARTTLS handshake with {ip} failed; connection dropped"),
            AuthFailed => {
                format!("SMTP AUTH {mech} failed from {ip} (wrong user name or password)")
            }
            VrfyDenied => format!("VRFY from {ip} refused"),
            EtrnDenied => format!("ETRN from {ip} refused"),
            ConnFilter => format!("connection from {ip} refused by the connect filter"),
        },
        Lang::Ko => match code {
            RcptOk => {
                format!("{from} → {to}: 수신자 승인 (사용자가 존재하거나 릴레이 권한이 있음){via}")
            }
            RecvOk => {
                format!(
                    "{ip}{host}{via}에서 {size}바이트 메일을 받았습니다: 전달 대기열에 들어갔습니다"
                )
            }
            RcptSyntax => "수신자 거부: 주소 형식이 잘못되었습니다".into(),
            RcptTooMany => "수신자 거부: 한 메일의 수신자가 너무 많습니다".into(),
            RcptDisabled => format!("{to}: 거부, 메일을 받을 수 없는 계정입니다"),
            RcptFull => format!("{to}: 거부, 메일함 용량이 가득 찼습니다"),
            RcptAccess => format!("{to}: 거부, {from}은(는) 이 메일링 리스트에 보낼 수 없습니다"),
            RcptUnknownUser => format!("{to}: 거부, 존재하지 않는 사용자입니다"),
            RcptRelay => format!(
                "{to}: 거부, {ip}에는 외부 도메인으로의 릴레이 권한이 없습니다 (인증 안 함?)"
            ),
            RcptFilter => format!("{to}: 수신자 필터가 거부했습니다"),
            PredataFilter => "DATA 전 필터가 메일을 거부했습니다".into(),
            PostdataFilter => "내용 필터(백신/스팸)가 받은 메일을 거부했습니다".into(),
            DataFilter => "SMTP 필터가 메일을 거부했습니다".into(),
            SenderIpBanned => format!("{ip} 접속 거부: 차단된 IP입니다 (smtp.ipmap.tab)"),
            SenderIpSpam => format!("{ip} 거부: spammers.tab에 등록된 IP입니다"),
            SenderIpDnsbl => format!("{ip} 거부: RBL(DNSBL) {list}에 등록된 IP입니다"),
            SenderIpNoRdns => format!("{ip} 거부: 역방향 DNS(PTR) 레코드가 없습니다"),
            SenderEmpty => "빈 발신자 <>를 거부했습니다".into(),
            SenderSyntax => format!("발신자 {from} 거부: 주소 형식이 잘못되었습니다"),
            SenderNoDns => format!("발신자 {from} 거부: 도메인에 MX/A 레코드가 없습니다"),
            SenderSpam => format!("발신자 {from} 거부: spam-address.tab에 등록된 주소입니다"),
            SizeTooBig => format!("거부: 선언된 크기 {size}바이트가 제한을 넘습니다"),
            TooManyErrors => format!("{ip}: 오류가 너무 많아 연결을 끊었습니다"),
            TlsFailed => format!("{ip}와의 STARTTLS 협상 실패로 연결을 끊었습니다"),
            AuthFailed => format!("{ip}의 SMTP 인증({mech}) 실패 (아이디 또는 비밀번호 오류)"),
            VrfyDenied => format!("{ip}의 VRFY 명령을 거부했습니다"),
            EtrnDenied => format!("{ip}의 ETRN 명령을 거부했습니다"),
            ConnFilter => format!("{ip} 접속을 연결 필터가 거부했습니다"),
        },
    }
}

/// The sentence for an SMAIL line.
pub fn smail(ev: &SmailEvent<'_>, lang: Lang) -> String {
    let (to, param) = (lossy(ev.recipient), lossy(ev.param));
    let mut out = match (ev.delivery, lang) {
        (DeliveryType::Local, Lang::En) if ev.param != ev.recipient => {
            format!("delivered to the local mailbox {param} (for {to})")
        }
        (DeliveryType::Local, Lang::En) => format!("delivered to the local mailbox {param}"),
        // Old builds wrote the recipient, not the host, for remote deliveries.
        (DeliveryType::Smtp, Lang::En) if param.contains('@') => {
            format!("sent to {param} on its remote mail server")
        }
        (DeliveryType::Smtp, Lang::En) => format!("{to}: handed to remote server {param}"),
        (DeliveryType::Fwd, Lang::En) => format!("{to}: handed to the forwarder {param}"),
        (DeliveryType::Rlys, Lang::En) => format!("{to}: handed to the relay host {param}"),
        (DeliveryType::Extrn, Lang::En) => format!("external program {param} ran for {to}"),
        (DeliveryType::Filter, Lang::En) => {
            format!("filter {param} ran for {to} (this alone is not a delivery)")
        }
        (DeliveryType::Redir, Lang::En) => format!("forwarded to {param} by the user's redirect"),
        (DeliveryType::Lredir, Lang::En) => {
            format!("forwarded to {param} by the user's lredirect (sent as {to})")
        }
        (DeliveryType::Other, Lang::En) => {
            format!("delivery of type {} to {param}", lossy(ev.delivery_raw))
        }
        (DeliveryType::Local, Lang::Ko) if ev.param != ev.recipient => {
            format!("내부 메일함 {param}에 도착했습니다 ({to} 앞)")
        }
        (DeliveryType::Local, Lang::Ko) => format!("내부 메일함 {param}에 도착했습니다"),
        (DeliveryType::Smtp, Lang::Ko) if param.contains('@') => {
            format!("외부 메일서버의 {param} 사용자에게 발송했습니다")
        }
        (DeliveryType::Smtp, Lang::Ko) => format!("{to}: 외부 메일서버 {param}(으)로 발송했습니다"),
        (DeliveryType::Fwd, Lang::Ko) => format!("{to}: 포워더 {param}(으)로 넘겼습니다"),
        (DeliveryType::Rlys, Lang::Ko) => format!("{to}: 릴레이 서버 {param}(으)로 넘겼습니다"),
        (DeliveryType::Extrn, Lang::Ko) => {
            format!("{to}에 대해 외부 프로그램 {param}을(를) 실행했습니다")
        }
        (DeliveryType::Filter, Lang::Ko) => {
            format!("{to}에 대해 필터 {param}을(를) 실행했습니다 (이것만으로 전달된 것은 아님)")
        }
        (DeliveryType::Redir, Lang::Ko) => {
            format!("사용자의 포워딩(redirect) 설정으로 {param}에게 전달을 시도했습니다")
        }
        (DeliveryType::Lredir, Lang::Ko) => format!(
            "사용자의 포워딩(lredirect) 설정으로 {param}에게 {to} 이름으로 전달을 시도했습니다"
        ),
        (DeliveryType::Other, Lang::Ko) => {
            format!("{} 유형으로 {param}에 전달", lossy(ev.delivery_raw))
        }
    };
    if let Some(remote) = ev.remote_id.filter(|r| !r.is_empty()) {
        let _ = match lang {
            Lang::En => write!(out, "; it answered \"{}\"", lossy(remote)),
            Lang::Ko => write!(out, "; 상대 서버 응답 \"{}\"", lossy(remote)),
        };
    }
    out
}

/// The note for an accepted recipient that has no delivery line.
pub fn missing_delivery(
    recipient: &str,
    bounce: Option<(&str, &str, LocalTime)>,
    lang: Lang,
) -> String {
    match (bounce, lang) {
        (Some((id, to, time)), Lang::En) => format!(
            "{recipient}: no delivery line yet; a bounce {id} went to {to} at {time}: the delivery failed (see spool/*/*/slog and frozen)"
        ),
        (None, Lang::En) => format!(
            "{recipient}: no delivery line yet: still queued (spool/*/*/rsnd), frozen (spool/*/*/froz), or delivered in a later log file"
        ),
        (Some((id, to, time)), Lang::Ko) => format!(
            "{recipient}: 전달 기록이 아직 없습니다. {time}에 반송 메일 {id}이(가) {to}에게 갔습니다: 전달 실패 (spool/*/*/slog, froz 확인)"
        ),
        (None, Lang::Ko) => format!(
            "{recipient}: 전달 기록이 아직 없습니다: 재전송 대기(spool/*/*/rsnd), 동결(spool/*/*/froz), 또는 다음 로그 파일에 기록됨"
        ),
    }
}

/// A filter run joined to a message: what the filter did, and how it was matched (the
/// filters log carries no message ID).
pub fn filter_run(
    stage: FilterStage,
    outcome: FilterOutcome,
    exec_result: i32,
    exit_code: i32,
    lang: Lang,
) -> String {
    let stage = stage.as_str();
    match lang {
        Lang::En => {
            let did = match outcome {
                FilterOutcome::Passed => format!("let the message through (exit code {exit_code})"),
                FilterOutcome::Modified => format!("modified the message (exit code {exit_code})"),
                FilterOutcome::Rejected => format!("rejected the message (exit code {exit_code})"),
                FilterOutcome::Error => format!("could not run (XMail error {exec_result})"),
                FilterOutcome::Skipped => "was not run (excluded or whitelisted)".to_string(),
            };
            format!(
                "the {stage} filter {did}; matched by sender, recipient and time (the filters log has no message ID)"
            )
        }
        Lang::Ko => {
            let did = match outcome {
                FilterOutcome::Passed => format!("메일을 통과시켰습니다 (종료 코드 {exit_code})"),
                FilterOutcome::Modified => format!("메일을 수정했습니다 (종료 코드 {exit_code})"),
                FilterOutcome::Rejected => format!("메일을 거부했습니다 (종료 코드 {exit_code})"),
                FilterOutcome::Error => format!("실행되지 못했습니다 (XMail 오류 {exec_result})"),
                FilterOutcome::Skipped => {
                    "실행되지 않았습니다 (제외 또는 화이트리스트)".to_string()
                }
            };
            format!(
                "{stage} 필터가 {did}; 필터 로그에는 메시지 ID가 없어 발신자·수신자·시각으로 연결했습니다"
            )
        }
    }
}

/// The note for a message whose SMTP transaction did not end in `RECV=OK`.
pub fn not_received(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "the message itself was not accepted: nothing was delivered",
        Lang::Ko => "메일 본문이 접수되지 않았습니다: 전달된 것이 없습니다",
    }
}

/// The title of a traced "message" made of lines without a message ID.
pub fn no_message_id(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "(no message ID: refused before or without a transaction)",
        Lang::Ko => "(메시지 ID 없음: 트랜잭션 전에 거부됨)",
    }
}

/// A short title for a status, for tables of refusals (`report --format text`): what was
/// refused and why, without the addresses a sentence of [`smtp`] names.
pub fn status_title(code: StatusCode, lang: Lang) -> &'static str {
    use StatusCode::*;
    match lang {
        Lang::En => match code {
            RecvOk => "message received",
            RcptOk => "recipient accepted",
            RcptSyntax => "recipient address not valid",
            RcptTooMany => "too many recipients in one message",
            RcptDisabled => "account may not receive mail",
            RcptFull => "mailbox full",
            RcptAccess => "sender may not post to the mailing list",
            RcptUnknownUser => "no such user",
            RcptRelay => "relaying denied (not authenticated?)",
            RcptFilter => "recipient filter",
            PredataFilter => "pre-DATA filter",
            PostdataFilter => "content filter (antivirus/antispam)",
            DataFilter => "SMTP filter",
            SenderIpBanned => "IP banned (smtp.ipmap.tab)",
            SenderIpSpam => "IP in spammers.tab",
            SenderIpDnsbl => "IP listed by a DNSBL",
            SenderIpNoRdns => "IP has no reverse DNS",
            SenderEmpty => "null sender <> refused",
            SenderSyntax => "sender address not valid",
            SenderNoDns => "sender domain has no MX or A record",
            SenderSpam => "sender in spam-address.tab",
            SizeTooBig => "declared size over the limit",
            TooManyErrors => "too many errors, connection dropped",
            TlsFailed => "STARTTLS handshake failed",
            AuthFailed => "SMTP AUTH failed",
            VrfyDenied => "VRFY not allowed",
            EtrnDenied => "ETRN not allowed",
            ConnFilter => "connect filter",
        },
        Lang::Ko => match code {
            RecvOk => "메일 수신",
            RcptOk => "수신자 승인",
            RcptSyntax => "수신자 주소 형식 오류",
            RcptTooMany => "한 메일의 수신자가 너무 많음",
            RcptDisabled => "메일을 받을 수 없는 계정",
            RcptFull => "메일함 용량 초과",
            RcptAccess => "메일링 리스트 발송 권한 없음",
            RcptUnknownUser => "존재하지 않는 사용자",
            RcptRelay => "릴레이 거부 (인증 안 함?)",
            RcptFilter => "수신자 필터",
            PredataFilter => "DATA 전 필터",
            PostdataFilter => "내용 필터 (백신/스팸)",
            DataFilter => "SMTP 필터",
            SenderIpBanned => "차단된 IP (smtp.ipmap.tab)",
            SenderIpSpam => "spammers.tab에 등록된 IP",
            SenderIpDnsbl => "RBL(DNSBL)에 등록된 IP",
            SenderIpNoRdns => "역방향 DNS 없는 IP",
            SenderEmpty => "빈 발신자 <> 거부",
            SenderSyntax => "발신자 주소 형식 오류",
            SenderNoDns => "발신자 도메인에 MX/A 레코드 없음",
            SenderSpam => "spam-address.tab에 등록된 발신자",
            SizeTooBig => "선언된 크기가 제한 초과",
            TooManyErrors => "오류가 너무 많아 연결 끊음",
            TlsFailed => "STARTTLS 협상 실패",
            AuthFailed => "SMTP 인증 실패",
            VrfyDenied => "VRFY 허용 안 함",
            EtrnDenied => "ETRN 허용 안 함",
            ConnFilter => "연결 필터",
        },
    }
}
