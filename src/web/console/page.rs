//! The desk's HTML, rendered on the server: it works with JavaScript off, and a page's URL is
//! what a person shares or a Grafana link opens.
//!
//! Every byte taken from a log (or from the request) goes through [`esc`]; the page has no
//! script, no external asset and one inline style, allowed by its hash in the
//! Content-Security-Policy ([`csp`]). Words come from [`crate::explain::desk`] and
//! [`crate::explain::words`], sentences from [`crate::explain`], the numbers from
//! [`crate::summary::Report`] and [`crate::trace::Message`].

use std::fmt::Write;
use std::sync::LazyLock;

use base64::Engine;

use crate::explain::desk::{DeskWords, desk_words};
use crate::explain::words::{Words, words};
use crate::explain::{self, Lang};
use crate::parse::smtp::parse_smtp;
use crate::summary::Report;
use crate::trace::Message;

/// The one style sheet, inline (no second request, nothing external).
const STYLE: &str = "\
body{font-family:system-ui,'Noto Sans KR','NanumGothic',sans-serif;margin:0;color:#1d2430;background:#f6f7f9}\
header{background:#1f3b5a;color:#fff;padding:.6rem 1.2rem;display:flex;justify-content:space-between;align-items:center}\
header h1{font-size:1.2rem;margin:0}header a{color:#fff}\
main{padding:1rem 1.2rem;max-width:72rem}\
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:.8rem 1rem;margin-bottom:1rem}\
h2{font-size:1.05rem;margin:.2rem 0 .6rem}h3{font-size:.95rem;margin:.8rem 0 .3rem}\
form{display:flex;flex-wrap:wrap;gap:.6rem;align-items:end}\
label{display:flex;flex-direction:column;font-size:.85rem;gap:.2rem}\
input{font:inherit;padding:.3rem .4rem;border:1px solid #aab;border-radius:4px}\
input[name=q]{min-width:22rem}\
button{font:inherit;padding:.35rem 1rem;background:#1f5fa8;color:#fff;border:0;border-radius:4px}\
table{border-collapse:collapse;font-size:.85rem;margin:.2rem 0 .6rem}\
th,td{text-align:left;padding:.2rem .6rem;border-bottom:1px solid #e4e7eb;vertical-align:top}\
td.n{text-align:right;font-variant-numeric:tabular-nums}td:first-child{white-space:nowrap}\
.tiles{display:flex;flex-wrap:wrap;gap:.6rem}\
.tile{border:1px solid #dde1e6;border-radius:6px;padding:.4rem .8rem;min-width:7rem}\
.tile b{display:block;font-size:1.3rem}\
.cols{display:flex;flex-wrap:wrap;gap:1.5rem}\
.note{color:#5a6472;font-size:.8rem}.warn{color:#8a4b00}.miss{color:#a11}\
code{font-size:.85rem}";

/// The Content-Security-Policy of every desk page: nothing but the inline style above.
pub fn csp() -> &'static str {
    static CSP: LazyLock<String> = LazyLock::new(|| {
        let digest = ring::digest::digest(&ring::digest::SHA256, STYLE.as_bytes());
        let hash = base64::engine::general_purpose::STANDARD.encode(digest.as_ref());
        format!(
            "default-src 'none'; style-src 'sha256-{hash}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        )
    });
    &CSP
}

/// `s` with `&`, `<`, `>`, `"` and `'` escaped: safe in text and in quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A query-string value, percent-encoded.
fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// What the search form shows.
pub struct Form<'a> {
    /// The query typed.
    pub q: &'a str,
    /// `YYYY-MM-DD`.
    pub since: &'a str,
    /// `YYYY-MM-DD`.
    pub until: &'a str,
}

impl Form<'_> {
    fn link(&self, path: &str, lang: Lang) -> String {
        let mut l = format!("{path}?lang={}", lang_code(lang));
        for (k, v) in [("q", self.q), ("since", self.since), ("until", self.until)] {
            if !v.is_empty() {
                let _ = write!(l, "&{k}={}", enc(v));
            }
        }
        l
    }
}

fn lang_code(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "en",
        Lang::Ko => "ko",
    }
}

fn other(lang: Lang) -> Lang {
    match lang {
        Lang::En => Lang::Ko,
        Lang::Ko => Lang::En,
    }
}

/// The page around `body`: header with the language switch, the search form, the notice.
fn page(lang: Lang, path: &str, form: &Form<'_>, body: &str) -> String {
    let d = desk_words(lang);
    let mut s = String::with_capacity(body.len() + 4096);
    let _ = writeln!(
        s,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head>\n<body>\n\
         <header><h1><a href=\"/?lang={}\">{}</a></h1><a href=\"{}\" hreflang=\"{}\">{}</a></header>\n<main>",
        d.html_lang,
        esc(d.title),
        lang_code(lang),
        esc(d.title),
        esc(&form.link(path, other(lang))),
        d.other_lang_code,
        esc(d.other_lang),
    );
    search_form(&mut s, d, lang, form);
    s.push_str(body);
    let _ = writeln!(
        s,
        "<p class=\"note\">{}</p>\n</main>\n</body>\n</html>",
        esc(d.privacy)
    );
    s
}

