//! The portal's page shell: head, language switcher, the signing-module box, the message
//! dictionary for the page's script, and HTML escaping.

use super::i18n::{self, LANGUAGES, t};
use crate::routes::sandbox::escape;
use imzo_ra::Language;

/// What a page needs to be wrapped in the shell.
pub(crate) struct Page<'a> {
    /// The page's language.
    pub(crate) lang: Language,
    /// The path the switcher links back to (`/apply`).
    pub(crate) path: &'a str,
    /// The query to keep in the switcher's links (without `lang`), already URL-encoded.
    pub(crate) keep_query: &'a str,
    /// Message key of the title.
    pub(crate) title_key: &'a str,
    /// The page's own script under `/portal/` (`apply.js`), if it has one.
    pub(crate) script: Option<&'a str>,
    /// The main content, already HTML.
    pub(crate) body: String,
}

/// `t` escaped for HTML text and attribute values.
pub(crate) fn te(lang: Language, key: &str) -> String {
    escape(&t(lang, key))
}

/// The switcher: one link per language to the same page (GET, so no form is resent).
fn switcher(page: &Page<'_>) -> String {
    let mut links = String::new();
    for lang in LANGUAGES {
        let current = if lang == page.lang { " aria-current=\"true\"" } else { "" };
        let sep = if page.keep_query.is_empty() { String::new() } else { format!("&amp;{}", escape(page.keep_query)) };
        links.push_str(&format!(
            "<li><a href=\"{}?lang={}{sep}\" hreflang=\"{}\" lang=\"{}\"{current}>{}</a></li>",
            escape(page.path),
            i18n::code(lang),
            i18n::tag(lang),
            i18n::tag(lang),
            escape(i18n::own_name(lang)),
        ));
    }
    format!("<nav class=\"langs\" aria-label=\"{}\"><ul>{links}</ul></nav>", te(page.lang, "nav.language"))
}

