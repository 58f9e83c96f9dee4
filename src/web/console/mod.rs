//! The mail desk (`--web.enable-console`): find any message from the browser, in Korean or
//! English, and the same answers as JSON for scripts.
//!
//! | path | answers |
//! |---|---|
//! | `/` | the desk: search form, today's summary, the most recent refusals |
//! | `/trace?q=&since=&until=&lang=` | the story of the matching messages ([`page::trace`]) |
//! | `/api/v1/trace?q=&since=&until=&lang=` | the same JSON as `trace --format json` |
//! | `/api/v1/summary?since=&until=&lang=` | the same JSON as `report --format json --since --until` |
//!
//! **Who may use it** ([`Console::admit`]): over plain HTTP only loopback clients (a password
//! in clear over the network is refused; a TLS connection lifts that), and always a login of
//! the web config's `basic_auth_users` who is listed under `console: users:` in `--config`.
//! No credentials: 401; credentials of anyone else (the scrape user included): 403.
//!
//! **Bounds**: a search covers at most [`MAX_RANGE_DAYS`] days, reads at most
//! [`MAX_SEARCH_BYTES`] and returns at most [`MAX_MESSAGES`] messages; at most
//! [`MAX_SEARCHES`] run at once (others get 503 at once), each on the blocking pool, so a
//! search neither exhausts memory nor holds up a scrape. Queries are logged at debug level
//! only.
//!
//! Owns the routes, the access rules, the parameters and the bounds. Finding messages is
//! [`crate::trace`]'s, the summary [`crate::summary`]'s, the recent refusals
//! [`crate::recent`]'s, the HTML [`page`]'s; the credentials check is [`super::auth`]'s.

pub mod page;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode, Uri};
use jiff::civil::Date;
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::config::Settings;
use crate::explain::Lang;
use crate::explain::desk::desk_words;
use crate::read::discover::{self, KindSet};
use crate::read::range::TimeRange;
use crate::recent::Recent;
use crate::trace::{self, Query};
use page::Form;

/// The widest search, in days.
pub const MAX_RANGE_DAYS: i32 = 31;
/// A search reads at most this many bytes of logs (both of its passes).
pub const MAX_SEARCH_BYTES: u64 = 1 << 30;
/// A search returns at most this many messages.
pub const MAX_MESSAGES: usize = 200;
/// Searches (and summaries) running at once.
pub const MAX_SEARCHES: usize = 2;
/// The longest query.
pub const MAX_QUERY: usize = 256;
/// Rows of each top list in the summaries.
pub const TOP: usize = 10;
/// Without `since`/`until`: this many days up to the newest log line.
pub const DEFAULT_DAYS: i32 = 7;

/// The desk's settings and shared state.
pub struct Console {
    /// Who may use it (`console: users:`).
    pub users: Vec<String>,
    /// XMail's log directory.
    pub xmail_log_dir: PathBuf,
    /// Nmail's error log directory (may not exist).
    pub webmail_log_dir: PathBuf,
    /// Time zone, webmail rules.
    pub settings: Settings,
    /// The most recent refusals.
    pub recent: Arc<Recent>,
    /// Searches running.
    searches: Arc<Semaphore>,
}

impl Console {
    /// A desk over these directories.
    pub fn new(
        settings: Settings,
        xmail_log_dir: PathBuf,
        webmail_log_dir: PathBuf,
        recent: Arc<Recent>,
    ) -> Console {
        Console {
            users: settings.console_users.clone(),
            xmail_log_dir,
            webmail_log_dir,
            settings,
            recent,
            searches: Arc::new(Semaphore::new(MAX_SEARCHES)),
        }
    }
}

/// Is `path` one of the desk's?
pub fn is_console_path(path: &str) -> bool {
    matches!(path, "/" | "/trace" | "/api/v1/trace" | "/api/v1/summary")
}

/// Who is asking, as far as the desk is concerned.
#[derive(Clone, Copy, Debug)]
pub struct Client {
    /// The peer's address.
    pub ip: IpAddr,
    /// Whether the connection is TLS.
    pub tls: bool,
}

/// Why the desk does not answer.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 403: plain HTTP from another machine.
    NotLoopback,
    /// 403: the web config has no users, so there is nobody to log in as.
    NoLogins,
    /// 401: no or wrong credentials.
    Unauthenticated,
    /// 403: a valid user who is not a console user.
    NotAConsoleUser,
}

