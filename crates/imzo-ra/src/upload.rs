//! Uploaded documents: the type is decided by content, never by file name; images are
//! decoded (with limits) to prove they are what they claim.

use crate::{RaError, Upload};
use std::io::Cursor;

/// Largest accepted upload: 5 MB.
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024 * 1024;
/// Largest accepted image: 40 megapixels.
pub const MAX_PIXELS: u64 = 40_000_000;
/// Smallest accepted image side, in pixels: below it a face or a passport page cannot
/// be made out.
pub const MIN_IMAGE_SIDE: u32 = 200;

/// A document that passed the checks.
#[derive(Debug, Clone)]
pub(crate) struct CheckedDocument {
    pub(crate) media_type: &'static str,
    pub(crate) sha256_hex: String,
}

fn bad(field: &str, code: &'static str, uz: &str, ru: &str, en: &str) -> RaError {
    RaError::invalid(field, code, uz, ru, en)
}

fn unsupported(field: &str) -> RaError {
    bad(
        field,
        "unsupported_document",
        "Fayl PDF, PNG yoki JPEG bo'lishi kerak.",
        "Файл должен быть в формате PDF, PNG или JPEG.",
        "The file must be a PDF, PNG or JPEG.",
    )
}

fn corrupt(field: &str) -> RaError {
    bad(
        field,
        "corrupt_document",
        "Faylni o'qib bo'lmadi: u buzilgan yoki to'liq yuklanmagan.",
        "Файл не читается: он повреждён или загружен не полностью.",
        "The file cannot be read: it is damaged or incomplete.",
    )
}

/// Checks an upload for `field` (the multipart part's name: `passport`, `selfie`).
pub(crate) fn check(field: &str, upload: &Upload) -> Result<CheckedDocument, RaError> {
    let bytes = &upload.bytes;
    if bytes.is_empty() {
        return Err(bad(field, "empty_document", "Fayl bo'sh.", "Файл пустой.", "The file is empty."));
    }
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(RaError::too_large(
            field,
            "Fayl hajmi 5 MB dan oshmasligi kerak.",
            "Размер файла не должен превышать 5 МБ.",
            "The file must not be larger than 5 MB.",
        ));
    }
    let media_type = if bytes.starts_with(b"%PDF-") {
        check_pdf(field, bytes)?;
        "application/pdf"
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        check_image(field, bytes, image::ImageFormat::Png)?;
        "image/png"
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        check_image(field, bytes, image::ImageFormat::Jpeg)?;
        "image/jpeg"
    } else {
        return Err(unsupported(field));
    };
    use sha2::Digest;
    Ok(CheckedDocument { media_type, sha256_hex: hex::encode(sha2::Sha256::digest(bytes)) })
}

/// Checks a document for `field` exactly as a submission will (type by content, size,
/// decodability) and returns its media type: clients call it before sending anything.
pub fn media_type(field: &str, upload: &Upload) -> Result<&'static str, RaError> {
    check(field, upload).map(|d| d.media_type)
}

/// How far from the end a PDF reader looks for `startxref` and `%%EOF`.
const PDF_TAIL: usize = 2048;

/// A PDF's structure, as a reader finds it (ISO 32000-1 §7.5): `%%EOF` near the end,
/// the `startxref` before it giving the offset of the last cross-reference section,
/// which must be a table (`xref`) or a stream object (`N G obj`), and at least one
/// `N G obj … endobj`. A header glued to other content with a fake trailer fails here.
fn check_pdf(field: &str, bytes: &[u8]) -> Result<(), RaError> {
    let tail_start = bytes.len().saturating_sub(PDF_TAIL);
    let tail = &bytes[tail_start..];
    let eof = rfind(tail, b"%%EOF").ok_or_else(|| corrupt(field))?;
    let startxref = rfind(&tail[..eof], b"startxref").ok_or_else(|| corrupt(field))?;
    let after = skip_space(&tail[startxref + b"startxref".len()..eof]);
    let digits = after.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 12 || !skip_space(&after[digits..]).is_empty() {
        return Err(corrupt(field));
    }
    let offset: usize = std::str::from_utf8(&after[..digits])
        .ok()
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| corrupt(field))?;
    if offset >= tail_start + startxref {
        return Err(corrupt(field));
    }
    // Writers sometimes point at the line break before the keyword; readers allow it.
    let section = skip_space(&bytes[offset..]);
    if !section.starts_with(b"xref") && object_header(section).is_none() {
        return Err(corrupt(field));
    }
    if !has_object(bytes) {
        return Err(corrupt(field));
    }
    Ok(())
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