/// The dictionary as JSON that is safe inside a `<script>` element.
fn dictionary_json(lang: Language) -> String {
    let json = serde_json::to_string(&i18n::dictionary(lang)).unwrap_or_else(|_| "{}".to_owned());
    json.replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

/// The whole page.
pub(crate) fn render(page: &Page<'_>) -> String {
    let lang = page.lang;
    let script = page
        .script
        .map(|s| format!("<script src=\"/portal/{}\" defer></script>", escape(s)))
        .unwrap_or_default();
    format!(
        "<!doctype html><html lang=\"{tag}\" data-api-lang=\"{tag}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta name=\"referrer\" content=\"no-referrer\">\
<title>{title} — {brand}</title><link rel=\"stylesheet\" href=\"/portal/portal.css\"></head><body>\
<a class=\"skip\" href=\"#main\">{skip}</a>\
<header class=\"top\"><a class=\"brand\" href=\"/\">{brand}</a>{switcher}</header>\
<main id=\"main\" tabindex=\"-1\"><h1>{title}</h1>{body}</main>\
<footer class=\"foot\"><p>{footer}</p><p><a href=\"/registry\">{registry}</a></p></footer>\
<script type=\"application/json\" id=\"imzo-i18n\">{dict}</script>\
<script src=\"/portal/imzo-client.js\" defer></script><script src=\"/portal/portal.js\" defer></script>{script}\
</body></html>",
        tag = i18n::tag(lang),
        title = te(lang, page.title_key),
        brand = te(lang, "brand"),
        skip = te(lang, "nav.skip"),
        switcher = switcher(page),
        body = page.body,
        footer = te(lang, "footer"),
        registry = te(lang, "registry.title"),
        dict = dictionary_json(lang),
    )
}

/// The signing-module box: checking, running, or how to install and start it.
pub(crate) fn module_box(lang: Language) -> String {
    let os = |name: &str, steps: &[(&str, Option<&str>)]| {
        let mut items = String::new();
        for (key, command) in steps {
            let cmd = command.map(|c| format!("<pre><code>{}</code></pre>", escape(c))).unwrap_or_default();
            items.push_str(&format!("<li>{}{cmd}</li>", te(lang, key)));
        }
        format!("<details class=\"os\"><summary>{}</summary><ol>{items}</ol></details>", escape(name))
    };
    let windows = os(
        "Windows",
        &[
            ("module.install_rust", None),
            ("module.install_imzo", Some("cargo install --path crates/imzo")),
            ("module.start_windows", Some("imzo agent")),
            ("module.keep_open", None),
        ],
    );
    // The server hands out its own program (`/download/imzo`); where that build runs on
    // the citizen's system no toolchain is needed, elsewhere the module is built from source.
    let linux = if cfg!(target_os = "linux") {
        let download = format!(
            "<li>{} <a class=\"button secondary\" href=\"/download/imzo\" download data-module-download>imzo ({})</a>{}</li>",
            te(lang, "module.download"),
            escape(&super::download::platform()),
            super::download::sha256()
                .map(|d| format!("<br><small>SHA-256: <code class=\"digest\">{d}</code></small>"))
                .unwrap_or_default(),
        );
        let rest = os(
            "Linux",
            &[
                ("module.make_runnable", Some("chmod +x ~/Downloads/imzo")),
                ("module.pinentry_linux", Some("sudo apt install pinentry-gnome3")),
                ("module.start_unix", Some("~/Downloads/imzo agent")),
                ("module.keep_open", None),
            ],
        );
        rest.replacen("<ol>", &format!("<ol>{download}"), 1)
    } else {
        os(
            "Linux",
            &[
                ("module.install_rust", None),
                ("module.install_imzo", Some("cargo install --path crates/imzo")),
                ("module.pinentry_linux", Some("sudo apt install pinentry-gnome3")),
                ("module.start_unix", Some("imzo agent")),
                ("module.keep_open", None),
            ],
        )
    };
    let mac = os(
        "macOS",
        &[
            ("module.install_rust", None),
            ("module.install_imzo", Some("cargo install --path crates/imzo")),
            ("module.pinentry_mac", Some("brew install pinentry-mac")),
            ("module.start_unix", Some("imzo agent --pinentry \"$(brew --prefix)/bin/pinentry-mac\"")),
            ("module.keep_open", None),
        ],
    );
    format!(
        "<section class=\"module\" aria-live=\"polite\" data-module>\
<p class=\"module-checking\" data-module-checking>{checking}</p>\
<p class=\"module-ok\" data-module-ok hidden></p>\
<div class=\"module-missing\" data-module-missing hidden><h2>{missing}</h2><p>{intro}</p>{windows}{linux}{mac}\
<p class=\"note\">{https}</p><pre><code>imzo agent trust</code></pre>\
<button type=\"button\" data-module-retry>{retry}</button></div></section>",
        checking = te(lang, "module.checking"),
        missing = te(lang, "module.missing"),
        intro = te(lang, "module.intro"),
        https = te(lang, "module.https"),
        retry = te(lang, "module.retry"),
    )
}

/// A labelled input with its hint and the place its server error goes.
pub(crate) struct Field<'a> {
    /// The API's field name (`pinfl`); also the input's `name` and id suffix.
    pub(crate) name: &'a str,
    /// Message key of the label.
    pub(crate) label: &'a str,
    /// Message key of the hint, if any.
    pub(crate) hint: Option<&'a str>,
    /// Extra attributes (`type="tel" inputmode="numeric"`), trusted HTML.
    pub(crate) attrs: &'a str,
    /// Whether the API requires it.
    pub(crate) required: bool,
}

/// The HTML of a [`Field`]: label, input, hint and an (empty) error line, tied together
/// with `aria-describedby`.
pub(crate) fn field(lang: Language, f: &Field<'_>) -> String {
    let id = format!("f-{}", f.name);
    let hint = f
        .hint
        .map(|h| format!("<p class=\"hint\" id=\"hint-{}\">{}</p>", f.name, te(lang, h)))
        .unwrap_or_default();
    let described = if f.hint.is_some() { format!("hint-{n} err-{n}", n = f.name) } else { format!("err-{}", f.name) };
    let (req_attr, star) = if f.required {
        (" aria-required=\"true\"", format!(" <span class=\"req\" title=\"{0}\">*</span>", te(lang, "form.required")))
    } else {
        ("", String::new())
    };
    format!(
        "<div class=\"field\" data-field=\"{name}\"><label for=\"{id}\">{label}{star}</label>\
<input id=\"{id}\" name=\"{name}\" {attrs}{req_attr} aria-describedby=\"{described}\">{hint}\
<p class=\"error\" id=\"err-{name}\" role=\"alert\" hidden></p></div>",
        name = f.name,
        label = te(lang, f.label),
        attrs = f.attrs,
    )
}