fn search_form(s: &mut String, d: &DeskWords, lang: Lang, form: &Form<'_>) {
    let _ = writeln!(
        s,
        "<section><h2>{}</h2>\n<form method=\"get\" action=\"/trace\">\
         <input type=\"hidden\" name=\"lang\" value=\"{}\">\
         <label>{}<input name=\"q\" value=\"{}\" placeholder=\"{}\" required maxlength=\"256\" autofocus></label>\
         <label>{}<input type=\"date\" name=\"since\" value=\"{}\"></label>\
         <label>{}<input type=\"date\" name=\"until\" value=\"{}\"></label>\
         <button type=\"submit\">{}</button></form></section>",
        esc(d.search),
        lang_code(lang),
        esc(d.query_label),
        esc(form.q),
        esc(d.query_hint),
        esc(d.since),
        esc(form.since),
        esc(d.until),
        esc(form.until),
        esc(d.find),
    );
}

/// One day's summary for the desk.
pub struct Day<'a> {
    /// `YYYY-MM-DD`.
    pub date: &'a str,
    /// Is it today?
    pub today: bool,
    /// The summary.
    pub report: &'a Report,
    /// The byte budget cut it short.
    pub cut: bool,
}

/// The desk: the search form, a day's summary and the recent refusals.
pub fn desk(
    lang: Lang,
    form: &Form<'_>,
    day: Option<Day<'_>>,
    refusals: &[Vec<u8>],
    refusals_seen: u64,
) -> String {
    let (d, w) = (desk_words(lang), words(lang));
    let mut b = String::new();
    if let Some(day) = day {
        summary(&mut b, d, w, lang, &day);
    }
    let _ = writeln!(
        b,
        "<section id=\"refusals\"><h2>{}</h2>",
        esc(d.recent_refusals)
    );
    if refusals.is_empty() {
        let _ = writeln!(b, "<p>{}</p>", esc(d.no_refusals));
    } else {
        let _ = write!(
            b,
            "<p class=\"note\">{refusals_seen} {}</p>\n<table>",
            esc(d.refusals_seen)
        );
        head_row(&mut b, &[w.time, d.client, w.status, d.what_happened]);
        b.push('\n');
        for line in refusals {
            let Ok(ev) = parse_smtp(line) else { continue };
            let target = [ev.recipient, ev.sender]
                .into_iter()
                .find(|a| a.contains(&b'@'))
                .map(explain::lossy);
            let time = ev.time.to_string();
            let sentence = esc(&explain::smtp(&ev, lang));
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>",
                esc(&time),
                esc(&explain::lossy(ev.peer_ip)),
                esc(&ev.status.status.text()),
            );
            match target {
                Some(a) => {
                    let f = Form {
                        q: &a,
                        since: &time[..10.min(time.len())],
                        until: &time[..10.min(time.len())],
                    };
                    let _ = write!(
                        b,
                        "<a href=\"{}\">{sentence}</a>",
                        esc(&f.link("/trace", lang))
                    );
                }
                None => b.push_str(&sentence),
            }
            b.push_str("</td></tr>\n");
        }
        b.push_str("</table>\n");
    }
    b.push_str("</section>\n");
    page(lang, "/", form, &b)
}

/// A day's summary: the `report --format text` content as tables.
fn summary(b: &mut String, d: &DeskWords, w: &Words, lang: Lang, day: &Day<'_>) {
    let r = day.report;
    let heading = if day.today {
        format!("{} ({})", d.today, day.date)
    } else {
        day.date.to_string()
    };
    let _ = writeln!(b, "<section id=\"today\"><h2>{}</h2>", esc(&heading));
    if day.cut {
        let _ = writeln!(b, "<p class=\"warn\">{}</p>", esc(d.summary_cut));
    }
    let t = &r.totals;
    b.push_str("<div class=\"tiles\">");
    for (label, n) in [
        (w.received, t.received),
        (w.delivered, t.delivered),
        (w.bounced, t.bounced),
        (w.refused, t.refused),
        (w.recipients_accepted, t.recipients_accepted),
        (w.recipients_refused, t.recipients_refused),
        (w.auth_failures, t.auth_failures),
        (w.dnsbl_refusals, t.dnsbl_refusals),
        (w.webmail_errors, t.webmail_errors),
    ] {
        let _ = write!(b, "<div class=\"tile\">{}<b>{n}</b></div>", esc(label));
    }
    b.push_str("</div>\n<div class=\"cols\">");
    // Per hour: only the hours with traffic.
    titled_table(
        b,
        w.per_hour,
        &[w.hour, w.received, w.delivered, w.bounced, w.refused],
    );
    for h in &r.per_hour {
        let x = &h.traffic;
        if x.received + x.delivered + x.bounced + x.refused == 0 {
            continue;
        }
        let _ = write!(
            b,
            "<tr><td>{:02}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            h.hour, x.received, x.delivered, x.bounced, x.refused
        );
    }
    b.push_str("</table></div>");
    titled_table(b, w.refusals, &[w.count, w.status, w.reason]);
    for row in &r.refusals {
        let _ = write!(
            b,
            "<tr><td class=\"n\">{}</td><td><code>{}</code></td><td>{}</td></tr>",
            row.count,
            esc(&row.status),
            esc(&row.title)
        );
    }
    b.push_str("</table></div>");
    titled_table(b, w.top_senders, &[w.messages, w.sender]);
    for row in &r.top_senders {
        let _ = write!(
            b,
            "<tr><td class=\"n\">{}</td><td><a href=\"{}\">{}</a></td></tr>",
            row.messages,
            esc(&Form {
                q: &row.sender,
                since: day.date,
                until: day.date,
            }
            .link("/trace", lang)),
            esc(&row.sender)
        );
    }
    b.push_str("</table></div>");
    titled_table(b, w.top_domains, &[w.deliveries, w.domain]);
    for row in &r.top_recipient_domains {
        let _ = write!(
            b,
            "<tr><td class=\"n\">{}</td><td>{}</td></tr>",
            row.deliveries,
            esc(&row.domain)
        );
    }
    b.push_str("</table></div></div></section>\n");
}

