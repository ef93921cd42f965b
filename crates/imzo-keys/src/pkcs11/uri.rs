//! PKCS#11 URIs (RFC 7512): which module, token and key a configuration line means.
//!
//! `pkcs11:token=Imzo%20CA;object=rc1;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/imzo/pin`
//!
//! Every attribute of RFC 7512 §2.3 that names a library, slot, token or object is
//! understood; anything else (including vendor `x-` attributes) is refused by name, so a
//! misspelt attribute never silently widens the match. Values are percent-decoded; `id`
//! is raw bytes, every other value UTF-8. The PIN (`pin-value`, or the file `pin-source`
//! names) is held in memory that is wiped on drop, and never printed: [`Pkcs11Uri`]'s
//! `Display` and `Debug` leave `pin-value` out.

use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// What a PKCS#11 URI could not say.
#[derive(Debug, thiserror::Error)]
#[error("PKCS#11 URI: {0}")]
pub struct UriError(String);

fn bad(message: impl Into<String>) -> UriError {
    UriError(message.into())
}

/// The kind of object the `type` attribute names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectType {
    /// `private`: a private key (what a signer needs).
    Private,
    /// `public`: a public key.
    Public,
    /// `cert`: a certificate.
    Cert,
    /// `secret-key`: a symmetric key.
    SecretKey,
    /// `data`: a data object.
    Data,
}

impl ObjectType {
    /// The attribute value of RFC 7512.
    pub fn name(self) -> &'static str {
        match self {
            ObjectType::Private => "private",
            ObjectType::Public => "public",
            ObjectType::Cert => "cert",
            ObjectType::SecretKey => "secret-key",
            ObjectType::Data => "data",
        }
    }
}

/// Where the user PIN comes from.
#[derive(Default)]
pub enum PinSource {
    /// No PIN given: tokens with a protected authentication path, or public objects only.
    #[default]
    None,
    /// `pin-source=file:/path`: the first line of a file, read when the token is opened.
    File(PathBuf),
    /// `pin-value=...`: the PIN itself (wiped from memory on drop).
    Value(Zeroizing<String>),
}

impl std::fmt::Debug for PinSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PinSource::None => f.write_str("None"),
            PinSource::File(path) => f.debug_tuple("File").field(path).finish(),
            PinSource::Value(_) => f.write_str("Value(..)"),
        }
    }
}

impl PinSource {
    /// The PIN, read now (from the file, trimming one line end); `None` when none is given.
    pub fn read(&self) -> Result<Option<Zeroizing<String>>, UriError> {
        match self {
            PinSource::None => Ok(None),
            PinSource::Value(pin) => Ok(Some(pin.clone())),
            PinSource::File(path) => {
                let raw = Zeroizing::new(
                    std::fs::read(path).map_err(|e| bad(format!("pin-source {}: {e}", path.display())))?,
                );
                let text = std::str::from_utf8(&raw)
                    .map_err(|_| bad(format!("pin-source {} is not UTF-8 text", path.display())))?;
                let line = text.split(['\r', '\n']).next().unwrap_or_default();
                if line.is_empty() {
                    return Err(bad(format!("pin-source {} is empty", path.display())));
                }
                Ok(Some(Zeroizing::new(line.to_string())))
            }
        }
    }
}

/// A parsed PKCS#11 URI. Fields left `None` match anything.
#[derive(Debug, Default)]
pub struct Pkcs11Uri {
    /// `token`: the token label.
    pub token: Option<String>,
    /// `manufacturer`: the token manufacturer.
    pub manufacturer: Option<String>,
    /// `model`: the token model.
    pub model: Option<String>,
    /// `serial`: the token serial number.
    pub serial: Option<String>,
    /// `slot-id`: the slot number.
    pub slot_id: Option<u64>,
    /// `slot-description`.
    pub slot_description: Option<String>,
    /// `slot-manufacturer`.
    pub slot_manufacturer: Option<String>,
    /// `library-manufacturer`: the module's manufacturer.
    pub library_manufacturer: Option<String>,
    /// `library-description`: the module's description.
    pub library_description: Option<String>,
    /// `library-version`: `major` or `major.minor`.
    pub library_version: Option<(u8, Option<u8>)>,
    /// `object`: the object label (CKA_LABEL).
    pub object: Option<String>,
    /// `id`: the object id (CKA_ID), raw bytes.
    pub id: Option<Vec<u8>>,
    /// `type`: the object class.
    pub object_type: Option<ObjectType>,
    /// `module-path` (query): the PKCS#11 library to load.
    pub module_path: Option<PathBuf>,
    /// `pin-source` or `pin-value` (query).
    pub pin: PinSource,
}