impl Refusal {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::Unauthenticated => StatusCode::UNAUTHORIZED,
            _ => StatusCode::FORBIDDEN,
        }
    }

    /// What to tell the client (and its administrator).
    pub fn message(&self) -> &'static str {
        match self {
            Refusal::NotLoopback => {
                "The mail desk answers over plain HTTP only on this machine (loopback): configure TLS in --web.config.file to use it over the network."
            }
            Refusal::NoLogins => {
                "The mail desk needs a login: add basic_auth_users to --web.config.file and list the desk's users under console: users: in --config."
            }
            Refusal::Unauthenticated => "Log in with a user of the mail desk.",
            Refusal::NotAConsoleUser => {
                "This user may not use the mail desk: list it under console: users: in --config."
            }
        }
    }
}

impl Console {
    /// Applies the access rules before anything is read. `verified`: the credentials were
    /// checked against the web config's users (`None`: none were sent or they were wrong),
    /// with the user's name when they were right.
    pub fn admit(
        &self,
        client: Client,
        has_users: bool,
        verified: Option<&str>,
    ) -> Result<(), Refusal> {
        if !client.tls && !client.ip.is_loopback() && !is_mapped_loopback(client.ip) {
            return Err(Refusal::NotLoopback);
        }
        if !has_users {
            return Err(Refusal::NoLogins);
        }
        let Some(user) = verified else {
            return Err(Refusal::Unauthenticated);
        };
        if !self.users.iter().any(|u| u == user) {
            return Err(Refusal::NotAConsoleUser);
        }
        Ok(())
    }
}

fn is_mapped_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        IpAddr::V4(_) => false,
    }
}

/// The request's parameters.
#[derive(Debug, Default)]
struct Params {
    q: Option<String>,
    since: Option<String>,
    until: Option<String>,
    lang: Option<String>,
}

fn params(uri: &Uri) -> Params {
    let mut p = Params::default();
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        let v = v.trim().to_string();
        let slot = match &*k {
            "q" => &mut p.q,
            "since" => &mut p.since,
            "until" => &mut p.until,
            "lang" => &mut p.lang,
            _ => continue,
        };
        if !v.is_empty() {
            *slot = Some(v);
        }
    }
    p
}

/// The language: `lang=` first, then the client's `Accept-Language` (Korean where it is
/// preferred to English), else English.
pub fn language(lang_param: Option<&str>, accept_language: Option<&str>) -> Lang {
    match lang_param {
        Some("ko") => return Lang::Ko,
        Some("en") => return Lang::En,
        _ => {}
    }
    let Some(header) = accept_language else {
        return Lang::En;
    };
    let (mut ko, mut en) = (-1.0f32, -1.0f32);
    for (i, part) in header.split(',').enumerate().take(32) {
        let mut it = part.split(';');
        let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = it
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0)
            // Earlier entries win ties.
            - i as f32 * 1e-4;
        let primary = tag.split('-').next().unwrap_or("");
        if primary == "ko" {
            ko = ko.max(q);
        } else if primary == "en" || tag == "*" {
            en = en.max(q);
        }
    }
    if ko > 0.0 && ko >= en {
        Lang::Ko
    } else {
        Lang::En
    }
}

/// The language of a request: its `lang=` parameter, else its `Accept-Language` header
/// (see [`language`]).
pub fn request_lang(uri: &Uri, accept_language: Option<&str>) -> Lang {
    language(params(uri).lang.as_deref(), accept_language)
}

/// A bad request: said in the page's language.
#[derive(Debug)]
struct BadRequest(String);

