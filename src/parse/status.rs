//! SMTP status strings: the one place a status code gets its meaning.
//!
//! XMail writes `STAGE=CODE` (see the reference, §2.2 and §2.3). Two codes carry extra text:
//! `SNDRIP=EIPMAP (list)` names the DNSBL that matched and `AUTH=EFAIL:TYPE=X` the SASL
//! mechanism that failed. The legacy `RCV=OK` of Nmail-era builds is the same event as
//! `RECV=OK`. A well-formed status this table does not know is kept as [`Status::Unknown`]:
//! the metrics layer decides how many of those get their own series.

crate::label_enum! {
    /// Every status XMail 1.2x writes, plus the legacy and HEAD-only ones.
    pub enum StatusCode: "status" {
        /// `RECV=OK` (and the legacy `RCV=OK`): a message was accepted and spooled.
        RecvOk => "RECV=OK",
        /// `RCPT=OK`: one recipient accepted.
        RcptOk => "RCPT=OK",
        /// `RCPT=ESYNTAX`: bad forward path.
        RcptSyntax => "RCPT=ESYNTAX",
        /// `RCPT=ENBR`: too many recipients.
        RcptTooMany => "RCPT=ENBR",
        /// `RCPT=EDSBL`: the local account cannot receive.
        RcptDisabled => "RCPT=EDSBL",
        /// `RCPT=EFULL`: the local mailbox is over quota.
        RcptFull => "RCPT=EFULL",
        /// `RCPT=EACCESS`: the sender may not post to this mailing list.
        RcptAccess => "RCPT=EACCESS",
        /// `RCPT=EAVAIL`: unknown local user.
        RcptUnknownUser => "RCPT=EAVAIL",
        /// `RCPT=ERELAY`: relaying denied.
        RcptRelay => "RCPT=ERELAY",
        /// `RCPT=EFILTER`: rejected by the post-RCPT filter.
        RcptFilter => "RCPT=EFILTER",
        /// `PREDATA=EFILTER`: rejected by the pre-DATA filter.
        PredataFilter => "PREDATA=EFILTER",
        /// `POSTDATA=EFILTER`: rejected by the post-DATA (content) filter.
        PostdataFilter => "POSTDATA=EFILTER",
        /// `DATA=EFILTER`: any SMTP filter rejection, builds up to 1.26-pre05.
        DataFilter => "DATA=EFILTER",
        /// `SNDRIP=EIPBAN`: the peer IP is banned by `smtp.ipmap.tab`.
        SenderIpBanned => "SNDRIP=EIPBAN",
        /// `SNDRIP=EIPSPAM`: the peer IP is in `spammers.tab`.
        SenderIpSpam => "SNDRIP=EIPSPAM",
        /// `SNDRIP=EIPMAP`: the peer IP is listed by a DNSBL.
        SenderIpDnsbl => "SNDRIP=EIPMAP",
        /// `SNDRIP=ERDNS`: the peer has no reverse DNS.
        SenderIpNoRdns => "SNDRIP=ERDNS",
        /// `SNDR=EEMPTY`: the null sender was refused.
        SenderEmpty => "SNDR=EEMPTY",
        /// `SNDR=ESYNTAX`: bad return path.
        SenderSyntax => "SNDR=ESYNTAX",
        /// `SNDR=ENODNS`: the sender domain does not resolve.
        SenderNoDns => "SNDR=ENODNS",
        /// `SNDR=ESPAM`: the sender is in `spam-address.tab`.
        SenderSpam => "SNDR=ESPAM",
        /// `SIZE=EBIG`: the declared size exceeds the limit.
        SizeTooBig => "SIZE=EBIG",
        /// `SMTP=EERRS`: too many errors, connection dropped.
        TooManyErrors => "SMTP=EERRS",
        /// `SMTP=ESSL`: the STARTTLS handshake failed.
        TlsFailed => "SMTP=ESSL",
        /// `AUTH=EFAIL`: an SMTP AUTH attempt failed.
        AuthFailed => "AUTH=EFAIL",
        /// `VRFY=EACCESS`: VRFY not allowed.
        VrfyDenied => "VRFY=EACCESS",
        /// `ETRN=EACCESS`: ETRN not allowed.
        EtrnDenied => "ETRN=EACCESS",
        /// `CONN=EFILTER`: rejected by a post-connect filter (unreleased HEAD only).
        ConnFilter => "CONN=EFILTER",
    }
}

