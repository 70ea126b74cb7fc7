//! A report delivered by e-mail over SMTP (lettre): a short text in the
//! report's language with the headline figures, and the report's files
//! attached (by default the PDF and the workbook).
//!
//! Each address is asked for with its own `RCPT TO`: the message goes to
//! those the server takes, and every address gets its own verdict (taken,
//! tried again after a 4xx, refused for good after a 5xx), which the outbox
//! keeps beside it; a later attempt asks only for the addresses still
//! pending.
//!
//! SMTP has no idempotency key; the message's `Message-ID` is derived from
//! the delivery's key, so a copy sent again after an interrupted attempt
//! carries the same id and mail clients show it once.

use super::{BundleFile, Delivery, Smtp, SmtpSecurity};
use crate::present::labels;
use crate::present::locale::{self, Lang};
use lettre::Message;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
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

/// What the mail server said about one address in one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The bare address, as the delivery records it.
    pub address: String,
    pub verdict: Verdict,
    /// The server's reply code, when one came.
    pub code: Option<u16>,
    /// The server's reply text, or what went wrong before a reply came.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The server took the message for this address.
    Delivered,
    /// Not taken for now (a 4xx reply, a network error, a timeout): this
    /// address is tried again.
    Retry,
    /// Refused for good (a 5xx reply, an address that is not one).
    Refused,
}

/// The bare address (`name@domain`) of a configured one
/// (`"Name <name@domain>"` or `name@domain`); as given if it is neither.
pub fn bare_address(configured: &str) -> String {
    configured
        .parse::<Mailbox>()
        .map(|m| m.email.to_string())
        .unwrap_or_else(|_| configured.trim().to_string())
}

/// One SMTP session sending the delivery's message to `addresses` (bare,
/// each asked for with its own `RCPT TO`): the message goes to those the
/// server accepts, and every address gets its own reply. `header_to` is
/// the `To:` header (the recipient's whole list, the same on every
/// attempt). The whole session takes at most `timeout`; an address the
/// server had not taken by then is tried again.
pub async fn send(
    smtp: &Smtp,
    header_to: &[String],
    addresses: &[String],
    d: &Delivery,
    files: &[BundleFile],
    headline: &str,
    timeout: Duration,
) -> Vec<Reply> {
    let message = match message(smtp, header_to, d, files, headline) {
        Ok(m) => m,
        Err(detail) => return every(addresses, Verdict::Refused, None, &detail),
    };
    let sender = message.envelope().from().cloned();
    let mut replies = Vec::new();
    let outcome = tokio::time::timeout(
        timeout,
        session(smtp, sender, addresses, &message.formatted(), timeout, &mut replies),
    )
    .await;
    let stopped = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e),
        Err(_) => Some(SessionError {
            verdict: Verdict::Retry,
            code: None,
            message: format!("SMTP: no end of the session within {} s", timeout.as_secs_f64()),
        }),
    };
    // The addresses the session did not judge take its error.
    let unjudged: Vec<String> = addresses
        .iter()
        .filter(|a| !replies.iter().any(|r| &r.address == *a))
        .cloned()
        .collect();
    let e = stopped.unwrap_or_else(|| SessionError {
        verdict: Verdict::Retry,
        code: None,
        message: "SMTP: the session ended without a reply for this address".into(),
    });
    replies.extend(every(&unjudged, e.verdict, e.code, &e.message));
    replies
}

fn every(addresses: &[String], verdict: Verdict, code: Option<u16>, message: &str) -> Vec<Reply> {
    addresses
        .iter()
        .map(|a| Reply {
            address: a.clone(),
            verdict,
            code,
            message: message.to_string(),
        })
        .collect()
}

/// Why a session stopped before judging every address.
struct SessionError {
    verdict: Verdict,
    code: Option<u16>,
    message: String,
}

impl From<lettre::transport::smtp::Error> for SessionError {
    fn from(e: lettre::transport::smtp::Error) -> Self {
        let code = e.status().and_then(|c| c.to_string().parse().ok());
        Self {
            verdict: if e.is_permanent() {
                Verdict::Refused
            } else {
                Verdict::Retry
            },
            code,
            message: format!("SMTP: {e}"),
        }
    }
}

fn refused(message: String) -> SessionError {
    SessionError {
        verdict: Verdict::Refused,
        code: None,
        message,
    }
}

