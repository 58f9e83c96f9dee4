//! Nmail webmail error logs (`weblogs/error-YYYYMMDD.txt`).
//!
//! The format is not documented anywhere, so every non-blank line is one error, except the
//! lines that continue the error before them: PHP writes an uncaught exception as one
//! message over several lines (`Stack trace:`, `#0 …`, `  thrown in …`), and those are
//! told apart by [`is_continuation`] and skipped by [`crate::parse::ParseCtx::webmail`],
//! which keeps the per-file state. Lines are decoded as UTF-8 where valid, else as EUC-KR
//! (CP949, as Nmail is Korean), then classified by an ordered list of regex rules: the first
//! rule that matches names the category, and a line no rule matches is `other`. A leading
//! timestamp, where one parses, dates the event.

use std::borrow::Cow;

use regex::Regex;

use super::error::ParseError;
use super::fields::trim_cr;
use super::time::LocalTime;

/// The category of lines no rule matches.
pub const OTHER: &str = "other";

/// One classification rule: a category name and a regular expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The value of the `category` label (`[a-z][a-z0-9_]*`).
    pub name: String,
    /// A `regex` crate pattern, matched anywhere in the decoded line.
    pub regex: String,
}

impl Rule {
    fn new(name: &str, regex: &str) -> Rule {
        Rule {
            name: name.to_string(),
            regex: regex.to_string(),
        }
    }
}

/// The built-in rules, in order. Earlier rules win, so the specific ones come first: a
/// MySQL "Access denied for user" is a database error, not a permission error.
pub fn default_rules() -> Vec<Rule> {
    vec![
        Rule::new(
            "database",
            r"(?i)mysql|mariadb|\bsql\b|sqlstate|database|\bdb\b|access denied for user|데이터베이스|디비|쿼리",
        ),
        Rule::new(
            "permission",
            r"(?i)permission denied|access denied|not permitted|forbidden|권한",
        ),
        Rule::new(
            "auth",
            r"(?i)log ?in|logon|authenticat|password|passwd|credential|session expired|로그인|인증|비밀번호|암호|세션",
        ),
        Rule::new(
            "smtp",
            r"(?i)smtp|send ?mail|mail ?send|sending|relay|recipient|발송|전송|보내기|수신자",
        ),
        Rule::new(
            "mailbox",
            r"(?i)quota|mailbox|over ?limit|disk full|no space|pop3|imap|용량|메일함|편지함|사서함",
        ),
        Rule::new(
            "network",
            r"(?i)connection refused|connection reset|timed? ?out|could not connect|unable to connect|connect(ion)? failed|network|연결|시간 ?초과",
        ),
        Rule::new(
            "php",
            r"(?i)php (fatal|parse|warning|notice|deprecated)|fatal error|parse error|uncaught|stack trace|warning:|notice:|deprecated:",
        ),
    ]
}

/// An error building the classifier from rules.
#[derive(Debug)]
pub enum RuleError {
    /// A rule name is not `[a-z][a-z0-9_]*` (at most 64 bytes), or is `other`.
    BadName(String),
    /// A rule's regex does not compile.
    BadRegex {
        /// The rule's name.
        name: String,
        /// What the regex crate said.
        error: String,
    },
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RuleError::BadName(n) => write!(
                f,
                "webmail rule name {n:?} is not a label value: use lower-case letters, digits and _ (and not {OTHER:?})"
            ),
            RuleError::BadRegex { name, error } => {
                write!(
                    f,
                    "webmail rule {name:?} has a bad regex: {}",
                    error.lines().last().unwrap_or("")
                )
            }
        }
    }
}

impl std::error::Error for RuleError {}

/// Classifies decoded webmail lines by the first matching rule.
#[derive(Clone, Debug)]
pub struct Classifier {
    /// The rules' regexes, in order. Tried one by one until one matches: each runs on a
    /// lazy DFA, where a `RegexSet` would report every match and fall back to a slow engine.
    regexes: Vec<Regex>,
    /// Rule index -> category index.
    rule_category: Vec<usize>,
    /// Distinct category names in first-seen order, `other` last.
    categories: Vec<String>,
}

impl Classifier {
    /// Builds a classifier. Several rules may share a category name.
    pub fn new(rules: &[Rule]) -> Result<Classifier, RuleError> {
        let mut categories: Vec<String> = Vec::new();
        let mut rule_category = Vec::with_capacity(rules.len());
        let mut regexes = Vec::with_capacity(rules.len());
        for r in rules {
            let valid = !r.name.is_empty()
                && r.name.len() <= 64
                && r.name.as_bytes()[0].is_ascii_lowercase()
                && r.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                && r.name != OTHER;
            if !valid {
                return Err(RuleError::BadName(r.name.clone()));
            }
            match Regex::new(&r.regex) {
                Ok(re) => regexes.push(re),
                Err(e) => {
                    return Err(RuleError::BadRegex {
                        name: r.name.clone(),
                        error: e.to_string(),
                    });
                }
            }
            let idx = match categories.iter().position(|c| *c == r.name) {
                Some(i) => i,
                None => {
                    categories.push(r.name.clone());
                    categories.len() - 1
                }
            };
            rule_category.push(idx);
        }
        categories.push(OTHER.to_string());
        Ok(Classifier {
            regexes,
            rule_category,
            categories,
        })
    }