impl StatusCode {
    /// `true` for the two statuses that mean success (`RECV=OK`, `RCPT=OK`).
    pub fn is_ok(self) -> bool {
        matches!(self, StatusCode::RecvOk | StatusCode::RcptOk)
    }

    /// Where in the SMTP dialogue a refusal happened; `None` for the two successes. Every
    /// status of the table has its stage here, and nowhere else.
    pub fn stage(self) -> Option<Stage> {
        use StatusCode::*;
        Some(match self {
            RecvOk | RcptOk => return None,
            SenderIpBanned | SenderIpSpam | SenderIpDnsbl | SenderIpNoRdns | ConnFilter
            | TooManyErrors | TlsFailed => Stage::Connection,
            SenderEmpty | SenderSyntax | SenderNoDns | SenderSpam | SizeTooBig => Stage::Sender,
            RcptSyntax | RcptTooMany | RcptDisabled | RcptFull | RcptAccess | RcptUnknownUser
            | RcptRelay | RcptFilter => Stage::Recipient,
            PredataFilter | PostdataFilter | DataFilter => Stage::Data,
            AuthFailed => Stage::Auth,
            VrfyDenied | EtrnDenied => Stage::Other,
        })
    }
}

crate::label_enum! {
    /// The stage of an SMTP refusal: the `stage` label of `xmail_mail_refused_total` and the
    /// grouping of `report`'s refusals.
    pub enum Stage: "stage" {
        /// The client itself: its IP (`SNDRIP=*`), a connect filter, TLS, too many errors.
        Connection => "connection",
        /// `MAIL FROM`: the sender address or the declared size (`SNDR=*`, `SIZE=EBIG`).
        Sender => "sender",
        /// `RCPT TO`: one recipient refused (`RCPT=E…`).
        Recipient => "recipient",
        /// The message: a pre-DATA or post-DATA (content) filter (`*DATA=EFILTER`).
        Data => "data",
        /// A failed SMTP AUTH (`AUTH=EFAIL`).
        Auth => "auth",
        /// `VRFY`, `ETRN`, and statuses this table does not know.
        Other => "other",
    }
}

impl Stage {
    /// The stage of a well-formed status the table does not know, from its `STAGE=` part;
    /// `None` when its code is `OK` (a success of a newer build, not a refusal).
    pub fn of_unknown(status: &[u8]) -> Option<Stage> {
        let eq = memchr::memchr(b'=', status)?;
        if &status[eq + 1..] == b"OK" {
            return None;
        }
        Some(match &status[..eq] {
            b"SNDRIP" | b"CONN" | b"SMTP" => Stage::Connection,
            b"SNDR" | b"SIZE" => Stage::Sender,
            b"RCPT" => Stage::Recipient,
            b"DATA" | b"PREDATA" | b"POSTDATA" => Stage::Data,
            b"AUTH" => Stage::Auth,
            _ => Stage::Other,
        })
    }
}

impl Status<'_> {
    /// The status as XMail writes it (`RCPT=EAVAIL`; an unknown one as found), for people.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match *self {
            Status::Known(code) => std::borrow::Cow::Borrowed(code.as_str()),
            Status::Unknown(raw) => String::from_utf8_lossy(raw),
        }
    }

    /// The stage of a refusal, `None` for a success.
    #[inline]
    pub fn stage(&self) -> Option<Stage> {
        match *self {
            Status::Known(code) => code.stage(),
            Status::Unknown(raw) => Stage::of_unknown(raw),
        }
    }
}

crate::label_enum! {
    /// SASL mechanisms XMail names in `AUTH=EFAIL:TYPE=...`.
    pub enum AuthMechanism: "mechanism" {
        /// `PLAIN`.
        Plain => "PLAIN",
        /// `LOGIN`.
        Login => "LOGIN",
        /// `CRAM-MD5`.
        CramMd5 => "CRAM-MD5",
        /// `EXTRN`: external authentication, builds up to 1.23.
        Extrn => "EXTRN",
        /// Anything else (XMail writes no other), or no `:TYPE=` at all.
        Other => "other",
    }
}

impl AuthMechanism {
    fn from_bytes(b: &[u8]) -> AuthMechanism {
        match b {
            b"PLAIN" => AuthMechanism::Plain,
            b"LOGIN" => AuthMechanism::Login,
            b"CRAM-MD5" => AuthMechanism::CramMd5,
            b"EXTRN" => AuthMechanism::Extrn,
            _ => AuthMechanism::Other,
        }
    }
}

/// A parsed status field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status<'a> {
    /// A status from the table.
    Known(StatusCode),
    /// A well-formed `STAGE=CODE` not in the table, as written.
    Unknown(&'a [u8]),
}

