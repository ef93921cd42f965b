//! The API reference: one table, served as JSON (`{"name": "apidoc"}`) and as
//! `http://127.0.0.1:64646/apidoc.html`.

use serde_json::{Value, json};

/// One documented call: plugin ("" for top-level), name, arguments, reply fields, notes.
pub type CallDoc = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

/// Every call the module answers.
pub const CALLS: &[CallDoc] = &[
    (
        "",
        "version",
        "—",
        "major, minor (\"4\", \"86\")",
        "No approval needed.",
    ),
    (
        "",
        "apidoc",
        "—",
        "calls: [{plugin, name, arguments, reply, notes}]",
        "This table.",
    ),
    (
        "",
        "apikey",
        "domain1, key1, domain2, key2, … (keys: 128 hex)",
        "—",
        "Accepted as a hint only; access is decided by the WebSocket Origin and the user's approval.",
    ),
    (
        "pfx",
        "list_disks",
        "—",
        "disks: [\"/media/user/FLASH\", …]",
        "Folders searched for a DSKEYS folder that exist now.",
    ),
    (
        "pfx",
        "list_all_certificates",
        "—",
        "certificates: [{disk, path, name, alias}]",
        "alias as E-IMZO writes it; read from the file without the password, else `1.2.860.3.16.1.2=<PINFL>` / `1.2.860.3.16.1.1=<INN>` from the file name.",
    ),
    (
        "pfx",
        "list_certificates",
        "disk",
        "certificates: [{disk, path, name, alias}]",
        "Only the files on that disk.",
    ),
    (
        "pfx",
        "load_key",
        "disk, path, name, alias",
        "keyId",
        "The module asks the password in its own dialog naming the site and the key's owner. The keyId works only for the site that loaded it; unloaded after inactivity. Wrong passwords: reason \"wrong password\"; after 3, a growing wait.",
    ),
    ("pfx", "unload_key", "keyId", "—", ""),
    (
        "pfx",
        "verify_password",
        "keyId",
        "—",
        "Asks the password again and checks it against the file.",
    ),
    (
        "pfx",
        "change_password",
        "keyId",
        "—",
        "Asks the current password, then the new one twice.",
    ),
    (
        "pfx",
        "save_temporary_pfx",
        "as imzo.create_key",
        "as imzo.create_key",
        "E-IMZO's name for making the temporary key file.",
    ),
    (
        "pfx",
        "save_pfx",
        "as imzo.install_certificate",
        "as imzo.install_certificate",
        "E-IMZO's name for turning the temporary file into the permanent one.",
    ),
    (
        "pkcs7",
        "create_pkcs7",
        "data_base64, keyId, detached (\"yes\" / \"no\" / \"\")",
        "pkcs7_64, signature_hex, signer_serial_number",
        "The user confirms each signature (site, size, SHA-256) unless they chose to trust the site until the key is unloaded. CMS SignedData with signing time and signing-certificate-v2, chain included.",
    ),
    (
        "pkcs7",
        "append_pkcs7_attached",
        "pkcs7_64, keyId",
        "pkcs7_64, signature_hex, signer_serial_number",
        "Adds a co-signature over the attached content.",
    ),
    (
        "pkcs7",
        "append_pkcs7_detached",
        "pkcs7_64, keyId, data_64",
        "pkcs7_64, signature_hex, signer_serial_number",
        "Adds a co-signature; the content must be given (data_64) and must match the existing signature.",
    ),
    (
        "pkcs7",
        "attach_timestamp_token_pkcs7",
        "pkcs7_64, signer_serial (hex), token_64",
        "pkcs7_64",
        "Adds an RFC 3161 time-stamp token (its messageImprint must be the SHA-256/384/512 of that signer's signature value; its signature is checked) as the signer's id-aa-timeStampToken unsigned attribute (CAdES-T).",
    ),
    (
        "pkcs7",
        "get_pkcs7_attached_info",
        "pkcs7_64",
        "signers: [Signer], certificates: [cert_64], document_64",
        "No trust check (chain_valid false).",
    ),
    (
        "pkcs7",
        "get_pkcs7_detached_info",
        "pkcs7_64, data_64",
        "signers: [Signer], certificates: [cert_64]",
        "",
    ),
    (
        "pkcs7",
        "verify_pkcs7_attached",
        "pkcs7_64",
        "valid, signers: [Signer]",
        "Chains are checked against the module's trust anchors (imzo agent --trust).",
    ),
    (
        "pkcs7",
        "verify_pkcs7_detached",
        "pkcs7_64, data_64",
        "valid, signers: [Signer]",
        "",
    ),
    (
        "x509",
        "get_certificate_chain",
        "keyId",
        "certificates: [cert_64] (own first)",
        "",
    ),
    (
        "x509",
        "get_certificate_info",
        "cert_64",
        "certificate_info: {serialNumber, subjectName, issuerName, validFrom, validTo, alias, is_ca, sha256, subject: {cn, name, surname, o, t, l, st, c, uid, pinfl, inn, businesscategory}}",
        "Times RFC 3339.",
    ),
    (
        "x509",
        "verify_certificate",
        "cert_64 (, [intermediate_64, …])",
        "valid, path_length | errors: [{code, message}]",
        "Against the module's trust anchors, now.",
    ),
    (
        "imzo",
        "create_key",
        "disk, subject {cn, surname, name, l, st, c, o, t, uid, pinfl, inn, businesscategory}, algorithm (\"ecdsa-p256\" default, or \"ozdst1092-a\")",
        "keyId, disk, path, name, alias, csr_64",
        "The user chooses the password in the module's dialog (twice). The key is saved as DSKEYS/DS<INN or PINFL><NNNN>.pfx with a self-signed placeholder and stays loaded for the site.",
    ),
    (
        "imzo",
        "install_certificate",
        "keyId, cert_64, [chain cert_64, …]",
        "alias",
        "Checks the certificate is for the key, asks the password, and replaces the placeholder.",
    ),
    (
        "imzo",
        "sign_challenge",
        "keyId, challenge_64",
        "pkcs7_64",
        "Proof of possession: detached CMS, signer by subject key identifier, no certificates. Confirmed like a signature.",
    ),
];