    /// Category names, indexed by [`WebmailEvent::category`]; the last is `other`.
    pub fn categories(&self) -> &[String] {
        &self.categories
    }

    /// The category index of a decoded line.
    pub fn classify(&self, text: &str) -> usize {
        match self.regexes.iter().position(|re| re.is_match(text)) {
            Some(rule) => self.rule_category[rule],
            None => self.categories.len() - 1,
        }
    }
}

impl Default for Classifier {
    fn default() -> Classifier {
        Classifier::new(&default_rules()).expect("the built-in rules are valid (tested)")
    }
}

/// A leading timestamp found on a webmail line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StampedTime {
    /// The wall-clock time written.
    pub time: LocalTime,
    /// `true` when the line says the time is UTC (PHP's `[27-Nov-2026 00:01:12 UTC]`).
    pub utc: bool,
}

/// One webmail error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebmailEvent<'a> {
    /// Index into [`Classifier::categories`].
    pub category: usize,
    /// The leading timestamp, if the line has one.
    pub time: Option<StampedTime>,
    /// The line as text (borrowed when it was UTF-8).
    pub text: Cow<'a, str>,
}

/// Decodes a line: UTF-8 where valid, else EUC-KR (CP949).
pub fn decode(line: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(line) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => encoding_rs::EUC_KR.decode_without_bom_handling(line).0,
    }
}

/// Parses one webmail error line. Blank lines are [`ParseError::Empty`] (not an error).
pub fn parse_webmail<'a>(
    line: &'a [u8],
    rules: &Classifier,
) -> Result<WebmailEvent<'a>, ParseError> {
    let line = trim_cr(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    let text = decode(line);
    Ok(WebmailEvent {
        category: rules.classify(&text),
        time: leading_time(line),
        text,
    })
}