/// Decodes `%XX` escapes; any other byte stands for itself.
fn percent_decode(name: &str, value: &str) -> Result<Vec<u8>, UriError> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| bad(format!("{name}: bad percent-escape at byte {i} of {value:?}")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn text(name: &str, value: &str) -> Result<String, UriError> {
    String::from_utf8(percent_decode(name, value)?).map_err(|_| bad(format!("{name} is not UTF-8 once decoded")))
}

/// Percent-encodes everything outside RFC 3986's unreserved set (and `/` in paths).
fn percent_encode(bytes: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn set<T>(slot: &mut Option<T>, name: &str, value: T) -> Result<(), UriError> {
    if slot.is_some() {
        return Err(bad(format!("attribute {name} appears twice")));
    }
    *slot = Some(value);
    Ok(())
}

impl Pkcs11Uri {
    /// Parses a `pkcs11:` URI; the error names the attribute at fault.
    pub fn parse(uri: &str) -> Result<Pkcs11Uri, UriError> {
        let uri = uri.trim();
        let rest = uri
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case("pkcs11:"))
            .and_then(|_| uri.get(7..))
            .ok_or_else(|| bad("must start with pkcs11:"))?;
        if rest.contains('#') {
            return Err(bad("a fragment (#...) is not allowed"));
        }
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut out = Pkcs11Uri::default();
        for part in path.split(';').filter(|p| !p.is_empty()) {
            let (name, value) =
                part.split_once('=').ok_or_else(|| bad(format!("path attribute {part:?} has no '='")))?;
            out.path_attribute(name, value)?;
        }
        let mut pin_seen = false;
        for part in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) =
                part.split_once('=').ok_or_else(|| bad(format!("query attribute {part:?} has no '='")))?;
            match name {
                "module-path" => set(&mut out.module_path, name, PathBuf::from(text(name, value)?))?,
                "pin-source" | "pin-value" => {
                    if pin_seen {
                        return Err(bad("give one of pin-source and pin-value, once"));
                    }
                    pin_seen = true;
                    out.pin = if name == "pin-value" {
                        PinSource::Value(Zeroizing::new(text(name, value)?))
                    } else {
                        let source = text(name, value)?;
                        let path = source.strip_prefix("file://").or_else(|| source.strip_prefix("file:")).unwrap_or(&source);
                        if !path.starts_with('/') {
                            return Err(bad(format!(
                                "pin-source {source:?}: only file:/absolute/path (or an absolute path) is supported"
                            )));
                        }
                        PinSource::File(PathBuf::from(path))
                    };
                }
                "module-name" => {
                    return Err(bad("module-name is not supported: give the library with module-path=/path/to/module.so"));
                }
                other => return Err(bad(format!("unknown query attribute {other:?} (known: module-path, pin-source, pin-value)"))),
            }
        }
        Ok(out)
    }

    fn path_attribute(&mut self, name: &str, value: &str) -> Result<(), UriError> {
        match name {
            "token" => set(&mut self.token, name, text(name, value)?),
            "manufacturer" => set(&mut self.manufacturer, name, text(name, value)?),
            "model" => set(&mut self.model, name, text(name, value)?),
            "serial" => set(&mut self.serial, name, text(name, value)?),
            "slot-description" => set(&mut self.slot_description, name, text(name, value)?),
            "slot-manufacturer" => set(&mut self.slot_manufacturer, name, text(name, value)?),
            "library-manufacturer" => set(&mut self.library_manufacturer, name, text(name, value)?),
            "library-description" => set(&mut self.library_description, name, text(name, value)?),
            "object" => set(&mut self.object, name, text(name, value)?),
            "id" => set(&mut self.id, name, percent_decode(name, value)?),
            "slot-id" => {
                let v = text(name, value)?;
                let n = v.parse::<u64>().map_err(|_| bad(format!("slot-id {v:?} is not a decimal number")))?;
                set(&mut self.slot_id, name, n)
            }
            "library-version" => {
                let v = text(name, value)?;
                let parse = |s: &str| s.parse::<u8>().map_err(|_| bad(format!("library-version {v:?} is not M or M.N")));
                let version = match v.split_once('.') {
                    Some((major, minor)) => (parse(major)?, Some(parse(minor)?)),
                    None => (parse(&v)?, None),
                };
                set(&mut self.library_version, name, version)
            }
            "type" => {
                let v = text(name, value)?;
                let kind = [ObjectType::Private, ObjectType::Public, ObjectType::Cert, ObjectType::SecretKey, ObjectType::Data]
                    .into_iter()
                    .find(|t| t.name() == v)
                    .ok_or_else(|| bad(format!("type {v:?} (known: private, public, cert, secret-key, data)")))?;
                set(&mut self.object_type, name, kind)
            }
            other => Err(bad(format!(
                "unknown path attribute {other:?} (known: token, manufacturer, model, serial, slot-id, \
                 slot-description, slot-manufacturer, library-manufacturer, library-description, \
                 library-version, object, id, type)"
            ))),
        }
    }

    /// The module to load, or an error saying the URI names none.
    pub fn module(&self) -> Result<&Path, UriError> {
        self.module_path.as_deref().ok_or_else(|| bad("no module-path=/path/to/module.so in the query"))
    }
}