/// The days a request covers: both given, one given (the other `DEFAULT_DAYS` away), or the
/// `DEFAULT_DAYS` up to the newest log line's day.
fn days(p: &Params, newest: Date) -> Result<(Date, Date), BadRequest> {
    let parse = |name: &str, s: &str| {
        s.parse::<Date>()
            .map_err(|_| BadRequest(format!("{name}={s:?} is not a date: write YYYY-MM-DD")))
    };
    let span = jiff::Span::new().days(i64::from(DEFAULT_DAYS - 1));
    let (since, until) = match (&p.since, &p.until) {
        (Some(s), Some(u)) => (parse("since", s)?, parse("until", u)?),
        (Some(s), None) => {
            let s = parse("since", s)?;
            (s, s.checked_add(span).unwrap_or(s))
        }
        (None, Some(u)) => {
            let u = parse("until", u)?;
            (u.checked_sub(span).unwrap_or(u), u)
        }
        (None, None) => (newest.checked_sub(span).unwrap_or(newest), newest),
    };
    if until < since {
        return Err(BadRequest(format!(
            "until ({until}) is before since ({since})"
        )));
    }
    let width = since.until(until).map(|s| s.get_days()).unwrap_or(i32::MAX);
    if width >= MAX_RANGE_DAYS {
        return Err(BadRequest(format!(
            "{since} to {until} is more than {MAX_RANGE_DAYS} days: search fewer days"
        )));
    }
    Ok((since, until))
}

/// The day of the newest SMTP or SMAIL file (from its name), else today.
fn newest_day(dir: &std::path::Path, settings: &Settings) -> Date {
    let today = settings.tz.to_datetime(jiff::Timestamp::now()).date();
    discover::scan(dir, KindSet::MESSAGES)
        .ok()
        .and_then(|files| {
            files
                .iter()
                .filter_map(|f| crate::parse::ParseCtx::for_file(f.kind, &f.name).file_date)
                .max()
        })
        .and_then(|t| Date::new(t.year, t.month, t.day).ok())
        .unwrap_or(today)
}

/// An answer of the desk: status, content type, body.
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The content type.
    pub content_type: &'static str,
    /// The body.
    pub body: Bytes,
    /// Set on a search that its bounds cut short.
    pub truncated: bool,
}

impl Answer {
    fn html(status: StatusCode, body: String) -> Answer {
        Answer {
            status,
            content_type: "text/html; charset=utf-8",
            body: body.into(),
            truncated: false,
        }
    }

    fn json(status: StatusCode, value: &impl Serialize) -> Answer {
        let mut body = serde_json::to_vec_pretty(value).unwrap_or_default();
        body.push(b'\n');
        Answer {
            status,
            content_type: "application/json",
            body: body.into(),
            truncated: false,
        }
    }

    fn error(api: bool, lang: Lang, status: StatusCode, message: &str) -> Answer {
        if api {
            #[derive(Serialize)]
            struct Error<'a> {
                error: &'a str,
            }
            Answer::json(status, &Error { error: message })
        } else {
            let form = Form {
                q: "",
                since: "",
                until: "",
            };
            Answer::html(status, page::problem(lang, &form, message))
        }
    }

    /// Into a response, with the desk's headers: the page's policy, no caching (personal
    /// data), no sniffing, no referrer.
    pub fn into_response<B: From<Bytes>>(self) -> Response<B> {
        let mut r = Response::new(B::from(self.body));
        *r.status_mut() = self.status;
        let h = r.headers_mut();
        h.insert(CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(
            "Content-Security-Policy",
            HeaderValue::from_static(page::csp()),
        );
        h.insert(
            "X-Content-Type-Options",
            HeaderValue::from_static("nosniff"),
        );
        h.insert("Referrer-Policy", HeaderValue::from_static("no-referrer"));
        h.insert("X-Frame-Options", HeaderValue::from_static("DENY"));
        if self.truncated {
            h.insert("X-Xmail-Truncated", HeaderValue::from_static("true"));
        }
        r
    }
}

/// The answer to an access refusal, in the form of the path asked for.
pub fn refused(path: &str, lang: Lang, why: &Refusal) -> Answer {
    if path.starts_with("/api/") {
        Answer::error(true, lang, why.status(), why.message())
    } else {
        Answer::html(why.status(), page::refusal(lang, why.message()))
    }
}