/// Is this line the continuation of a multi-line error (when one came before it)? PHP's
/// uncaught exceptions and `error_log()` of multi-line text give:
///
/// ```text
/// PHP Fatal error:  Uncaught Exception: x in /var/www/a.php:3
/// Stack trace:
/// #0 /var/www/b.php(12): f()
/// #1 {main}
///   thrown in /var/www/a.php on line 3
/// ```
///
/// So: a line that starts with a space or a TAB (but is not blank), `Stack trace:`, `#`
/// followed by a frame number, and the `Next Some\Exception: …` line that starts the next
/// exception of a chain. A line with a leading timestamp is never one.
pub fn is_continuation(line: &[u8]) -> bool {
    let line = trim_cr(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return false;
    }
    if matches!(line.first(), Some(b' ' | b'\t')) {
        return true;
    }
    if line.starts_with(b"Stack trace:") {
        return true;
    }
    if let Some(rest) = line.strip_prefix(b"#") {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        return digits > 0 && matches!(rest.get(digits), None | Some(b' '));
    }
    if let Some(rest) = line.strip_prefix(b"Next ") {
        // `Next RuntimeException: …`, `Next App\DbError: …`: an exception class, a colon.
        let name = rest
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'\\'))
            .count();
        let class = &rest[..name];
        return (class.ends_with(b"Exception") || class.ends_with(b"Error"))
            && rest.get(name) == Some(&b':');
    }
    false
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// A timestamp at the start of the line, optionally in `[...]`: `2026-11-27 09:12:44` (also
/// with `/` or `.`), or PHP's `27-Nov-2026 09:12:44 Zone`.
fn leading_time(line: &[u8]) -> Option<StampedTime> {
    let s = line.strip_prefix(b"[").unwrap_or(line);
    if let Some(time) = LocalTime::parse_loose(s) {
        return Some(StampedTime { time, utc: false });
    }
    // PHP error_log: DD-Mon-YYYY HH:MM:SS Zone
    if s.len() >= 20 && s[2] == b'-' && s[6] == b'-' && s[11] == b' ' {
        let month = MONTHS.iter().position(|m| &s[3..6] == *m)? as i8 + 1;
        let mut iso = *b"0000-00-00 00:00:00";
        iso[..4].copy_from_slice(&s[7..11]);
        iso[5] = b'0' + (month / 10) as u8;
        iso[6] = b'0' + (month % 10) as u8;
        iso[8..10].copy_from_slice(&s[..2]);
        iso[11..].copy_from_slice(&s[12..20]);
        let time = LocalTime::parse_xmail(&iso)?;
        let utc = s[20..].starts_with(b" UTC");
        return Some(StampedTime { time, utc });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(c: &Classifier, line: &[u8]) -> String {
        let ev = parse_webmail(line, c).unwrap();
        c.categories()[ev.category].clone()
    }

    #[test]
    fn default_rules_classify_english_and_korean() {
        let c = Classifier::default();
        assert_eq!(
            cat(&c, b"[2026-11-27 09:12:44] login failed for kim"),
            "auth"
        );
        assert_eq!(
            cat(
                &c,
                "[2026-11-27 09:12:44] 로그인 실패: 비밀번호 오류".as_bytes()
            ),
            "auth"
        );
        assert_eq!(cat(&c, b"SMTP send failed: 550 relay denied"), "smtp");
        assert_eq!(cat(&c, "메일 발송 실패".as_bytes()), "smtp");
        assert_eq!(cat(&c, b"mailbox over quota"), "mailbox");
        assert_eq!(cat(&c, "메일함 용량 초과".as_bytes()), "mailbox");
        assert_eq!(
            cat(&c, b"fopen(/home/nmail2/data): Permission denied"),
            "permission"
        );
        assert_eq!(
            cat(
                &c,
                b"mysql_connect(): Access denied for user 'nmail'@'localhost'"
            ),
            "database"
        );
        assert_eq!(
            cat(&c, b"PHP Fatal error: Allowed memory size exhausted"),
            "php"
        );
        assert_eq!(cat(&c, b"POP3 connection refused"), "mailbox");
        assert_eq!(cat(&c, b"could not connect to 127.0.0.1:110"), "network");
        assert_eq!(cat(&c, b"something odd happened"), "other");
        assert_eq!(c.categories().last().unwrap(), "other");
    }

    #[test]
    fn euc_kr_lines_are_decoded() {
        let (bytes, _, _) = encoding_rs::EUC_KR.encode("로그인 실패");
        assert!(std::str::from_utf8(&bytes).is_err());
        let c = Classifier::default();
        let ev = parse_webmail(&bytes, &c).unwrap();
        assert_eq!(ev.text, "로그인 실패");
        assert_eq!(c.categories()[ev.category], "auth");
    }

    #[test]
    fn leading_timestamps() {
        let c = Classifier::default();
        let t = |l: &[u8]| parse_webmail(l, &c).unwrap().time;
        let want = LocalTime::parse_xmail(b"2026-11-27 09:12:44").unwrap();
        assert_eq!(
            t(b"[2026-11-27 09:12:44] x"),
            Some(StampedTime {
                time: want,
                utc: false
            })
        );
        assert_eq!(
            t(b"2026/11/27 09:12:44 x"),
            Some(StampedTime {
                time: want,
                utc: false
            })
        );
        assert_eq!(
            t(b"[27-Nov-2026 09:12:44 UTC] PHP Warning: x"),
            Some(StampedTime {
                time: want,
                utc: true
            })
        );
        assert_eq!(
            t(b"[27-Nov-2026 09:12:44 Asia/Seoul] x"),
            Some(StampedTime {
                time: want,
                utc: false
            })
        );
        assert_eq!(t(b"no time here"), None);
        assert_eq!(t(b"[27-Foo-2026 09:12:44 UTC] x"), None);
    }

    #[test]
    fn continuation_lines() {
        for l in [
            "Stack trace:",
            "#0 /var/www/a.php(3): f()",
            "#12 {main}",
            "#1",
            "  thrown in /var/www/a.php on line 3",
            "\tat something",
            "Next RuntimeException: y in /b.php:9",
            "Next App\\DbError: z",
            "Stack trace:\r",
        ] {
            assert!(is_continuation(l.as_bytes()), "{l:?}");
        }
        for l in [
            "",
            "  \t\r",
            "PHP Fatal error:  Uncaught Exception: x in /var/www/a.php:3",
            "[2026-11-28 10:20:31] login failed",
            "#hashtag",
            "#1a",
            "Next time: retry",
            "Next RuntimeException without colon",
            "stack trace:",
        ] {
            assert!(!is_continuation(l.as_bytes()), "{l:?}");
        }
    }

    #[test]
    fn blank_lines_are_not_errors() {
        let c = Classifier::default();
        assert_eq!(parse_webmail(b"", &c).unwrap_err(), ParseError::Empty);
        assert_eq!(parse_webmail(b" \t\r", &c).unwrap_err(), ParseError::Empty);
    }

    #[test]
    fn rules_are_ordered_and_validated() {
        let rules = vec![
            Rule::new("first", "(?i)quota"),
            Rule::new("second", "quota|x"),
            Rule::new("first", "y"),
        ];
        let c = Classifier::new(&rules).unwrap();
        assert_eq!(c.categories(), ["first", "second", "other"]);
        assert_eq!(c.classify("quota"), 0);
        assert_eq!(c.classify("x"), 1);
        assert_eq!(c.classify("y"), 0);
        assert!(matches!(
            Classifier::new(&[Rule::new("Bad Name", "x")]),
            Err(RuleError::BadName(_))
        ));
        assert!(matches!(
            Classifier::new(&[Rule::new("other", "x")]),
            Err(RuleError::BadName(_))
        ));
        assert!(matches!(
            Classifier::new(&[Rule::new("ok", "(")]),
            Err(RuleError::BadRegex { .. })
        ));
    }
}