fn is_pdf_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0')
}

fn skip_space(bytes: &[u8]) -> &[u8] {
    let n = bytes.iter().take_while(|b| is_pdf_space(**b)).count();
    &bytes[n..]
}

/// `N G obj` at the start of `bytes`: the length of the header.
fn object_header(bytes: &[u8]) -> Option<usize> {
    let number = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    if number == 0 || number > 10 {
        return None;
    }
    let rest = &bytes[number..];
    let gap = rest.iter().take_while(|b| is_pdf_space(**b)).count();
    let rest = &rest[gap..];
    let generation = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if gap == 0 || generation == 0 || generation > 5 {
        return None;
    }
    let rest = &rest[generation..];
    let gap2 = rest.iter().take_while(|b| is_pdf_space(**b)).count();
    (gap2 > 0 && rest[gap2..].starts_with(b"obj")).then_some(number + gap + generation + gap2 + 3)
}

/// At least one indirect object: `N G obj` with an `endobj` after it. Linear in the size.
fn has_object(bytes: &[u8]) -> bool {
    let Some(last_end) = rfind(bytes, b"endobj") else {
        return false;
    };
    let mut from = 0;
    while let Some(at) = bytes[from..last_end].windows(3).position(|w| w == b"obj").map(|p| p + from) {
        if header_ends_at(&bytes[..at]) {
            return true;
        }
        from = at + 3;
    }
    false
}

/// Whether `before` ends with `N G ` (the part of an object header before `obj`), the
/// number not glued to a longer run of digits. Reads at most a few dozen bytes back.
fn header_ends_at(before: &[u8]) -> bool {
    let mut i = before.len();
    let run = |i: &mut usize, pred: fn(u8) -> bool, max: usize| {
        let end = *i;
        while *i > 0 && end - *i < max && pred(before[*i - 1]) {
            *i -= 1;
        }
        end - *i
    };
    let gap = run(&mut i, is_pdf_space, 8);
    let generation = run(&mut i, |b| b.is_ascii_digit(), 5);
    let gap2 = run(&mut i, is_pdf_space, 8);
    let number = run(&mut i, |b| b.is_ascii_digit(), 10);
    gap > 0 && generation > 0 && gap2 > 0 && number > 0 && (i == 0 || !before[i - 1].is_ascii_digit())
}

fn check_image(field: &str, bytes: &[u8], format: image::ImageFormat) -> Result<(), RaError> {
    let too_big = || {
        bad(
            field,
            "image_too_large",
            "Rasm 40 megapikseldan katta bo'lmasligi kerak.",
            "Изображение не должно превышать 40 мегапикселей.",
            "The image must not exceed 40 megapixels.",
        )
    };
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(40_000);
    limits.max_image_height = Some(40_000);
    limits.max_alloc = Some(MAX_PIXELS * 4 + 16 * 1024 * 1024);
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits.clone());
    let (w, h) = match reader.into_dimensions() {
        Ok(dims) => dims,
        Err(image::ImageError::Limits(_)) => return Err(too_big()),
        Err(_) => return Err(corrupt(field)),
    };
    if w == 0 || h == 0 {
        return Err(corrupt(field));
    }
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(too_big());
    }
    if w < MIN_IMAGE_SIDE || h < MIN_IMAGE_SIDE {
        let min = MIN_IMAGE_SIDE;
        return Err(bad(
            field,
            "image_too_small",
            &format!("Rasm juda kichik ({w}×{h} piksel): kamida {min}×{min} piksel bo'lishi kerak."),
            &format!("Изображение слишком маленькое ({w}×{h} пикселей): нужно не меньше {min}×{min} пикселей."),
            &format!("The image is too small ({w}×{h} pixels): it must be at least {min}×{min} pixels."),
        ));
    }
    if format == image::ImageFormat::Jpeg {
        // `image` fills a scan that ends early with grey and calls it a picture; the
        // decoder's strict mode refuses it, so a truncated upload is not accepted.
        let options = zune_core::options::DecoderOptions::default()
            .set_strict_mode(true)
            .set_max_width(40_000)
            .set_max_height(40_000);
        if !jpeg_ends(bytes) {
            return Err(corrupt(field));
        }
        let mut decoder = zune_jpeg::JpegDecoder::new_with_options(zune_core::bytestream::ZCursor::new(bytes), options);
        return match decoder.decode() {
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::debug!(error = %e, "JPEG refused");
                Err(corrupt(field))
            }
        };
    }
    if !png_complete(bytes) {
        return Err(corrupt(field));
    }
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    match reader.decode() {
        Ok(_) => Ok(()),
        Err(image::ImageError::Limits(_)) => Err(too_big()),
        Err(_) => Err(corrupt(field)),
    }
}

