//! Request bodies that may arrive `Content-Encoding: gzip` (agent reports and network
//! descriptions, which can outgrow the listener's body limit uncompressed), decoded with a
//! hard cap on the output so a small bomb cannot allocate its expansion.

use std::io::Read as _;

use bytes::Bytes;
use http::HeaderMap;

use crate::error::{InspectorApiError, Result};

/// The body as sent (`identity`, or no header) or gunzipped (`gzip`), at most `limit` bytes
/// once decoded. Other encodings are refused.
pub fn decoded(headers: &HeaderMap, body: &Bytes, limit: usize) -> Result<Bytes> {
    let enc = headers
        .get(http::header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase());
    match enc.as_deref() {
        None | Some("" | "identity") => {
            if body.len() > limit {
                return Err(too_large(limit));
            }
            Ok(body.clone())
        }
        Some("gzip" | "x-gzip") => gunzip(body, limit).map(Bytes::from),
        Some(other) => Err(InspectorApiError::BadRequest(format!(
            "Content-Encoding {other} is not supported; send identity or gzip."
        ))),
    }
}

fn too_large(limit: usize) -> InspectorApiError {
    InspectorApiError::PayloadTooLarge(format!(
        "The decoded body is larger than the {limit} bytes this operation accepts."
    ))
}

/// Gunzips `data` (concatenated members allowed), failing once the output passes `limit`.
pub fn gunzip(data: &[u8], limit: usize) -> Result<Vec<u8>> {
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut out = Vec::with_capacity(data.len().saturating_mul(4).min(limit));
    flate2::read::MultiGzDecoder::new(data)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| InspectorApiError::cannot_parse(format!("The gzip body is corrupt: {e}")))?;
    if out.len() > limit {
        return Err(too_large(limit));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn encodings_and_limits() {
        let mut h = HeaderMap::new();
        let plain = Bytes::from_static(b"{\"a\":1}");
        assert_eq!(decoded(&h, &plain, 100).unwrap(), plain);
        assert!(matches!(
            decoded(&h, &plain, 3),
            Err(InspectorApiError::PayloadTooLarge(_))
        ));
        h.insert(http::header::CONTENT_ENCODING, "gzip".parse().unwrap());
        let z = Bytes::from(gz(&plain));
        assert_eq!(decoded(&h, &z, 100).unwrap(), plain);
        assert!(matches!(
            decoded(&h, &z, 6),
            Err(InspectorApiError::PayloadTooLarge(_))
        ));
        assert!(matches!(
            decoded(&h, &plain, 100),
            Err(InspectorApiError::Validation { .. })
        ));
        h.insert(http::header::CONTENT_ENCODING, "br".parse().unwrap());
        assert!(matches!(
            decoded(&h, &z, 100),
            Err(InspectorApiError::BadRequest(_))
        ));
    }
}
