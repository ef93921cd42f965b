//! The applicant's pages: home, the application (steps 1–3) and "Find / confirm
//! application" (step 4). Server-rendered in the visitor's language; the pages' scripts
//! talk to the JSON API and to the signing module.

use super::i18n;
use super::layout::{Field, Page, field, module_box, render, te};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use imzo_ra::Language;

/// The cookie that keeps the language chosen with the switcher.
pub(crate) const LANG_COOKIE: &str = "imzo_lang";

/// The language of a request: `?lang=`, else the cookie, else `Accept-Language`; and
/// whether `?lang=` chose it (then the answer sets the cookie).
pub(crate) fn language(query: Option<&str>, headers: &HeaderMap) -> (Language, bool) {
    let from_query = query.and_then(|q| {
        form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "lang").and_then(|(_, v)| i18n::parse(&v))
    });
    if let Some(lang) = from_query {
        return (lang, true);
    }
    let from_cookie = headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|cookies| {
        cookies.split(';').find_map(|c| {
            let (name, value) = c.trim().split_once('=')?;
            (name == LANG_COOKIE).then(|| i18n::parse(value)).flatten()
        })
    });
    if let Some(lang) = from_cookie {
        return (lang, false);
    }
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
    (Language::preferred(accept), false)
}

/// The query without `lang`, URL-encoded again (for the switcher's links).
pub(crate) fn query_without_lang(query: Option<&str>) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if k != "lang" {
            out.append_pair(&k, &v);
        }
    }
    out.finish()
}

/// A page answer with the language headers, the cookie when `?lang=` chose it, and the
/// headers that keep the page from being framed or leaking its address.
pub(crate) fn respond(lang: Language, set_cookie: bool, html: String) -> Response {
    let mut response = axum::response::Html(html).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(i18n::tag(lang)));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Language, Cookie"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
             connect-src 'self' ws://127.0.0.1:* wss://127.0.0.1:* ws://localhost:* wss://localhost:*; \
             object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    );
    if set_cookie {
        let cookie = format!("{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax", i18n::code(lang));
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            h.insert(header::SET_COOKIE, value);
        }
    }
    response
}

/// The pages of the portal, by path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PortalPage {
    /// `/`.
    Home,
    /// `/apply`.
    Apply,
    /// `/find`.
    Find,
}

impl PortalPage {
    /// Every page, for the language tests.
    #[cfg(test)]
    pub(crate) const ALL: [PortalPage; 3] = [PortalPage::Home, PortalPage::Apply, PortalPage::Find];

    fn path(self) -> &'static str {
        match self {
            PortalPage::Home => "/",
            PortalPage::Apply => "/apply",
            PortalPage::Find => "/find",
        }
    }
}

/// The HTML of `page` in `lang`; `keep_query` goes into the switcher's links.
pub(crate) fn html(page: PortalPage, lang: Language, keep_query: &str) -> String {
    let (title_key, script, body) = match page {
        PortalPage::Home => ("home.title", Some("home.js"), home_body(lang)),
        PortalPage::Apply => ("apply.title", Some("apply.js"), apply_body(lang)),
        PortalPage::Find => ("find.title", Some("find.js"), find_body(lang)),
    };
    render(&Page { lang, path: page.path(), keep_query, title_key, script, body })
}

async fn serve(page: PortalPage, uri: axum::http::Uri, headers: HeaderMap) -> Response {
    let (lang, chosen) = language(uri.query(), &headers);
    let keep = query_without_lang(uri.query());
    respond(lang, chosen, html(page, lang, &keep))
}

/// `GET /`: the portal's home page.
pub(crate) async fn home(uri: axum::http::Uri, headers: HeaderMap) -> Response {
    serve(PortalPage::Home, uri, headers).await
}

/// `GET /apply`: steps 1–3 of an application.
pub(crate) async fn apply(uri: axum::http::Uri, headers: HeaderMap) -> Response {
    serve(PortalPage::Apply, uri, headers).await
}

