//! The operator console (`/console`): server-rendered in the operator's language; its
//! script signs every request through the signing module with the operator's own key
//! (a fresh server challenge each time, as the operator API requires), so no password,
//! token or key ever reaches the page or the server's session state.

use super::layout::{Field, Page, field, module_box, render, te};
use super::pages::{language, query_without_lang, respond};
use crate::routes::sandbox::escape;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use imzo_ra::Language;

/// The portal's policy, plus `frame-src blob:`: the PDF viewer shows a document the
/// script fetched (signed) as a blob, never a URL that could be fetched again.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
     frame-src blob:; connect-src 'self' ws://127.0.0.1:* wss://127.0.0.1:* ws://localhost:* wss://localhost:*; \
     object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// `GET /console`.
pub(crate) async fn page(uri: axum::http::Uri, headers: HeaderMap) -> Response {
    let (lang, chosen) = language(uri.query(), &headers);
    let keep = query_without_lang(uri.query());
    let mut response = respond(lang, chosen, html(lang, &keep));
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    // What the console shows is personal data: nothing keeps the page.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The console's HTML in `lang`.
pub(crate) fn html(lang: Language, keep_query: &str) -> String {
    let body = format!(
        "<link rel=\"stylesheet\" href=\"/portal/console.css\">\
<p id=\"form-error\" class=\"error banner\" role=\"alert\" hidden></p>{login}{session}",
        login = login(lang),
        session = session(lang),
    );
    render(&Page { lang, path: "/console", keep_query, title_key: "console.title", script: Some("console.js"), body })
}

fn login(lang: Language) -> String {
    format!(
        "<section id=\"login\" aria-labelledby=\"login-h\"><h2 id=\"login-h\">{title}</h2><p>{intro}</p>{module}\
<form id=\"login-form\" novalidate><div class=\"field\" data-field=\"key\"><label for=\"f-key\">{key}</label>\
<select id=\"f-key\" name=\"key\" aria-describedby=\"hint-key err-key\"></select>\
<p class=\"hint\" id=\"hint-key\">{key_hint}</p><p class=\"error\" id=\"err-key\" role=\"alert\" hidden></p></div>\
<button type=\"submit\" id=\"login-btn\">{submit}</button></form></section>",
        title = te(lang, "console.login"),
        intro = te(lang, "console.login_intro"),
        module = module_box(lang),
        key = te(lang, "console.key"),
        key_hint = te(lang, "console.key_hint"),
        submit = te(lang, "console.sign_in"),
    )
}

/// The listed rejection reasons as options, in `lang`.
fn reason_options(lang: Language) -> String {
    let mut options = format!("<option value=\"\">{}</option>", te(lang, "form.choose"));
    for r in imzo_ra::reasons::rejection_reasons() {
        let text = match lang {
            Language::UzLatn => r.text.uz.clone(),
            Language::UzCyrl => r.text.uz_cyrl(),
            Language::Ru => r.text.ru.clone(),
            Language::En => r.text.en.clone(),
        };
        options.push_str(&format!("<option value=\"{}\">{}</option>", escape(r.code), escape(&text)));
    }
    options
}

/// One `<dt>`/`<dd>` of the detail card, filled by the script through `data-d`.
fn row(lang: Language, label: &str, name: &str) -> String {
    format!("<dt>{}</dt><dd data-d=\"{name}\"></dd>", te(lang, label))
}

fn detail(lang: Language) -> String {
    let rows = [
        row(lang, "app.number", "number"),
        row(lang, "app.state", "state"),
        row(lang, "field.applicant_type", "type"),
        row(lang, "console.name", "name"),
        row(lang, "field.pinfl", "pinfl"),
        row(lang, "console.pinfl_says", "pinfl_says"),
        row(lang, "console.birth_typed", "birth_typed"),
        row(lang, "field.region", "address"),
        row(lang, "field.passport", "passport"),
        row(lang, "field.phone", "phone"),
        row(lang, "field.company", "company"),
        row(lang, "console.submitted", "submitted"),
        row(lang, "app.amount", "fee"),
        row(lang, "console.payment", "payment"),
        row(lang, "console.rejection", "rejection"),
    ]
    .concat();
    let doc = |kind: &str| {
        format!(
            "<figure class=\"doc\" id=\"doc-{kind}\"><figcaption>{}</figcaption><div class=\"doc-view\" aria-live=\"polite\"></div></figure>",
            te(lang, &format!("field.{kind}_scan"))
        )
    };
    format!(
        "<section id=\"detail\" aria-labelledby=\"detail-h\" hidden><h2 id=\"detail-h\" tabindex=\"-1\">{title} <span id=\"detail-number\" class=\"number\"></span></h2>\
<p class=\"actions\"><button type=\"button\" class=\"link\" id=\"back\">{back}</button></p>\
<dl class=\"card\" id=\"detail-card\">{rows}</dl>\
<h3>{docs}</h3><div class=\"docs\">{passport}{selfie}</div>\
<section id=\"decide\" aria-labelledby=\"decide-h\"><h3 id=\"decide-h\">{decide}</h3>\
<form id=\"approve-form\" novalidate><button type=\"submit\" id=\"approve-btn\">{approve}</button></form>\
<form id=\"reject-form\" novalidate><div class=\"field\" data-field=\"code\"><label for=\"f-code\">{reason}</label>\
<select id=\"f-code\" name=\"code\" aria-required=\"true\" aria-describedby=\"err-code\">{options}</select>\
<p class=\"error\" id=\"err-code\" role=\"alert\" hidden></p></div>\
<div class=\"field\" data-field=\"reason\"><label for=\"f-reason\">{free}</label>\
<textarea id=\"f-reason\" name=\"reason\" rows=\"3\" maxlength=\"500\" aria-describedby=\"hint-reason err-reason\"></textarea>\
<p class=\"hint\" id=\"hint-reason\">{free_hint}</p><p class=\"error\" id=\"err-reason\" role=\"alert\" hidden></p></div>\
<button type=\"submit\" class=\"danger\" id=\"reject-btn\">{reject}</button></form></section>\
<p id=\"decided\" class=\"ok\" role=\"status\" hidden></p>\
<section aria-labelledby=\"trail-h\"><h3 id=\"trail-h\">{trail}</h3><ol id=\"trail\" class=\"trail\"></ol></section>\
<section aria-labelledby=\"sms-h\"><h3 id=\"sms-h\">{sms}</h3><ol id=\"app-sms\" class=\"sms\"></ol></section></section>",
        title = te(lang, "console.application"),
        back = te(lang, "console.back"),
        docs = te(lang, "step2.documents"),
        passport = doc("passport"),
        selfie = doc("selfie"),
        decide = te(lang, "console.decide"),
        approve = te(lang, "console.approve"),
        reason = te(lang, "console.reason"),
        options = reason_options(lang),
        free = te(lang, "console.reason_text"),
        free_hint = te(lang, "console.reason_hint"),
        reject = te(lang, "console.reject"),
        trail = te(lang, "console.trail"),
        sms = te(lang, "console.app_sms"),
    )
}

fn session(lang: Language) -> String {
    let search = field(
        lang,
        &Field {
            name: "q",
            label: "console.search",
            hint: Some("console.search_hint"),
            attrs: "inputmode=\"numeric\" autocomplete=\"off\" maxlength=\"14\"",
            required: true,
        },
    );
    format!(
        "<div id=\"session\" hidden><p class=\"who\"><span id=\"who\"></span> \
<button type=\"button\" class=\"secondary\" id=\"logout\">{logout}</button></p>\
<form id=\"search-form\" role=\"search\" novalidate>{search}<button type=\"submit\">{find}</button></form>\
<section id=\"results\" aria-labelledby=\"results-h\" hidden><h2 id=\"results-h\" tabindex=\"-1\">{results}</h2><ul class=\"apps\" id=\"results-list\"></ul></section>\
<section id=\"queue\" aria-labelledby=\"queue-h\"><h2 id=\"queue-h\" tabindex=\"-1\">{queue}</h2>\
<p class=\"actions\"><button type=\"button\" class=\"secondary\" id=\"refresh\">{refresh}</button></p>\
<p id=\"queue-empty\" class=\"note\" hidden>{empty}</p><ul class=\"apps\" id=\"queue-list\"></ul></section>\
{detail}\
<section id=\"outbox\" aria-labelledby=\"outbox-h\"><h2 id=\"outbox-h\">{outbox}</h2><p class=\"note\">{outbox_note}</p>\
<p class=\"actions\"><button type=\"button\" class=\"secondary\" id=\"outbox-refresh\">{refresh}</button></p>\
<p id=\"outbox-off\" class=\"note\" hidden>{outbox_off}</p><ol id=\"outbox-list\" class=\"sms\" reversed></ol></section></div>",
        logout = te(lang, "console.sign_out"),
        find = te(lang, "find.submit"),
        results = te(lang, "console.results"),
        queue = te(lang, "console.queue"),
        refresh = te(lang, "console.refresh"),
        empty = te(lang, "console.queue_empty"),
        detail = detail(lang),
        outbox = te(lang, "console.outbox"),
        outbox_note = te(lang, "console.outbox_note"),
        outbox_off = te(lang, "console.outbox_off"),
    )
}
