//! Uploaded documents: the type is decided by content, never by file name; images are
//! decoded (with limits) to prove they are what they claim.

use crate::{RaError, Upload};
use std::io::Cursor;

/// Largest accepted upload: 5 MB.
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024 * 1024;
/// Largest accepted image: 40 megapixels.
pub const MAX_PIXELS: u64 = 40_000_000;

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

/// Checks an upload for `field` (`passport_scan`, `selfie`).
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

/// A PDF ends with `%%EOF`, possibly followed by a little whitespace or garbage that
/// writers leave; PDF readers look for it within the last kilobyte.
fn check_pdf(field: &str, bytes: &[u8]) -> Result<(), RaError> {
    let tail = &bytes[bytes.len().saturating_sub(1024)..];
    if tail.windows(5).any(|w| w == b"%%EOF") { Ok(()) } else { Err(corrupt(field)) }
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
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    match reader.decode() {
        Ok(_) => Ok(()),
        Err(image::ImageError::Limits(_)) => Err(too_big()),
        Err(_) => Err(corrupt(field)),
    }
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

    #[test]
    fn accepts_real_documents_by_content() {
        let pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec();
        assert_eq!(check("passport_scan", &up(pdf)).unwrap().media_type, "application/pdf");
        assert_eq!(check("selfie", &up(png(20, 10))).unwrap().media_type, "image/png");
        let mut jpeg = Cursor::new(Vec::new());
        image::RgbImage::new(16, 16).write_to(&mut jpeg, image::ImageFormat::Jpeg).unwrap();
        assert_eq!(check("selfie", &up(jpeg.into_inner())).unwrap().media_type, "image/jpeg");
    }

    #[test]
    fn rejects_bad_documents() {
        assert_eq!(check("selfie", &up(vec![])).unwrap_err().code, "empty_document");
        assert_eq!(check("selfie", &up(b"GIF89a....".to_vec())).unwrap_err().code, "unsupported_document");
        assert_eq!(check("selfie", &up(b"%PDF-1.4 no end".to_vec())).unwrap_err().code, "corrupt_document");
        let mut truncated = png(64, 64);
        truncated.truncate(truncated.len() / 2);
        assert_eq!(check("selfie", &up(truncated)).unwrap_err().code, "corrupt_document");
        let mut big = b"%PDF-".to_vec();
        big.resize(MAX_DOCUMENT_BYTES + 1, b' ');
        let e = check("passport_scan", &up(big)).unwrap_err();
        assert_eq!((e.kind, e.field.as_deref()), (crate::ErrorKind::TooLarge, Some("passport_scan")));
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