impl std::fmt::Display for Pkcs11Uri {
    /// The URI again, without `pin-value` (safe to log and to store as a key reference).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut path: Vec<String> = Vec::new();
        let mut put = |name: &str, value: Option<&[u8]>| {
            if let Some(v) = value {
                path.push(format!("{name}={}", percent_encode(v, false)));
            }
        };
        put("library-manufacturer", self.library_manufacturer.as_deref().map(str::as_bytes));
        put("library-description", self.library_description.as_deref().map(str::as_bytes));
        let version = self.library_version.map(|(major, minor)| match minor {
            Some(minor) => format!("{major}.{minor}"),
            None => major.to_string(),
        });
        put("library-version", version.as_deref().map(str::as_bytes));
        put("slot-manufacturer", self.slot_manufacturer.as_deref().map(str::as_bytes));
        put("slot-description", self.slot_description.as_deref().map(str::as_bytes));
        let slot = self.slot_id.map(|n| n.to_string());
        put("slot-id", slot.as_deref().map(str::as_bytes));
        put("manufacturer", self.manufacturer.as_deref().map(str::as_bytes));
        put("model", self.model.as_deref().map(str::as_bytes));
        put("serial", self.serial.as_deref().map(str::as_bytes));
        put("token", self.token.as_deref().map(str::as_bytes));
        put("object", self.object.as_deref().map(str::as_bytes));
        put("id", self.id.as_deref());
        put("type", self.object_type.map(|t| t.name().as_bytes()));
        let mut query: Vec<String> = Vec::new();
        if let Some(module) = &self.module_path {
            query.push(format!("module-path={}", percent_encode(module.as_os_str().as_encoded_bytes(), true)));
        }
        if let PinSource::File(path) = &self.pin {
            query.push(format!("pin-source=file:{}", percent_encode(path.as_os_str().as_encoded_bytes(), true)));
        }
        write!(f, "pkcs11:{}", path.join(";"))?;
        if !query.is_empty() {
            write!(f, "?{}", query.join("&"))?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Pkcs11Uri {
    type Err = UriError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Pkcs11Uri::parse(s)
    }
}

/// Whether `text` is meant as a PKCS#11 URI (rather than a file path).
pub fn is_pkcs11_uri(text: &str) -> bool {
    text.trim().get(..7).is_some_and(|s| s.eq_ignore_ascii_case("pkcs11:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc_7512_examples_and_ours() {
        let u = Pkcs11Uri::parse(
            "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;\
             model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=\
             ?pin-source=file:/etc/token&module-path=/usr/lib/softhsm/libsofthsm2.so",
        )
        .unwrap();
        assert_eq!(u.token.as_deref(), Some("The Software PKCS#11 Softtoken"));
        assert_eq!(u.manufacturer.as_deref(), Some("Snake Oil, Inc."));
        assert_eq!(u.model.as_deref(), Some("1.0"));
        assert_eq!(u.serial.as_deref(), Some(""));
        assert_eq!(u.object_type, Some(ObjectType::Cert));
        assert_eq!(u.id.as_deref(), Some(&[0x69, 0x95, 0x3e, 0x5c, 0xf4, 0xbd, 0xec, 0x91][..]));
        assert!(matches!(&u.pin, PinSource::File(p) if p == Path::new("/etc/token")));
        assert_eq!(u.module().unwrap(), Path::new("/usr/lib/softhsm/libsofthsm2.so"));

        let u = Pkcs11Uri::parse("PKCS11:library-version=3;slot-id=7;library-version=3").unwrap_err();
        assert!(u.to_string().contains("library-version appears twice"), "{u}");
        let u = Pkcs11Uri::parse("pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;library-version=1.23;slot-id=7").unwrap();
        assert_eq!(u.library_version, Some((1, Some(23))));
        assert_eq!(u.slot_id, Some(7));
        assert!(u.module().unwrap_err().to_string().contains("module-path"));
        // An empty URI matches everything.
        assert!(Pkcs11Uri::parse("pkcs11:").unwrap().token.is_none());
    }

    #[test]
    fn unknown_and_malformed_attributes_are_named() {
        for (uri, expected) in [
            ("pkcs11:tokne=CA", "unknown path attribute \"tokne\""),
            ("pkcs11:x-vendor=1", "unknown path attribute \"x-vendor\""),
            ("pkcs11:token=CA?pin-sorce=file:/x", "unknown query attribute \"pin-sorce\""),
            ("pkcs11:token=CA?module-name=softhsm2", "module-name is not supported"),
            ("pkcs11:token=%4", "token: bad percent-escape"),
            ("pkcs11:token=%ZZ", "token: bad percent-escape"),
            ("pkcs11:object=%FF", "object is not UTF-8"),
            ("pkcs11:type=privat", "type \"privat\""),
            ("pkcs11:slot-id=one", "slot-id \"one\""),
            ("pkcs11:token", "has no '='"),
            ("pkcs11:token=a?pin-value=1&pin-source=file:/p", "one of pin-source and pin-value"),
            ("pkcs11:token=a?pin-source=relative/pin", "only file:/absolute/path"),
            ("pkcs11:token=a#frag", "fragment"),
            ("file:/etc/key.pem", "must start with pkcs11:"),
        ] {
            let e = Pkcs11Uri::parse(uri).unwrap_err().to_string();
            assert!(e.contains(expected), "{uri}: {e}");
            assert!(e.starts_with("PKCS#11 URI: "), "{e}");
        }
    }

    #[test]
    fn pin_value_is_never_shown_and_display_round_trips() {
        let u = Pkcs11Uri::parse(
            "pkcs11:token=Imzo%20CA;object=rc1;id=%01%02;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=12%2634",
        )
        .unwrap();
        assert!(matches!(&u.pin, PinSource::Value(p) if p.as_str() == "12&34"));
        assert_eq!(u.pin.read().unwrap().unwrap().as_str(), "12&34");
        let shown = u.to_string();
        let debug = format!("{u:?}");
        for text in [&shown, &debug] {
            assert!(!text.contains("12&34") && !text.contains("12%2634"), "{text}");
        }
        assert_eq!(
            shown,
            "pkcs11:token=Imzo%20CA;object=rc1;id=%01%02;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so"
        );
        let again = Pkcs11Uri::parse(&shown).unwrap();
        assert_eq!(again.token, u.token);
        assert_eq!(again.id, u.id);
        assert_eq!(again.object_type, u.object_type);
        assert_eq!(again.to_string(), shown);

        let with_file = Pkcs11Uri::parse("pkcs11:token=a?pin-source=file:///run/pin%20file").unwrap();
        assert_eq!(with_file.to_string(), "pkcs11:token=a?pin-source=file:/run/pin%20file");
        assert!(is_pkcs11_uri(" PKCS11:token=a") && !is_pkcs11_uri("/data/pki/rc1.key.pem"));
    }

    #[test]
    fn pin_file_first_line_is_the_pin() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pin");
        std::fs::write(&path, "1234\r\n").unwrap();
        let u = Pkcs11Uri::parse(&format!("pkcs11:token=a?pin-source=file:{}", path.display())).unwrap();
        assert_eq!(u.pin.read().unwrap().unwrap().as_str(), "1234");
        std::fs::write(&path, "\n").unwrap();
        assert!(u.pin.read().unwrap_err().to_string().contains("is empty"));
        std::fs::remove_file(&path).unwrap();
        assert!(u.pin.read().unwrap_err().to_string().contains("pin-source"));
        assert!(Pkcs11Uri::parse("pkcs11:token=a").unwrap().pin.read().unwrap().is_none());
    }
}
