//! A report delivered by e-mail over SMTP (lettre): a short text in the
//! report's language with the headline figures, and the report's files
//! attached (by default the PDF and the workbook).
//!
//! SMTP has no idempotency key; the message's `Message-ID` is derived from
//! the delivery's key, so a copy sent again after an interrupted attempt
//! carries the same id and mail clients show it once.

use super::{BundleFile, Delivery, SendError, Smtp, SmtpSecurity};
use crate::present::labels;
use crate::present::locale::{self, Lang};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// The message for one delivery (its files as attachments).
pub fn message(
    smtp: &Smtp,
    to: &[String],
    d: &Delivery,
    files: &[BundleFile],
    headline: &str,
) -> Result<Message, String> {
    let lang = Lang::parse(&d.report.language).unwrap_or(Lang::Vi);
    let from: Mailbox = smtp
        .from
        .parse()
        .map_err(|e| format!("from address {:?}: {e}", smtp.from))?;
    let mut builder = Message::builder()
        .from(from)
        .subject(subject(&d.report.month, lang))
        .message_id(Some(format!("<{}@ecomshare>", d.idempotency_key)));
    for address in to {
        let mailbox: Mailbox = address.parse().map_err(|e| format!("address {address:?}: {e}"))?;
        builder = builder.to(mailbox);
    }
    let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(text(d, headline, files, lang)));
    for f in files {
        let media = ContentType::parse(f.media_type).map_err(|e| format!("{}: {e}", f.media_type))?;
        parts = parts.singlepart(Attachment::new(f.name.clone()).body(f.bytes.clone(), media));
    }
    builder.multipart(parts).map_err(|e| e.to_string())
}

fn subject(month: &str, lang: Lang) -> String {
    let (y, m) = month.split_once('-').unwrap_or((month, ""));
    labels::fill(labels::of(lang).email.subject, &[("month", m), ("year", y)])
}

fn text(d: &Delivery, headline: &str, files: &[BundleFile], lang: Lang) -> String {
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    labels::fill(
        labels::of(lang).email.body,
        &[
            ("headline", headline),
            ("files", &names.join(", ")),
            ("version", &d.report.dataset_version.to_string()),
            ("committed_at", &d.report.dataset_committed_at),
            ("sha256", &d.report.content_sha256),
        ],
    )
}

/// The headline sentence from a report's JSON: the month's share, the year
/// to date, the target with its programme and the status.
pub fn headline(report: &serde_json::Value, lang: Lang) -> String {
    let share = |v: &serde_json::Value| {
        v.as_f64()
            .map(|x| locale::percent(x, 2, lang))
            .unwrap_or_else(|| "–".into())
    };
    let h = &report["headline"];
    let month = report["month"].as_str().unwrap_or("");
    let status = h["month"]["status"].as_str().unwrap_or("");
    let l = &labels::of(lang).email;
    let status = match status {
        "met" => l.status_met,
        "below" => l.status_below,
        _ => l.status_unknown,
    };
    labels::fill(
        l.headline,
        &[
            ("month", month),
            ("share", &share(&h["month"]["share"])),
            ("year_to_date", &share(&h["year_to_date"]["share"])),
            (
                "target",
                &locale::target_with_program(report["target"].as_f64(), report["target_program"].as_str(), lang),
            ),
            ("status", status),
        ],
    )
}

pub async fn send(
    smtp: &Smtp,
    to: &[String],
    d: &Delivery,
    files: &[BundleFile],
    headline: &str,
    timeout: Duration,
) -> Result<Option<u16>, SendError> {
    let message =
        message(smtp, to, d, files, headline).map_err(|detail| SendError::Permanent { status: None, detail })?;
    let builder = match smtp.security {
        SmtpSecurity::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)),
        SmtpSecurity::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host),
        SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host),
    }
    .map_err(|e| SendError::Permanent {
        status: None,
        detail: format!("SMTP host {:?}: {e}", smtp.host),
    })?;
    let mut builder = builder.port(smtp.port).timeout(Some(timeout));
    if let Some((user, password)) = &smtp.credentials {
        builder = builder.credentials(Credentials::new(user.clone(), password.expose().to_string()));
    }
    let transport = builder.build();
    match transport.send(message).await {
        Ok(response) => Ok(response.code().to_string().parse().ok()),
        Err(e) => {
            let status = e.status().and_then(|c| c.to_string().parse().ok());
            let detail = format!("SMTP: {e}");
            if e.is_permanent() {
                Err(SendError::Permanent { status, detail })
            } else {
                Err(SendError::Retry {
                    status,
                    detail,
                    retry_after: None,
                })
            }
        }
    }
}
