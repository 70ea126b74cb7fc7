//! A report delivered to an HTTPS endpoint: one `POST` of a
//! `multipart/form-data` body — a `manifest` part (JSON) and one `files`
//! part per report file — signed with HMAC-SHA256.
//!
//! Headers:
//! - `Idempotency-Key`: the same on every attempt for one report and one
//!   recipient; a receiver that has seen it answers 2xx and ignores the copy.
//! - `X-Ecomshare-Timestamp`: Unix seconds of the attempt, by the wall
//!   clock even when the process's clock is a rehearsal's
//!   (`ECOMSHARE_CLOCK_START`), since the receiver checks it against its own.
//! - `X-Ecomshare-Signature`: `sha256=` and the hex HMAC-SHA256, keyed with
//!   the recipient's secret, of `TIMESTAMP.` followed by the body's bytes.
//! - `X-Ecomshare-Delivery`, `X-Ecomshare-Attempt`: for the receiver's logs.
//!
//! 2xx is delivered; 408, 425, 429 and 5xx (and network errors) are tried
//! again, honouring `Retry-After`; any other status is a refusal for good.
//! Redirects are not followed.

use super::{BundleFile, Delivery, Secret, SendError};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

/// The body's boundary: fixed per delivery, so every attempt sends the same
/// bytes.
pub fn boundary(d: &Delivery) -> String {
    use sha2::Digest;
    let h = Sha256::digest(d.idempotency_key.as_bytes());
    format!("ecomshare-{}", crate::util::digest::hex(&h[..12]))
}

/// The multipart body: the manifest, then the files in order.
pub fn body(d: &Delivery, files: &[BundleFile]) -> Vec<u8> {
    let boundary = boundary(d);
    let manifest = serde_json::to_vec_pretty(&super::manifest(d, files)).expect("a manifest serializes");
    let mut out = Vec::new();
    let mut part = |headers: String, bytes: &[u8]| {
        out.extend_from_slice(format!("--{boundary}\r\n{headers}\r\n").as_bytes());
        out.extend_from_slice(bytes);
        out.extend_from_slice(b"\r\n");
    };
    part(
        "Content-Disposition: form-data; name=\"manifest\"\r\nContent-Type: application/json\r\n".into(),
        &manifest,
    );
    for f in files {
        part(
            format!(
                "Content-Disposition: form-data; name=\"files\"; filename=\"{}\"\r\nContent-Type: {}\r\n",
                f.name, f.media_type
            ),
            &f.bytes,
        );
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

/// `sha256=HEX` of HMAC-SHA256(secret, "TIMESTAMP." ++ body).
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    format!("sha256={}", crate::util::digest::hex(&tag))
}

/// One attempt, signed at `signed_at` (the wall clock's time, which the
/// receiver compares with its own).
pub async fn send(
    client: &reqwest::Client,
    url: &str,
    secret: &Secret,
    d: &Delivery,
    files: &[BundleFile],
    attempt: u32,
    signed_at: DateTime<Utc>,
) -> Result<Option<u16>, SendError> {
    let secret = secret.expose().map_err(|var| SendError::Permanent {
        status: None,
        detail: format!("the webhook's secret: the environment variable {var} is not set"),
    })?;
    let body = body(d, files);
    let timestamp = signed_at.timestamp();
    let response = client
        .post(url)
        .header(
            reqwest::header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={}", boundary(d)),
        )
        .header("Idempotency-Key", &d.idempotency_key)
        .header("X-Ecomshare-Timestamp", timestamp.to_string())
        .header("X-Ecomshare-Signature", signature(secret, timestamp, &body))
        .header("X-Ecomshare-Delivery", &d.id)
        .header("X-Ecomshare-Attempt", attempt.to_string())
        .body(body)
        .send()
        .await
        .map_err(|e| SendError::Retry {
            status: None,
            detail: describe(e),
            retry_after: None,
        })?;
    let status = response.status().as_u16();
    if response.status().is_success() {
        return Ok(Some(status));
    }
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = response.text().await.unwrap_or_default();
    let excerpt: String = text.chars().take(200).collect();
    let detail = match location {
        Some(to) => format!("HTTP {status}, redirect to {to}; configure the final URL"),
        None if excerpt.is_empty() => format!("HTTP {status}"),
        None => format!("HTTP {status}: {excerpt}"),
    };
    if matches!(status, 408 | 425 | 429) || status >= 500 {
        Err(SendError::Retry {
            status: Some(status),
            detail,
            retry_after,
        })
    } else {
        Err(SendError::Permanent {
            status: Some(status),
            detail,
        })
    }
}

/// A transport error with its causes, without the URL (whose query could
/// hold a token).
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_hmac() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let key = "Jefe";
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let expected = crate::util::digest::hex(&mac.finalize().into_bytes());
        assert_eq!(
            expected,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Ours signs "TIMESTAMP." then the body.
        let sig = signature(key, 1_700_000_000, b"{}");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"1700000000.{}");
        let want = crate::util::digest::hex(&mac.finalize().into_bytes());
        assert_eq!(sig, format!("sha256={want}"));
    }
}
