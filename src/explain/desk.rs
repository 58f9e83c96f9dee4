//! The words of the mail desk (`--web.enable-console`) in English and Korean: headings,
//! labels, notices and error messages. The summary tables reuse [`super::words`]; each log
//! line's sentence is [`super::smtp`]'s or [`super::smail`]'s, the same as `trace`.

use super::Lang;

/// The desk's words in one language.
pub(crate) struct DeskWords {
    pub(crate) html_lang: &'static str,
    pub(crate) title: &'static str,
    pub(crate) other_lang: &'static str,
    pub(crate) other_lang_code: &'static str,
    pub(crate) search: &'static str,
    pub(crate) query_label: &'static str,
    pub(crate) query_hint: &'static str,
    pub(crate) since: &'static str,
    pub(crate) until: &'static str,
    pub(crate) find: &'static str,
    pub(crate) today: &'static str,
    pub(crate) recent_refusals: &'static str,
    pub(crate) no_refusals: &'static str,
    pub(crate) refusals_seen: &'static str,
    pub(crate) client: &'static str,
    pub(crate) what_happened: &'static str,
    pub(crate) results_for: &'static str,
    pub(crate) nothing_found: &'static str,
    pub(crate) truncated: &'static str,
    pub(crate) missing: &'static str,
    pub(crate) log: &'static str,
    pub(crate) back: &'static str,
    pub(crate) privacy: &'static str,
    pub(crate) summary_cut: &'static str,
    pub(crate) busy: &'static str,
    pub(crate) messages_found: &'static str,
}

pub(crate) const EN: DeskWords = DeskWords {
    html_lang: "en",
    title: "XMail mail desk",
    other_lang: "한국어",
    other_lang_code: "ko",
    search: "Find a message",
    query_label: "Message ID, address or spool file",
    query_hint: "S293D9, kim@example.co.kr or a spool file name",
    since: "From",
    until: "To",
    find: "Search",
    today: "Today",
    recent_refusals: "Recent refusals",
    no_refusals: "No refusal since the exporter started.",
    refusals_seen: "refusals seen since the exporter started; the newest are shown",
    client: "Client",
    what_happened: "What happened",
    results_for: "Messages for",
    nothing_found: "No SMTP or SMAIL line matches this search in the chosen days.",
    truncated: "The search was cut short by its limits: narrow the days or the query.",
    missing: "Missing",
    log: "Log",
    back: "Back to the desk",
    privacy: "Addresses are personal data. This desk answers only the users listed under console.users, with their password; over plain HTTP it answers only this machine (loopback), over TLS any client that logs in. Searches are not written to the exporter's log.",
    summary_cut: "Today's logs are larger than the desk reads at once: the summary covers their first part.",
    busy: "Other searches are running: try again in a moment.",
    messages_found: "messages",
};

pub(crate) const KO: DeskWords = DeskWords {
    html_lang: "ko",
    title: "XMail 메일 데스크",
    other_lang: "English",
    other_lang_code: "en",
    search: "메일 찾기",
    query_label: "메시지 ID, 주소 또는 스풀 파일",
    query_hint: "S293D9, kim@example.co.kr 또는 스풀 파일 이름",
    since: "시작일",
    until: "종료일",
    find: "검색",
    today: "오늘",
    recent_refusals: "최근 거부",
    no_refusals: "익스포터가 시작된 뒤 거부된 메일이 없습니다.",
    refusals_seen: "건의 거부가 익스포터 시작 후 기록되었습니다. 최근 것을 보여 줍니다",
    client: "클라이언트",
    what_happened: "무슨 일이 있었나",
    results_for: "검색 결과:",
    nothing_found: "선택한 기간에 이 검색과 일치하는 SMTP 또는 SMAIL 줄이 없습니다.",
    truncated: "검색 한도에 걸려 일부만 보여 줍니다: 기간이나 검색어를 좁히세요.",
    missing: "누락",
    log: "로그",
    back: "데스크로 돌아가기",
    privacy: "주소는 개인정보입니다. 이 데스크는 console.users에 등록된 사용자만 비밀번호로 사용할 수 있습니다. 일반 HTTP에서는 이 서버 자신(루프백)만, TLS에서는 로그인한 모든 클라이언트가 사용할 수 있습니다. 검색어는 익스포터 로그에 남지 않습니다.",
    summary_cut: "오늘 로그가 한 번에 읽는 양보다 커서 요약은 앞부분만 다룹니다.",
    busy: "다른 검색이 진행 중입니다. 잠시 후 다시 시도하세요.",
    messages_found: "건의 메시지",
};

/// The desk's words in `lang`.
pub(crate) fn desk_words(lang: Lang) -> &'static DeskWords {
    match lang {
        Lang::En => &EN,
        Lang::Ko => &KO,
    }
}