/// [`CALLS`] as JSON.
pub fn calls_json() -> Value {
    Value::Array(
        CALLS
            .iter()
            .map(|(plugin, name, arguments, reply, notes)| {
                json!({"plugin": plugin, "name": name, "arguments": arguments, "reply": reply, "notes": notes})
            })
            .collect(),
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The HTML reference page.
pub fn html() -> String {
    let mut rows = String::new();
    for (plugin, name, arguments, reply, notes) in CALLS {
        rows.push_str(&format!(
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            escape(plugin),
            escape(name),
            escape(arguments),
            escape(reply),
            escape(notes)
        ));
    }
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Imzo signing module API</title>
<style>body{{font-family:sans-serif;max-width:70em;margin:2em auto}}td,th{{border:1px solid #ccc;padding:.3em;vertical-align:top}}table{{border-collapse:collapse}}</style>
</head><body>
<h1>Imzo signing module — API</h1>
<p>Connect to <code>ws://127.0.0.1:64646/service/cryptapi</code>, send one JSON text message
<code>{{"plugin": "…", "name": "…", "arguments": [ … ]}}</code> (no plugin for
<code>version</code>, <code>apidoc</code>, <code>apikey</code>), read one reply. Every reply has
<code>"success": true|false</code>; failures add <code>"reason"</code>, a text to show to the user.
Binary values are standard base64.</p>
<p>Access: the WebSocket <code>Origin</code> must be on the module's allow-list or approved by the
user once (the module asks in its own dialog; <code>imzo agent sites</code> lists and revokes).
Passwords and signing confirmations are never asked through the page.</p>
<p>Chromium's Local Network Access asks the user before a <em>public</em> site may connect to
127.0.0.1 (WebSockets included, from Chrome 147); pages on localhost are not affected.</p>
<p><b>Signer</b> = <code>{{serial_number, subject, issuer, pinfl, inn, alias, signing_time,
signature_valid, chain_valid, valid, errors: [{{code, message}}]}}</code>.</p>
<table><tr><th>plugin</th><th>name</th><th>arguments</th><th>reply fields</th><th>notes</th></tr>
{rows}</table>
</body></html>
"#
    )
}