/// A negative reply's verdict, code and text; `None` for an error that is
/// no reply (the connection failed).
fn negative_reply(e: &lettre::transport::smtp::Error) -> Option<(Verdict, Option<u16>, String)> {
    let code = e.status()?;
    let text = std::error::Error::source(e).map(|s| s.to_string()).unwrap_or_default();
    let verdict = if e.is_permanent() {
        Verdict::Refused
    } else {
        Verdict::Retry
    };
    Some((verdict, code.to_string().parse().ok(), text))
}

fn positive_reply(r: &lettre::transport::smtp::response::Response) -> (Option<u16>, String) {
    (
        r.code().to_string().parse().ok(),
        r.message().collect::<Vec<_>>().join(" "),
    )
}

async fn session(
    smtp: &Smtp,
    sender: Option<lettre::Address>,
    addresses: &[String],
    email: &[u8],
    timeout: Duration,
    replies: &mut Vec<Reply>,
) -> Result<(), SessionError> {
    use lettre::transport::smtp::authentication::DEFAULT_MECHANISMS;
    use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
    use lettre::transport::smtp::commands::{Data, Mail, Quit, Rcpt};
    use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};

    let hello = ClientId::default();
    let tls = match smtp.security {
        SmtpSecurity::None => None,
        SmtpSecurity::StartTls | SmtpSecurity::Tls => Some(
            TlsParameters::new(smtp.host.clone()).map_err(|e| refused(format!("SMTP host {:?}: {e}", smtp.host)))?,
        ),
    };
    let wrapper = tls.clone().filter(|_| smtp.security == SmtpSecurity::Tls);
    let mut conn =
        AsyncSmtpConnection::connect_tokio1((smtp.host.as_str(), smtp.port), Some(timeout), &hello, wrapper, None)
            .await?;
    if let (SmtpSecurity::StartTls, Some(tls)) = (smtp.security, tls) {
        conn.starttls(tls, &hello).await?;
    }
    if let Some((user, password)) = &smtp.credentials {
        let password = password
            .expose()
            .map_err(|var| refused(format!("smtp password: the environment variable {var} is not set")))?;
        conn.auth(
            DEFAULT_MECHANISMS,
            &Credentials::new(user.clone(), password.to_string()),
        )
        .await?;
    }
    let mut options = Vec::new();
    if !email.is_ascii() {
        if !conn.server_info().supports_feature(Extension::EightBitMime) {
            return Err(refused("SMTP: the server takes no 8-bit message (8BITMIME)".into()));
        }
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    let utf8 = conn.server_info().supports_feature(Extension::SmtpUtfEight);
    if utf8 && addresses.iter().any(|a| !a.is_ascii()) {
        options.push(MailParameter::SmtpUtfEight);
    }
    conn.command(Mail::new(sender, options)).await?;
    let mut accepted = Vec::new();
    for text in addresses {
        let judged = |verdict, code, message| Reply {
            address: text.clone(),
            verdict,
            code,
            message,
        };
        let address = match text.parse::<lettre::Address>() {
            Ok(a) if utf8 || text.is_ascii() => a,
            Ok(_) => {
                let why = "the server takes no address that is not ASCII (SMTPUTF8)".to_string();
                replies.push(judged(Verdict::Refused, None, why));
                continue;
            }
            Err(e) => {
                replies.push(judged(Verdict::Refused, None, format!("not an address: {e}")));
                continue;
            }
        };
        match conn.command(Rcpt::new(address, Vec::new())).await {
            Ok(_) => accepted.push(text.clone()),
            Err(e) => match negative_reply(&e) {
                Some((verdict, code, message)) => replies.push(judged(verdict, code, message)),
                None => return Err(e.into()),
            },
        }
    }
    if !accepted.is_empty() {
        let end = match conn.command(Data).await {
            Ok(_) => conn.message(email).await,
            Err(e) => Err(e),
        };
        let (verdict, code, message) = match end {
            Ok(r) => {
                let (code, text) = positive_reply(&r);
                (Verdict::Delivered, code, text)
            }
            Err(e) => negative_reply(&e).ok_or_else(|| SessionError::from(e))?,
        };
        for a in accepted {
            replies.push(Reply {
                address: a,
                verdict,
                code,
                message: message.clone(),
            });
        }
    }
    // Everything is judged: a failed goodbye changes nothing.
    let _ = conn.command(Quit).await;
    Ok(())
}