/// A status field with the extra text two of the codes carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedStatus<'a> {
    /// The canonical status.
    pub status: Status<'a>,
    /// For `SNDRIP=EIPMAP (list)`: the list as configured in XMail (`zen.spamhaus.org.`).
    /// `None` for the bare `SNDRIP=EIPMAP` of builds before 1.16.
    pub dnsbl_list: Option<&'a [u8]>,
    /// For `AUTH=EFAIL[:TYPE=X]`: the mechanism that failed.
    pub auth_mechanism: Option<AuthMechanism>,
}

impl<'a> ParsedStatus<'a> {
    fn known(code: StatusCode) -> ParsedStatus<'a> {
        ParsedStatus {
            status: Status::Known(code),
            dnsbl_list: None,
            auth_mechanism: None,
        }
    }
}

/// Parses a status field. Returns `None` when it is not `STAGE=CODE` with an upper-case
/// stage (the caller counts the line as malformed).
pub fn parse_status(b: &[u8]) -> Option<ParsedStatus<'_>> {
    use StatusCode::*;
    let eq = memchr::memchr(b'=', b)?;
    let (stage, code) = (&b[..eq], &b[eq + 1..]);
    let known = match (stage, code) {
        (b"RECV" | b"RCV", b"OK") => RecvOk,
        (b"RCPT", b"OK") => RcptOk,
        (b"RCPT", b"ESYNTAX") => RcptSyntax,
        (b"RCPT", b"ENBR") => RcptTooMany,
        (b"RCPT", b"EDSBL") => RcptDisabled,
        (b"RCPT", b"EFULL") => RcptFull,
        (b"RCPT", b"EACCESS") => RcptAccess,
        (b"RCPT", b"EAVAIL") => RcptUnknownUser,
        (b"RCPT", b"ERELAY") => RcptRelay,
        (b"RCPT", b"EFILTER") => RcptFilter,
        (b"PREDATA", b"EFILTER") => PredataFilter,
        (b"POSTDATA", b"EFILTER") => PostdataFilter,
        (b"DATA", b"EFILTER") => DataFilter,
        (b"SNDRIP", b"EIPBAN") => SenderIpBanned,
        (b"SNDRIP", b"EIPSPAM") => SenderIpSpam,
        (b"SNDRIP", b"ERDNS") => SenderIpNoRdns,
        (b"SNDR", b"EEMPTY") => SenderEmpty,
        (b"SNDR", b"ESYNTAX") => SenderSyntax,
        (b"SNDR", b"ENODNS") => SenderNoDns,
        (b"SNDR", b"ESPAM") => SenderSpam,
        (b"SIZE", b"EBIG") => SizeTooBig,
        (b"SMTP", b"EERRS") => TooManyErrors,
        (b"SMTP", b"ESSL") => TlsFailed,
        (b"VRFY", b"EACCESS") => VrfyDenied,
        (b"ETRN", b"EACCESS") => EtrnDenied,
        (b"CONN", b"EFILTER") => ConnFilter,
        (b"SNDRIP", c) if c.starts_with(b"EIPMAP") => return parse_eipmap(&c[6..]),
        (b"AUTH", c) if c.starts_with(b"EFAIL") => return parse_auth_fail(&c[5..]),
        _ => return parse_unknown(b, stage, code),
    };
    Some(ParsedStatus::known(known))
}

/// After `SNDRIP=EIPMAP`: nothing, or ` (list)`.
fn parse_eipmap(rest: &[u8]) -> Option<ParsedStatus<'_>> {
    let mut p = ParsedStatus::known(StatusCode::SenderIpDnsbl);
    match rest {
        [] => {}
        [b' ', b'(', list @ .., b')'] => p.dnsbl_list = Some(list),
        _ => return None,
    }
    Some(p)
}

/// After `AUTH=EFAIL`: nothing, or `:TYPE=MECH`.
fn parse_auth_fail(rest: &[u8]) -> Option<ParsedStatus<'_>> {
    let mut p = ParsedStatus::known(StatusCode::AuthFailed);
    p.auth_mechanism = Some(match rest {
        [] => AuthMechanism::Other,
        _ => AuthMechanism::from_bytes(rest.strip_prefix(b":TYPE=")?),
    });
    Some(p)
}

/// Longest stage or code kept for an unknown status.
const MAX_UNKNOWN_PART: usize = 24;