/// Answers an admitted request for `path`.
pub async fn answer(console: &Arc<Console>, uri: &Uri, lang: Lang) -> Answer {
    let path = uri.path();
    let api = path.starts_with("/api/");
    let p = params(uri);
    let Ok(permit) = console.searches.clone().try_acquire_owned() else {
        return Answer::error(
            api,
            lang,
            StatusCode::SERVICE_UNAVAILABLE,
            desk_words(lang).busy,
        );
    };
    let console = console.clone();
    let path = path.to_string();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        match &*path {
            "/trace" | "/api/v1/trace" => search(&console, &p, lang, api),
            "/api/v1/summary" => summary_api(&console, &p, lang),
            _ => desk(&console, &p, lang),
        }
    })
    .await
    .unwrap_or_else(|e| {
        tracing::error!(error = %e, "mail desk request failed");
        Answer::error(
            api,
            lang,
            StatusCode::INTERNAL_SERVER_ERROR,
            "The request failed; see the exporter's log.",
        )
    })
}

fn range_of(since: Date, until: Date) -> TimeRange {
    let bound = |d: Date, end: bool| crate::read::range::parse_bound(&d.to_string(), end).ok();
    TimeRange {
        since: bound(since, false),
        until: bound(until, true),
    }
}

fn search(console: &Console, p: &Params, lang: Lang, api: bool) -> Answer {
    let newest = newest_day(&console.xmail_log_dir, &console.settings);
    let (since, until) = match days(p, newest) {
        Ok(d) => d,
        Err(BadRequest(m)) => return Answer::error(api, lang, StatusCode::BAD_REQUEST, &m),
    };
    let q = p.q.as_deref().unwrap_or("");
    if q.is_empty() || q.len() > MAX_QUERY || q.chars().any(char::is_control) {
        return Answer::error(
            api,
            lang,
            StatusCode::BAD_REQUEST,
            &format!(
                "q must be a message ID, an address or a spool file name of 1 to {MAX_QUERY} characters"
            ),
        );
    }
    tracing::debug!(query = q, %since, %until, "mail desk search");
    let query = Query::parse(q);
    let range = range_of(since, until);
    let limits = trace::Limits {
        max_bytes: MAX_SEARCH_BYTES,
        max_messages: MAX_MESSAGES,
    };
    let found = trace::log_files(&console.xmail_log_dir, &range)
        .map_err(anyhow::Error::from)
        .and_then(|files| trace::trace_bounded(&files, &range, &query, lang, limits));
    let (messages, truncated) = match found {
        Ok(t) => (t.messages, t.truncated),
        Err(e) => {
            tracing::warn!(error = %e, "mail desk search cannot read the logs");
            return Answer::error(
                api,
                lang,
                StatusCode::INTERNAL_SERVER_ERROR,
                "The logs cannot be read; see the exporter's log.",
            );
        }
    };
    let mut a = if api {
        Answer::json(StatusCode::OK, &messages)
    } else {
        let (s, u) = (since.to_string(), until.to_string());
        let form = Form {
            q,
            since: &s,
            until: &u,
        };
        Answer::html(
            StatusCode::OK,
            page::trace(lang, &form, &messages, truncated),
        )
    };
    a.truncated = truncated;
    a
}

fn desk(console: &Console, p: &Params, lang: Lang) -> Answer {
    let newest = newest_day(&console.xmail_log_dir, &console.settings);
    let (since, until) = match days(p, newest) {
        Ok(d) => d,
        Err(BadRequest(m)) => return Answer::error(false, lang, StatusCode::BAD_REQUEST, &m),
    };
    let (s, u) = (since.to_string(), until.to_string());
    let form = Form {
        q: p.q.as_deref().unwrap_or(""),
        since: &s,
        until: &u,
    };
    // The summary of the range's last day: today, on a server whose logs are current.
    let day = match summarize(console, until, until, lang) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "mail desk summary cannot read the logs");
            None
        }
    };
    let today = console
        .settings
        .tz
        .to_datetime(jiff::Timestamp::now())
        .date();
    let day = day.as_ref().map(|s| page::Day {
        date: &u,
        today: until == today,
        report: &s.report,
        cut: s.truncated,
    });
    let (refusals, seen) = console.recent.newest_first();
    Answer::html(
        StatusCode::OK,
        page::desk(lang, &form, day, &refusals, seen),
    )
}