/// `GET /find`: step 4, find and confirm an application.
pub(crate) async fn find(uri: axum::http::Uri, headers: HeaderMap) -> Response {
    serve(PortalPage::Find, uri, headers).await
}

fn home_body(lang: Language) -> String {
    format!(
        "<p class=\"lead\">{lead}</p><p class=\"actions\"><a class=\"button\" href=\"/apply\">{get}</a> \
<a class=\"button secondary\" href=\"/find\">{find}</a></p>\
<h2>{how}</h2><ol class=\"how\"><li>{s1}</li><li>{s2}</li><li>{s3}</li><li>{s4}</li></ol>{module}",
        lead = te(lang, "home.lead"),
        get = te(lang, "home.get_key"),
        find = te(lang, "home.find"),
        how = te(lang, "home.how"),
        s1 = te(lang, "home.how1"),
        s2 = te(lang, "home.how2"),
        s3 = te(lang, "home.how3"),
        s4 = te(lang, "home.how4"),
        module = module_box(lang),
    )
}

/// The progress list of the four steps (the script marks the current one).
fn steps(lang: Language) -> String {
    let mut items = String::new();
    for n in 1..=4 {
        items.push_str(&format!(
            "<li data-step=\"{n}\"><span class=\"num\">{n}</span> {}</li>",
            te(lang, &format!("step{n}.name"))
        ));
    }
    format!("<ol class=\"steps\" aria-label=\"{}\">{items}</ol>", te(lang, "nav.steps"))
}

/// The regions (viloyat) by the name the application records (Uzbek, Latin) and the
/// key of their label.
const REGIONS: [(&str, &str); 14] = [
    ("Toshkent shahri", "region.tashkent_city"),
    ("Toshkent viloyati", "region.tashkent"),
    ("Andijon viloyati", "region.andijan"),
    ("Buxoro viloyati", "region.bukhara"),
    ("Farg'ona viloyati", "region.fergana"),
    ("Jizzax viloyati", "region.jizzakh"),
    ("Namangan viloyati", "region.namangan"),
    ("Navoiy viloyati", "region.navoi"),
    ("Qashqadaryo viloyati", "region.kashkadarya"),
    ("Qoraqalpog'iston Respublikasi", "region.karakalpakstan"),
    ("Samarqand viloyati", "region.samarkand"),
    ("Sirdaryo viloyati", "region.syrdarya"),
    ("Surxondaryo viloyati", "region.surkhandarya"),
    ("Xorazm viloyati", "region.khorezm"),
];

fn region_field(lang: Language) -> String {
    let mut options = format!("<option value=\"\">{}</option>", te(lang, "form.choose"));
    for (value, key) in REGIONS {
        options.push_str(&format!("<option value=\"{}\">{}</option>", crate::routes::sandbox::escape(value), te(lang, key)));
    }
    format!(
        "<div class=\"field\" data-field=\"region\"><label for=\"f-region\">{label} <span class=\"req\" title=\"{req}\">*</span></label>\
<select id=\"f-region\" name=\"region\" aria-required=\"true\" aria-describedby=\"err-region\">{options}</select>\
<p class=\"error\" id=\"err-region\" role=\"alert\" hidden></p></div>",
        label = te(lang, "field.region"),
        req = te(lang, "form.required"),
    )
}

/// The registration centre: the script fills the choice from `GET /api/v1/centres`
/// (a page without the script still applies at the default centre).
fn centre_field(lang: Language) -> String {
    format!(
        "<div class=\"field\" data-field=\"centre\"><label for=\"f-centre\">{label}</label>\
<select id=\"f-centre\" name=\"centre\" aria-describedby=\"hint-centre err-centre\"></select>\
<p class=\"hint\" id=\"hint-centre\">{hint}</p><p class=\"error\" id=\"err-centre\" role=\"alert\" hidden></p></div>",
        label = te(lang, "field.centre"),
        hint = te(lang, "hint.centre"),
    )
}