/// A status not in the table is kept when both parts look like XMail's: an upper-case stage
/// and a code of upper-case letters, digits, `_` or `-`.
fn parse_unknown<'a>(whole: &'a [u8], stage: &[u8], code: &[u8]) -> Option<ParsedStatus<'a>> {
    let stage_ok = !stage.is_empty()
        && stage.len() <= MAX_UNKNOWN_PART
        && stage.iter().all(u8::is_ascii_uppercase);
    let code_ok = !code.is_empty()
        && code.len() <= MAX_UNKNOWN_PART
        && code
            .iter()
            .all(|&c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_' || c == b'-');
    (stage_ok && code_ok).then_some(ParsedStatus {
        status: Status::Unknown(whole),
        dnsbl_list: None,
        auth_mechanism: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<ParsedStatus<'_>> {
        parse_status(s.as_bytes())
    }

    #[test]
    fn every_known_status_round_trips() {
        for code in StatusCode::ALL {
            let parsed = p(code.as_str()).unwrap_or_else(|| panic!("{}", code.as_str()));
            assert_eq!(parsed.status, Status::Known(code), "{}", code.as_str());
        }
        for (i, code) in StatusCode::ALL.iter().enumerate() {
            assert_eq!(code.index(), i);
        }
    }

    #[test]
    fn every_refusal_has_a_stage_and_successes_none() {
        for code in StatusCode::ALL {
            assert_eq!(code.stage().is_none(), code.is_ok(), "{}", code.as_str());
        }
        // The stage follows the STAGE= part of the status, for the known ones too.
        for code in StatusCode::ALL.into_iter().filter(|c| !c.is_ok()) {
            let name = code.as_str();
            assert_eq!(Stage::of_unknown(name.as_bytes()), code.stage(), "{name}");
        }
        assert_eq!(Stage::of_unknown(b"RCPT=EGREY"), Some(Stage::Recipient));
        assert_eq!(Stage::of_unknown(b"NEWSTAGE=OK"), None);
        assert_eq!(Stage::of_unknown(b"NEWSTAGE=EX"), Some(Stage::Other));
        for (i, s) in Stage::ALL.iter().enumerate() {
            assert_eq!(s.index(), i);
        }
    }

    #[test]
    fn legacy_rcv_ok_is_recv_ok() {
        assert_eq!(
            p("RCV=OK").unwrap().status,
            Status::Known(StatusCode::RecvOk)
        );
    }

    #[test]
    fn dnsbl_list_is_split_off() {
        let s = p("SNDRIP=EIPMAP (zen.spamhaus.org.)").unwrap();
        assert_eq!(s.status, Status::Known(StatusCode::SenderIpDnsbl));
        assert_eq!(s.dnsbl_list, Some(&b"zen.spamhaus.org."[..]));
        assert_eq!(p("SNDRIP=EIPMAP").unwrap().dnsbl_list, None);
        assert_eq!(p("SNDRIP=EIPMAP zen"), None);
    }

    #[test]
    fn auth_mechanism_is_split_off() {
        let mech = |s| p(s).unwrap().auth_mechanism.unwrap();
        assert_eq!(mech("AUTH=EFAIL:TYPE=PLAIN"), AuthMechanism::Plain);
        assert_eq!(mech("AUTH=EFAIL:TYPE=LOGIN"), AuthMechanism::Login);
        assert_eq!(mech("AUTH=EFAIL:TYPE=CRAM-MD5"), AuthMechanism::CramMd5);
        assert_eq!(mech("AUTH=EFAIL:TYPE=EXTRN"), AuthMechanism::Extrn);
        assert_eq!(mech("AUTH=EFAIL:TYPE=XOAUTH2"), AuthMechanism::Other);
        assert_eq!(mech("AUTH=EFAIL"), AuthMechanism::Other);
        assert_eq!(p("AUTH=EFAIL;PLAIN"), None);
    }

    #[test]
    fn unknown_but_well_formed_is_kept() {
        assert_eq!(
            p("RCPT=EGREY").unwrap().status,
            Status::Unknown(b"RCPT=EGREY")
        );
        assert_eq!(
            p("NEWSTAGE=OK").unwrap().status,
            Status::Unknown(b"NEWSTAGE=OK")
        );
    }

    #[test]
    fn garbage_is_rejected() {
        for s in [
            "",
            "=",
            "RCPT",
            "rcpt=OK",
            "RCPT=",
            "=OK",
            "RCPT=e vil",
            "RCPT=\u{00e9}",
        ] {
            assert_eq!(p(s), None, "{s:?}");
        }
    }
}