/// The summary of `since`..`until` (whole days), as `report --format json --since --until
/// --top 10` prints it, and whether the byte budget cut it short.
fn summarize(
    console: &Console,
    since: Date,
    until: Date,
    lang: Lang,
) -> anyhow::Result<crate::summary::Summarized> {
    let mut dirs = vec![(console.xmail_log_dir.clone(), KindSet::XMAIL)];
    if console.webmail_log_dir.is_dir() {
        dirs.push((console.webmail_log_dir.clone(), KindSet::WEBMAIL));
    }
    crate::summary::summarize(
        &dirs,
        &range_of(since, until),
        &console.settings,
        TOP,
        lang,
        MAX_SEARCH_BYTES,
    )
}

fn summary_api(console: &Console, p: &Params, lang: Lang) -> Answer {
    let newest = newest_day(&console.xmail_log_dir, &console.settings);
    let (since, until) = match days(p, newest) {
        Ok(d) => d,
        Err(BadRequest(m)) => return Answer::error(true, lang, StatusCode::BAD_REQUEST, &m),
    };
    tracing::debug!(%since, %until, "mail desk summary");
    match summarize(console, since, until, lang) {
        Ok(s) => {
            let mut a = Answer::json(StatusCode::OK, &s.report);
            a.truncated = s.truncated;
            a
        }
        Err(e) => {
            tracing::warn!(error = %e, "mail desk summary cannot read the logs");
            Answer::error(
                true,
                lang,
                StatusCode::INTERNAL_SERVER_ERROR,
                "The logs cannot be read; see the exporter's log.",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn korean_where_it_is_preferred() {
        assert_eq!(
            language(None, Some("ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7")),
            Lang::Ko
        );
        assert_eq!(language(None, Some("en-US,en;q=0.9,ko;q=0.8")), Lang::En);
        assert_eq!(language(None, Some("ko")), Lang::Ko);
        assert_eq!(language(None, Some("de-DE")), Lang::En);
        assert_eq!(language(None, None), Lang::En);
        assert_eq!(language(Some("en"), Some("ko")), Lang::En);
        assert_eq!(language(Some("ko"), None), Lang::Ko);
        assert_eq!(language(Some("fr"), Some("ko")), Lang::Ko);
    }

    #[test]
    fn days_default_to_a_week_up_to_the_newest_line() {
        let newest: Date = "2026-11-28".parse().unwrap();
        let d = days(&Params::default(), newest).unwrap();
        assert_eq!(
            (d.0.to_string(), d.1.to_string()),
            ("2026-11-22".into(), "2026-11-28".into())
        );
        let wide = Params {
            since: Some("2026-01-01".into()),
            until: Some("2026-03-01".into()),
            ..Params::default()
        };
        assert!(days(&wide, newest).unwrap_err().0.contains("31 days"));
        let bad = Params {
            since: Some("yesterday".into()),
            ..Params::default()
        };
        assert!(days(&bad, newest).unwrap_err().0.contains("YYYY-MM-DD"));
        let backwards = Params {
            since: Some("2026-11-28".into()),
            until: Some("2026-11-01".into()),
            ..Params::default()
        };
        assert!(days(&backwards, newest).is_err());
    }

    #[test]
    fn access_rules() {
        let c = Console::new(
            Settings {
                console_users: vec!["desk".into()],
                ..Settings::load(None).unwrap()
            },
            PathBuf::new(),
            PathBuf::new(),
            Arc::new(Recent::new()),
        );
        let local = Client {
            ip: "127.0.0.1".parse().unwrap(),
            tls: false,
        };
        let remote = Client {
            ip: "192.0.2.7".parse().unwrap(),
            tls: false,
        };
        let remote_tls = Client {
            tls: true,
            ..remote
        };
        assert_eq!(c.admit(local, true, Some("desk")), Ok(()));
        assert_eq!(
            c.admit(remote, true, Some("desk")),
            Err(Refusal::NotLoopback)
        );
        assert_eq!(c.admit(remote_tls, true, Some("desk")), Ok(()));
        assert_eq!(c.admit(local, false, None), Err(Refusal::NoLogins));
        assert_eq!(c.admit(local, true, None), Err(Refusal::Unauthenticated));
        assert_eq!(
            c.admit(local, true, Some("prometheus")),
            Err(Refusal::NotAConsoleUser)
        );
        let mapped = Client {
            ip: "::ffff:127.0.0.1".parse().unwrap(),
            tls: false,
        };
        assert_eq!(c.admit(mapped, true, Some("desk")), Ok(()));
    }
}