fn step1(lang: Language) -> String {
    let f = |name, label, hint, attrs, required| field(lang, &Field { name, label, hint, attrs, required });
    format!(
        "<section id=\"step1\" data-section=\"1\" aria-labelledby=\"step1-h\"><h2 id=\"step1-h\">{title}</h2>\
<form id=\"start-form\" novalidate>\
<fieldset class=\"field\" data-field=\"applicant_type\"><legend>{type_label}</legend>\
<label class=\"choice\"><input type=\"radio\" name=\"applicant_type\" value=\"individual\" checked> {individual}</label>\
<label class=\"choice\"><input type=\"radio\" name=\"applicant_type\" value=\"legal_entity\"> {legal}</label>\
<p class=\"error\" id=\"err-applicant_type\" role=\"alert\" hidden></p></fieldset>\
{centre}{pinfl}{surname}{given}{patronymic}{birth}{region}{district}{passport}{phone}\
<fieldset id=\"legal\" class=\"legal\" hidden><legend>{company}</legend>{inn}{company_name}{title_field}</fieldset>\
<p class=\"note\">{sms_note}</p><button type=\"submit\">{send}</button></form>\
<form id=\"code-form\" novalidate hidden><p id=\"code-sent\" aria-live=\"polite\"></p>{code}\
<p class=\"actions\"><button type=\"submit\">{verify}</button> <button type=\"button\" class=\"secondary\" id=\"resend\">{resend}</button> \
<button type=\"button\" class=\"link\" id=\"restart\">{restart}</button></p></form></section>",
        title = te(lang, "step1.title"),
        type_label = te(lang, "field.applicant_type"),
        individual = te(lang, "type.individual"),
        legal = te(lang, "type.legal_entity"),
        centre = centre_field(lang),
        pinfl = f("pinfl", "field.pinfl", Some("hint.pinfl"), "inputmode=\"numeric\" autocomplete=\"off\" maxlength=\"14\"", true),
        surname = f("surname", "field.surname", None, "autocomplete=\"family-name\"", true),
        given = f("given_name", "field.given_name", None, "autocomplete=\"given-name\"", true),
        patronymic = f("patronymic", "field.patronymic", None, "autocomplete=\"additional-name\"", false),
        birth = f("birth_date", "field.birth_date", None, "type=\"date\" autocomplete=\"bday\"", true),
        region = region_field(lang),
        district = f("district", "field.district", None, "", false),
        passport = f("passport", "field.passport", Some("hint.passport"), "autocomplete=\"off\" maxlength=\"12\" autocapitalize=\"characters\"", true),
        phone = f("phone", "field.phone", Some("hint.phone"), "type=\"tel\" autocomplete=\"tel\"", true),
        company = te(lang, "field.company"),
        inn = f("company_inn", "field.company_inn", Some("hint.inn"), "inputmode=\"numeric\" maxlength=\"9\"", true),
        company_name = f("company_name", "field.company_name", None, "autocomplete=\"organization\"", true),
        title_field = f("title", "field.title", None, "autocomplete=\"organization-title\"", true),
        sms_note = te(lang, "step1.sms_note"),
        send = te(lang, "step1.send"),
        code = f("code", "field.code", None, "inputmode=\"numeric\" autocomplete=\"one-time-code\" maxlength=\"6\"", true),
        verify = te(lang, "step1.verify"),
        resend = te(lang, "step1.resend"),
        restart = te(lang, "step1.restart"),
    )
}

fn document_field(lang: Language, name: &str) -> String {
    // Ids carry `doc-`: step 1's passport *number* field is on the same page.
    format!(
        "<div class=\"field\" data-field=\"doc-{name}\"><label for=\"f-doc-{name}\">{label} <span class=\"req\" title=\"{req}\">*</span></label>\
<input id=\"f-doc-{name}\" name=\"doc-{name}\" type=\"file\" accept=\".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg\" \
aria-required=\"true\" aria-describedby=\"hint-docs err-doc-{name}\">\
<div class=\"preview\" id=\"preview-doc-{name}\" aria-live=\"polite\"></div>\
<p class=\"error\" id=\"err-doc-{name}\" role=\"alert\" hidden></p></div>",
        label = te(lang, &format!("field.{name}_scan")),
        req = te(lang, "form.required"),
    )
}