/// Whether a JPEG's last scan is followed by the end-of-image marker (`FF D9`). Inside
/// entropy-coded data a 0xFF byte is always followed by 0x00 or a restart marker, so a
/// marker after the last start-of-scan (`FF DA`) is real; an embedded thumbnail's
/// markers come before the main scan and do not count.
fn jpeg_ends(bytes: &[u8]) -> bool {
    match (rfind(bytes, &[0xFF, 0xD9]), rfind(bytes, &[0xFF, 0xDA])) {
        (Some(eoi), Some(sos)) => eoi > sos,
        _ => false,
    }
}

/// Whether a PNG's chunks (length, type, data, CRC) follow one another to the `IEND`
/// chunk inside the file (PNG §5.3): the decoder stops after the image data and would
/// not notice a file cut off after it. Bytes after `IEND` are tolerated.
fn png_complete(bytes: &[u8]) -> bool {
    let mut at = 8usize;
    while let Some(header) = bytes.get(at..at.saturating_add(8)) {
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let Some(end) = usize::try_from(len).ok().and_then(|l| at.checked_add(12)?.checked_add(l)) else {
            return false;
        };
        if end > bytes.len() {
            return false;
        }
        if &header[4..8] == b"IEND" {
            return true;
        }
        at = end;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(bytes: Vec<u8>) -> Upload {
        Upload { file_name: Some("scan.pdf".into()), bytes }
    }

    pub(crate) fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 7]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    /// A one-object PDF with a correct cross-reference table, written by hand.
    pub(crate) fn hand_pdf() -> Vec<u8> {
        let mut pdf = b"%PDF-1.4\n".to_vec();
        let object = pdf.len();
        pdf.extend_from_slice(b"1 0 obj<</Type/Catalog>>endobj\n");
        let xref = pdf.len();
        pdf.extend_from_slice(format!("xref\n0 2\n0000000000 65535 f \n{object:010} 00000 n \n").as_bytes());
        pdf.extend_from_slice(format!("trailer<</Size 2/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n").as_bytes());
        pdf
    }

    pub(crate) fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x ^ y) % 256) as u8]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
        out.into_inner()
    }

    #[test]
    fn accepts_real_documents_by_content() {
        assert_eq!(check("passport", &up(hand_pdf())).unwrap().media_type, "application/pdf");
        assert_eq!(check("selfie", &up(png(240, 200))).unwrap().media_type, "image/png");
        assert_eq!(check("selfie", &up(jpeg(200, 320))).unwrap().media_type, "image/jpeg");
        // Bytes after IEND (some tools leave them) do not matter.
        let mut padded = png(200, 200);
        padded.extend_from_slice(b"\0\0trailer");
        assert_eq!(check("selfie", &up(padded)).unwrap().media_type, "image/png");
    }

    #[test]
    fn refuses_tiny_images() {
        for (bytes, w, h) in [(png(4, 4), 4, 4), (png(640, 199), 640, 199), (jpeg(150, 400), 150, 400)] {
            let e = check("selfie", &up(bytes)).unwrap_err();
            assert_eq!((e.code, e.field.as_deref()), ("image_too_small", Some("selfie")));
            assert!(e.message.en.contains(&format!("{w}×{h}")) && e.message.en.contains("200×200"), "{}", e.message.en);
        }
    }

    #[test]
    fn refuses_truncated_images() {
        let whole = jpeg(320, 240);
        // Cut inside the scan, and just before the end-of-image marker.
        for cut in [whole.len() / 2, whole.len() * 9 / 10, whole.len() - 2] {
            let r = check("selfie", &up(whole[..cut].to_vec())).map(|_| ()).map_err(|e| e.code);
            assert_eq!(r, Err("corrupt_document"), "JPEG cut at {cut} of {}", whole.len());
        }
        let whole = png(320, 240);
        // Cut after the image data: only IEND is missing.
        for cut in [whole.len() / 2, whole.len() - 12, whole.len() - 1] {
            let e = check("selfie", &up(whole[..cut].to_vec())).unwrap_err();
            assert_eq!(e.code, "corrupt_document", "PNG cut at {cut} of {}", whole.len());
        }
    }

    #[test]
    fn rejects_bad_documents() {
        assert_eq!(check("selfie", &up(vec![])).unwrap_err().code, "empty_document");
        assert_eq!(check("selfie", &up(b"GIF89a....".to_vec())).unwrap_err().code, "unsupported_document");
        assert_eq!(check("selfie", &up(b"%PDF-1.4 no end".to_vec())).unwrap_err().code, "corrupt_document");
        let mut truncated = png(256, 256);
        truncated.truncate(truncated.len() / 2);
        assert_eq!(check("selfie", &up(truncated)).unwrap_err().code, "corrupt_document");
        let mut big = b"%PDF-".to_vec();
        big.resize(MAX_DOCUMENT_BYTES + 1, b' ');
        let e = check("passport", &up(big)).unwrap_err();
        assert_eq!((e.kind, e.field.as_deref()), (crate::ErrorKind::TooLarge, Some("passport")));
    }

    #[test]
    fn accepts_pdfs_from_real_writers() {
        for (name, pdf) in [
            ("reportlab", &include_bytes!("../tests/data/reportlab.pdf")[..]),
            ("qpdf cross-reference stream", &include_bytes!("../tests/data/qpdf-xref-stream.pdf")[..]),
            ("qpdf linearized", &include_bytes!("../tests/data/qpdf-linearized.pdf")[..]),
        ] {
            assert_eq!(check("passport", &up(pdf.to_vec())).map(|d| d.media_type).map_err(|e| e.code), Ok("application/pdf"), "{name}");
        }
        // Trailing garbage after %%EOF, as some scanners leave, is tolerated.
        let mut padded = hand_pdf();
        padded.extend_from_slice(b"\r\n\0\0\0");
        assert!(check("passport", &up(padded)).is_ok());
    }

    #[test]
    fn refuses_a_pdf_header_glued_to_something_else() {
        // The tester's file: a PDF header, an ELF binary and a fake trailer.
        let mut fake = b"%PDF-1.4\n\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0".to_vec();
        fake.extend_from_slice(&[0x90; 4096]);
        fake.extend_from_slice(b"trailer<<>>startxref 0 %%EOF");
        let e = check("passport", &up(fake.clone())).unwrap_err();
        assert_eq!((e.code, e.field.as_deref()), ("corrupt_document", Some("passport")));
        // The offset past the end, or pointing at neither `xref` nor an object.
        let good = hand_pdf();
        let at = |offset: usize| {
            let mut pdf = good[..good.windows(9).rposition(|w| w == b"startxref").unwrap()].to_vec();
            pdf.extend_from_slice(format!("startxref\n{offset}\n%%EOF\n").as_bytes());
            check("passport", &up(pdf)).map(|_| ()).map_err(|e| e.code)
        };
        assert_eq!(at(1_000_000), Err("corrupt_document"));
        assert_eq!(at(3), Err("corrupt_document"));
        assert_eq!(at(9), Ok(())); // the object `1 0 obj`, as a cross-reference stream would be
        // A correct trailer but no object at all.
        let mut empty = b"%PDF-1.4\n".to_vec();
        let xref = empty.len();
        empty.extend_from_slice(format!("xref\n0 1\n0000000000 65535 f \ntrailer<<>>\nstartxref\n{xref}\n%%EOF\n").as_bytes());
        assert_eq!(check("passport", &up(empty)).unwrap_err().code, "corrupt_document");
        // No startxref at all (the old test file's shape).
        let old = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec();
        assert_eq!(check("passport", &up(old)).unwrap_err().code, "corrupt_document");
    }

    #[test]
    fn rejects_images_over_40_megapixels_without_decoding_them() {
        // A valid PNG header claiming 8000 × 6000 pixels; the body is never reached.
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend_from_slice(&8000u32.to_be_bytes());
        ihdr.extend_from_slice(&6000u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        png.extend_from_slice(&13u32.to_be_bytes());
        png.extend_from_slice(&ihdr);
        png.extend_from_slice(&crc32(&ihdr).to_be_bytes());
        // The decoder reads the header up to the first image-data chunk.
        png.extend_from_slice(&0u32.to_be_bytes());
        png.extend_from_slice(b"IDAT");
        png.extend_from_slice(&crc32(b"IDAT").to_be_bytes());
        assert_eq!(check("selfie", &up(png)).unwrap_err().code, "image_too_large");
    }

    proptest::proptest! {
        #[test]
        fn pdf_checks_never_panic(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400), tail in "[ 0-9a-z%<>/\\n]{0,60}") {
            let mut pdf = b"%PDF-1.7\n".to_vec();
            pdf.extend_from_slice(&body);
            pdf.extend_from_slice(tail.as_bytes());
            pdf.extend_from_slice(b"startxref\n9\n%%EOF");
            let _ = check("passport", &up(pdf));
        }
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
}