/// A table's header row, its cells escaped.
fn head_row(b: &mut String, headers: &[&str]) {
    b.push_str("<tr>");
    for h in headers {
        let _ = write!(b, "<th>{}</th>", esc(h));
    }
    b.push_str("</tr>");
}

/// Opens one of the summary's tables: its heading, then its header row. The caller adds the
/// rows and `</table></div>`.
fn titled_table(b: &mut String, title: &str, headers: &[&str]) {
    let _ = write!(b, "<div><h3>{}</h3><table>", esc(title));
    head_row(b, headers);
}

/// The story of the messages a search found.
pub fn trace(lang: Lang, form: &Form<'_>, messages: &[Message], truncated: bool) -> String {
    let (d, w) = (desk_words(lang), words(lang));
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<section id=\"results\"><h2>{} <code>{}</code> ({} {}, {} – {})</h2>",
        esc(d.results_for),
        esc(form.q),
        messages.len(),
        esc(d.messages_found),
        esc(form.since),
        esc(form.until),
    );
    if truncated {
        let _ = writeln!(b, "<p class=\"warn\">{}</p>", esc(d.truncated));
    }
    if messages.is_empty() {
        let _ = writeln!(b, "<p>{}</p>", esc(d.nothing_found));
    }
    for m in messages {
        let id = if m.message_id.is_empty() {
            explain::no_message_id(lang).to_string()
        } else {
            m.message_id.clone()
        };
        let _ = write!(
            b,
            "<h3>{} <code>{}</code></h3>\n<table>",
            esc(w.message),
            esc(&id)
        );
        head_row(&mut b, &[w.time, d.log, w.status, d.what_happened]);
        b.push('\n');
        for e in &m.lines {
            let _ = writeln!(
                b,
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                esc(&e.time),
                esc(e.log),
                esc(&e.event),
                esc(&e.text)
            );
        }
        b.push_str("</table>\n");
        for n in &m.notes {
            let _ = writeln!(b, "<p class=\"miss\">{}: {}</p>", esc(d.missing), esc(n));
        }
    }
    let _ = writeln!(
        b,
        "<p><a href=\"/?lang={}\">{}</a></p></section>",
        lang_code(lang),
        esc(d.back)
    );
    page(lang, "/trace", form, &b)
}

/// The page for a client the desk does not serve: the reason and nothing else (no form, no
/// example addresses).
pub fn refusal(lang: Lang, message: &str) -> String {
    let d = desk_words(lang);
    format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head>\n\
         <body>\n<header><h1>{}</h1></header>\n<main><section><p class=\"warn\">{}</p></section></main>\n</body>\n</html>\n",
        d.html_lang,
        esc(d.title),
        esc(d.title),
        esc(message)
    )
}

/// A page that only says why the request was not answered.
pub fn problem(lang: Lang, form: &Form<'_>, message: &str) -> String {
    page(
        lang,
        "/",
        form,
        &format!(
            "<section><p class=\"warn\">{}</p></section>\n",
            esc(message)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_that_could_open_markup() {
        assert_eq!(
            esc("<img src=x onerror=alert(1)> & \"q\" 'a'"),
            "&lt;img src=x onerror=alert(1)&gt; &amp; &quot;q&quot; &#39;a&#39;"
        );
    }

    #[test]
    fn the_policy_names_the_style_by_its_hash() {
        assert!(csp().starts_with("default-src 'none'; style-src 'sha256-"));
        assert!(!csp().contains("unsafe"));
    }
}