fn step2(lang: Language) -> String {
    format!(
        "<section id=\"step2\" data-section=\"2\" aria-labelledby=\"step2-h\" hidden><h2 id=\"step2-h\">{title}</h2>{module}\
<form id=\"key-form\" novalidate><fieldset class=\"field\" data-field=\"disk\"><legend>{disk}</legend>\
<div id=\"disks\"></div><p class=\"hint\">{disk_hint}</p><p class=\"error\" id=\"err-disk\" role=\"alert\" hidden></p></fieldset>\
<div class=\"password-info\"><h3>{pw_title}</h3><p>{pw_dialog}</p><ul><li>{pw1}</li><li>{pw2}</li><li>{pw3}</li><li>{pw4}</li></ul></div>\
<p class=\"error\" id=\"err-key\" role=\"alert\" hidden></p>\
<button type=\"submit\" id=\"create-key\">{create}</button></form>\
<p id=\"key-made\" class=\"ok\" hidden></p>\
<form id=\"docs-form\" novalidate hidden><h3>{docs}</h3><p class=\"hint\" id=\"hint-docs\">{docs_hint}</p>\
{passport}{selfie}<p class=\"error\" id=\"err-csr\" role=\"alert\" hidden></p><button type=\"submit\">{submit}</button></form></section>",
        title = te(lang, "step2.title"),
        module = module_box(lang),
        disk = te(lang, "step2.disk"),
        disk_hint = te(lang, "step2.disk_hint"),
        pw_title = te(lang, "step2.password"),
        pw_dialog = te(lang, "step2.password_dialog"),
        pw1 = te(lang, "step2.strength1"),
        pw2 = te(lang, "step2.strength2"),
        pw3 = te(lang, "step2.strength3"),
        pw4 = te(lang, "step2.strength4"),
        create = te(lang, "step2.create"),
        docs = te(lang, "step2.documents"),
        docs_hint = te(lang, "step2.documents_hint"),
        passport = document_field(lang, "passport"),
        selfie = document_field(lang, "selfie"),
        submit = te(lang, "step2.submit"),
    )
}

/// The application's number, amount, deadline and pay links (filled in by the script);
/// step 3 of `/apply` and the status on `/find` share it.
fn application_card(lang: Language, prefix: &str) -> String {
    format!(
        "<dl class=\"card\"><dt>{number}</dt><dd id=\"{prefix}-number\" class=\"number\"></dd>\
<dt>{state}</dt><dd id=\"{prefix}-state\"></dd>\
<dt>{amount}</dt><dd id=\"{prefix}-amount\" class=\"amount\"></dd>\
<dt>{deadline}</dt><dd><span id=\"{prefix}-deadline\"></span> <span id=\"{prefix}-left\" class=\"left\"></span></dd></dl>\
<div id=\"{prefix}-pay\" class=\"pay\" hidden><h3>{pay}</h3><p class=\"pay-buttons\"></p><p class=\"print-links\"></p></div>",
        number = te(lang, "app.number"),
        state = te(lang, "app.state"),
        amount = te(lang, "app.amount"),
        deadline = te(lang, "app.deadline"),
        pay = te(lang, "app.pay"),
    )
}

fn step3(lang: Language) -> String {
    format!(
        "<section id=\"step3\" data-section=\"3\" aria-labelledby=\"step3-h\" hidden><h2 id=\"step3-h\">{title}</h2>\
<p>{intro}</p>{card}<p class=\"note\">{after}</p>\
<p class=\"actions\"><a class=\"button\" id=\"to-find\" href=\"/find\">{find}</a> \
<button type=\"button\" class=\"secondary\" data-print>{print}</button> \
<button type=\"button\" class=\"link\" id=\"new-application\">{again}</button></p></section>",
        title = te(lang, "step3.title"),
        intro = te(lang, "step3.intro"),
        card = application_card(lang, "a"),
        after = te(lang, "step3.after"),
        find = te(lang, "home.find"),
        print = te(lang, "app.print"),
        again = te(lang, "step3.again"),
    )
}

fn apply_body(lang: Language) -> String {
    format!(
        "{steps}<p id=\"form-error\" class=\"error banner\" role=\"alert\" hidden></p>{s1}{s2}{s3}",
        steps = steps(lang),
        s1 = step1(lang),
        s2 = step2(lang),
        s3 = step3(lang),
    )
}

fn find_body(lang: Language) -> String {
    let f = |name, label, hint, attrs, required| field(lang, &Field { name, label, hint, attrs, required });
    format!(
        "<p class=\"lead\">{lead}</p><p id=\"form-error\" class=\"error banner\" role=\"alert\" hidden></p>\
<form id=\"lookup-form\" novalidate>{number}\
<div class=\"captcha\"><img id=\"captcha-img\" alt=\"{captcha_alt}\" width=\"200\" height=\"70\">\
<button type=\"button\" class=\"secondary\" id=\"captcha-new\">{captcha_new}</button></div>{answer}\
<button type=\"submit\">{find}</button></form>\
<section id=\"status\" aria-labelledby=\"status-h\" hidden><h2 id=\"status-h\">{status}</h2>{card}\
<p id=\"state-note\" class=\"note\"></p><p class=\"actions\"><button type=\"button\" class=\"secondary\" data-print>{print}</button></p></section>\
<section id=\"confirm\" aria-labelledby=\"confirm-h\" hidden><h2 id=\"confirm-h\">{confirm_title}</h2><p>{confirm_intro}</p>{module}\
<form id=\"confirm-form\" novalidate><div class=\"field\" data-field=\"key\"><label for=\"f-key\">{key_label}</label>\
<select id=\"f-key\" name=\"key\" aria-describedby=\"err-key\"></select><p class=\"error\" id=\"err-key\" role=\"alert\" hidden></p></div>\
<p class=\"note\">{confirm_note}</p><button type=\"submit\" id=\"confirm-btn\">{confirm}</button></form></section>\
<section id=\"certificate\" aria-labelledby=\"cert-h\" hidden><h2 id=\"cert-h\">{cert_title}</h2><p id=\"cert-installed\" class=\"ok\"></p>\
<dl class=\"card\"><dt>{serial}</dt><dd id=\"cert-serial\" class=\"number\"></dd><dt>{subject}</dt><dd id=\"cert-subject\"></dd>\
<dt>{valid}</dt><dd id=\"cert-valid\"></dd></dl>\
<p class=\"actions\"><a class=\"button\" id=\"cert-download\" download>{download_pem}</a> <a class=\"button secondary\" id=\"cert-der\">{download_der}</a> \
<a class=\"button secondary\" id=\"chain-download\" download>{download_chain}</a></p>\
<details><summary>{pem}</summary><pre id=\"cert-pem\"></pre></details></section>",
        lead = te(lang, "find.lead"),
        number = f("number", "field.number", Some("hint.number"), "inputmode=\"numeric\" autocomplete=\"off\" maxlength=\"12\"", true),
        captcha_alt = te(lang, "find.captcha_alt"),
        captcha_new = te(lang, "find.captcha_new"),
        answer = f("answer", "field.answer", None, "inputmode=\"numeric\" autocomplete=\"off\"", true),
        find = te(lang, "find.submit"),
        status = te(lang, "find.status"),
        card = application_card(lang, "s"),
        print = te(lang, "app.print"),
        confirm_title = te(lang, "confirm.title"),
        confirm_intro = te(lang, "confirm.intro"),
        module = module_box(lang),
        key_label = te(lang, "confirm.key"),
        confirm_note = te(lang, "confirm.note"),
        confirm = te(lang, "confirm.submit"),
        cert_title = te(lang, "cert.title"),
        serial = te(lang, "cert.serial"),
        subject = te(lang, "cert.subject"),
        valid = te(lang, "cert.valid"),
        download_pem = te(lang, "cert.download_pem"),
        download_der = te(lang, "cert.download_der"),
        download_chain = te(lang, "cert.download_chain"),
        pem = te(lang, "cert.pem"),
    )
}
