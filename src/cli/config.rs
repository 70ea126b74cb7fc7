//! Configuration, layered: built-in defaults, then a TOML file, then
//! `ECOMSHARE_*` environment variables, then command-line flags (the last
//! two merged by the CLI parser). Read once at start.

use crate::delivery::{Channel, DeliveryOptions, Recipient, RetryPolicy, Secret, Smtp, SmtpSecurity};
use crate::domain::MonthlySchedule;
use crate::present::locale::Lang;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use thiserror::Error;

pub const DEFAULT_DATA: &str = "./data";
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// Extra named queries, read when the directory exists.
pub const DEFAULT_QUERIES: &str = "./queries";
pub const DEFAULT_SQL_MEMORY_MB: u64 = 1024;
pub const DEFAULT_QUERY_TIMEOUT_S: u64 = 30;
pub const DEFAULT_SQL_ROW_CAP: u64 = 100_000;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("config file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("configuration: {0}")]
    Invalid(String),
}

impl ConfigError {
    pub fn code(&self) -> &'static str {
        "invalid_config"
    }
}

/// The TOML file's keys; all optional.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data: Option<PathBuf>,
    pub addr: Option<String>,
    /// The ops listener (`/livez`, `/readyz`, `/metrics` without a token): `HOST:PORT`,
    /// or a bare port on 127.0.0.1; absent: none.
    pub metrics_addr: Option<String>,
    /// Seconds requests in flight may take to finish once a shutdown
    /// begins (default 30).
    pub shutdown_grace_s: Option<u64>,
    /// Load the demo dataset into an empty data directory at `serve`.
    pub demo: Option<bool>,
    /// Compute the dashboard's default views in the background after each
    /// new dataset version (default true).
    pub warm: Option<bool>,
    /// Seconds between `serve`'s looks at the log for versions another
    /// process committed (default 2; 0: only when a request comes).
    pub poll_interval_s: Option<u64>,
    /// A directory of extra named queries.
    pub queries: Option<PathBuf>,
    /// Memory pool of named and analysts' queries, in MiB.
    pub sql_memory_mb: Option<u64>,
    /// Longest a query may run to its first rows, in seconds.
    pub query_timeout_s: Option<u64>,
    /// Most rows an analyst's SQL may return.
    pub sql_row_cap: Option<u64>,
    /// Largest upload of filings over HTTP, in MiB.
    pub max_upload_mb: Option<u64>,
    /// Longest an HTTP request may take, in seconds (uploads excepted).
    pub request_timeout_s: Option<u64>,
    /// Longest an upload of filings may take, in seconds.
    pub upload_timeout_s: Option<u64>,
    /// Requests per second per token (or per address when anonymous); 0: no limit.
    pub rate_limit_per_s: Option<f64>,
    /// Requests a caller may make at once before the rate applies.
    pub rate_limit_burst: Option<u32>,
    /// Named queries and SQL running at once.
    pub max_concurrent_queries: Option<usize>,
    /// Proxies whose X-Forwarded-For is believed (IP addresses).
    pub trusted_proxies: Option<Vec<String>>,
    /// The dashboard and charts without signing in (the API stays protected).
    pub public_dashboard: Option<bool>,
    /// The Secure attribute of the session cookie (default true).
    pub cookie_secure: Option<bool>,
    /// Disclosure control of figures shown to viewers, analysts and in reports.
    pub disclosure: Option<DisclosureFile>,
    /// Which targets' programme governs a year.
    pub targets: Option<TargetsFile>,
    /// When a month's figures become preliminary and final.
    pub release: Option<ReleaseFile>,
    /// When `serve` archives the previous month's report (absent: never).
    pub schedule: Option<ScheduleFile>,
    /// Who receives each scheduled report.
    #[serde(default)]
    pub recipients: Vec<RecipientFile>,
    /// The mail server for e-mail recipients.
    pub smtp: Option<SmtpFile>,
    /// Retries of deliveries.
    pub delivery: Option<DeliveryFile>,
    /// Background compaction of small batches by `serve`.
    pub compaction: Option<CompactionFile>,
    /// `text` (default) or `json`: one JSON object per log line.
    pub log_format: Option<String>,
}

/// `[compaction]`
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CompactionFile {
    /// Seconds between `serve`'s compaction rounds (default 60; 0: never).
    pub interval_s: Option<u64>,
    /// Batches with fewer accepted filings are small (default 100000).
    pub small_rows: Option<u64>,
    /// Small batches in a run before it is compacted (default 8).
    pub min_batches: Option<usize>,
    /// Most filings in one segment (default 2000000).
    pub max_rows: Option<u64>,
}

/// `[disclosure]`
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DisclosureFile {
    /// A cell with fewer contributing enterprises is suppressed (default 3).
    pub min_enterprises: Option<u32>,
    /// A cell whose 2 largest enterprises hold more than this percentage of
    /// its revenue is suppressed (default 85).
    pub dominance_percent: Option<u32>,
}

/// `[targets]`
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TargetsFile {
    /// Programmes (`targets.csv`'s `program`) in priority order: the first
    /// with a value for the year and scope governs; when none has, the
    /// default choice (the provincial programme, else the newest national
    /// one, else `legacy`).
    pub programs: Option<Vec<String>>,
}

/// `[release]`
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReleaseFile {
    /// The filing deadline: this day of the month after the period, to its
    /// end, in Asia/Ho_Chi_Minh (1–28, default 20). Until it has passed a
    /// month's figures are an estimate.
    pub deadline_day: Option<u32>,
    /// Months after the period's end from which its figures are final
    /// (at least 1, default 3); preliminary from the deadline until then.
    pub final_after_months: Option<u32>,
}

/// `[schedule]`
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScheduleFile {
    /// Day of the month, 1–28 (default 5).
    pub day: Option<u32>,
    /// `HH:MM` (default 08:00).
    pub time: Option<String>,
    /// IANA time zone (default Asia/Ho_Chi_Minh).
    pub timezone: Option<String>,
    /// `vi` or `en` (default vi).
    pub language: Option<String>,
}

/// `[[recipients]]`, by `kind`.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum RecipientFile {
    Webhook {
        name: String,
        /// `https://…` (plain `http://` only to a loopback address).
        url: String,
        /// The HMAC key, given directly…
        secret: Option<String>,
        /// …or, better, named by the environment variable holding it.
        secret_env: Option<String>,
        /// Default: every file of the bundle.
        files: Option<Vec<String>>,
    },
    Email {
        name: String,
        to: Vec<String>,
        /// Default: report.pdf and report.xlsx.
        files: Option<Vec<String>>,
    },
}

/// `[smtp]`
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SmtpFile {
    pub host: String,
    /// Default: 587 (starttls), 465 (tls), 25 (none).
    pub port: Option<u16>,
    /// `starttls` (default), `tls` or `none`.
    pub security: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub password_env: Option<String>,
    /// The sender, for example `"Sở Công Thương Thanh Hóa <ecomshare@congthuong.thanhhoa.gov.vn>"`.
    pub from: String,
}

/// `[delivery]`
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeliveryFile {
    pub initial_backoff_s: Option<f64>,
    pub max_backoff_s: Option<f64>,
    pub max_attempts: Option<u32>,
    pub timeout_s: Option<f64>,
    /// Overridden by `ECOMSHARE_DELIVERY_MAX_IN_FLIGHT`.
    pub max_in_flight: Option<usize>,
}

/// The monthly report's schedule and recipients, resolved.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reports {
    pub schedule: Option<MonthlySchedule>,
    pub language: Lang,
    pub delivery: DeliveryOptions,
}

impl Reports {
    /// Refuses secrets named by an environment variable that is not set:
    /// checked by the command that delivers (`serve`), not by those that
    /// only read or queue the outbox.
    pub fn require_secrets(&self) -> Result<(), ConfigError> {
        let d = &self.delivery;
        let webhooks = d.recipients.iter().filter_map(|r| match &r.channel {
            Channel::Webhook { secret, .. } => Some((format!("recipient {}", r.name), secret)),
            Channel::Email { .. } => None,
        });
        let smtp = d
            .smtp
            .iter()
            .filter_map(|s| s.credentials.as_ref())
            .map(|(_, password)| ("smtp password".to_string(), password));
        for (what, secret) in webhooks.chain(smtp) {
            if let Err(var) = secret.expose() {
                return Err(bad(format!("{what}: the environment variable {var} is not set")));
            }
        }
        Ok(())
    }
}

/// Values given by flags or environment (already merged by the CLI parser).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub data: Option<PathBuf>,
    pub addr: Option<String>,
    pub metrics_addr: Option<String>,
    pub shutdown_grace_s: Option<u64>,
    pub poll_interval_s: Option<u64>,
    pub no_demo: bool,
    pub no_warm: bool,
    pub queries: Option<PathBuf>,
    pub sql_memory_mb: Option<u64>,
    pub query_timeout_s: Option<u64>,
    pub sql_row_cap: Option<u64>,
    pub max_upload_mb: Option<u64>,
    pub rate_limit_per_s: Option<f64>,
    pub public_dashboard: bool,
    pub log_format: Option<LogFormat>,
    /// `[targets] programs`, from `--target-programs` or
    /// `ECOMSHARE_TARGET_PROGRAMS` (comma-separated).
    pub target_programs: Option<Vec<String>>,
    /// `[release] deadline_day`, from `--release-deadline-day` or
    /// `ECOMSHARE_RELEASE_DEADLINE_DAY`.
    pub release_deadline_day: Option<u32>,
    /// `[release] final_after_months`, from `--release-final-after-months`
    /// or `ECOMSHARE_RELEASE_FINAL_AFTER_MONTHS`.
    pub release_final_after_months: Option<u32>,
}

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines (coloured on a terminal).
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `message`
    /// and the event's fields beside them.
    Json,
}

impl LogFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "text" => Some(Self::Text),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

/// The log format a configuration file asks for, read before the
/// configuration is (logging starts first): `None` when the file or its
/// `log_format` is missing or unreadable — resolving it then says why.
pub fn file_log_format(path: &Path) -> Option<LogFormat> {
    #[derive(Deserialize)]
    struct Peek {
        log_format: Option<String>,
    }
    let text = std::fs::read_to_string(path).ok()?;
    let peek: Peek = toml::from_str(&text).ok()?;
    LogFormat::parse(peek.log_format.as_deref()?)
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub server: ServerSettings,
    pub disclosure: crate::domain::disclosure::Rule,
    /// The targets' programmes in priority order; empty: the default choice.
    pub target_programs: Vec<String>,
    /// When months' figures become preliminary and final.
    pub release: crate::domain::ReleasePolicy,
    pub data: PathBuf,
    pub addr: String,
    /// The ops listener's address, when there is one.
    pub metrics_addr: Option<String>,
    pub demo: bool,
    pub warm: bool,
    pub queries: PathBuf,
    pub sql_memory_mb: u64,
    pub query_timeout_s: u64,
    pub sql_row_cap: u64,
    pub reports: Reports,
    pub compaction: crate::service::CompactPolicy,
    /// Seconds between `serve`'s compaction rounds; 0: never.
    pub compaction_interval_s: u64,
    /// Seconds between `serve`'s looks at the log; 0: never.
    pub poll_interval_s: u64,
    pub log_format: LogFormat,
}

/// The HTTP server's settings as configured and checked; `None` leaves the
/// server's default. The command line turns them into `http::HttpOptions`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServerSettings {
    pub max_upload_mb: Option<u64>,
    pub request_timeout_s: Option<u64>,
    pub upload_timeout_s: Option<u64>,
    /// Requests per second per caller; 0: no limit.
    pub rate_limit_per_s: Option<f64>,
    pub rate_limit_burst: Option<u64>,
    pub max_concurrent_queries: Option<u64>,
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub public_dashboard: bool,
    pub cookie_secure: bool,
    /// Seconds requests in flight may take to finish once a shutdown begins.
    pub shutdown_grace_s: Option<u64>,
}

impl FileConfig {
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::File {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }
}

pub fn resolve(file: Option<&Path>, overrides: Overrides) -> Result<Config, ConfigError> {
    let mut file = match file {
        Some(p) => FileConfig::read(p)?,
        None => FileConfig::default(),
    };
    let reports = reports(&mut file, &|name| std::env::var(name).ok())?;
    let server = server_settings(&file, &overrides)?;
    let disclosure = {
        let d = crate::domain::disclosure::Rule::default();
        let f = file.disclosure.take().unwrap_or_default();
        let rule = crate::domain::disclosure::Rule {
            min_enterprises: f.min_enterprises.unwrap_or(d.min_enterprises),
            dominance_percent: f.dominance_percent.unwrap_or(d.dominance_percent),
            ..d
        };
        if rule.min_enterprises == 0 || !(1..=100).contains(&rule.dominance_percent) {
            return Err(ConfigError::Invalid(
                "disclosure: min_enterprises must be at least 1 and dominance_percent between 1 and 100".into(),
            ));
        }
        rule
    };
    let target_programs = target_programs(
        overrides
            .target_programs
            .clone()
            .or_else(|| file.targets.take().and_then(|t| t.programs))
            .unwrap_or_default(),
    )?;
    let release = {
        let d = crate::domain::ReleasePolicy::default();
        let f = file.release.take().unwrap_or_default();
        crate::domain::ReleasePolicy::new(
            overrides
                .release_deadline_day
                .or(f.deadline_day)
                .unwrap_or(d.deadline_day()),
            overrides
                .release_final_after_months
                .or(f.final_after_months)
                .unwrap_or(d.final_after_months()),
        )
        .map_err(ConfigError::Invalid)?
    };
    let log_format = match (overrides.log_format, file.log_format.as_deref()) {
        (Some(f), _) => f,
        (None, None) => LogFormat::default(),
        (None, Some(f)) => LogFormat::parse(f).ok_or_else(|| bad(format!("log_format {f:?} must be text or json")))?,
    };
    let c = file.compaction.take().unwrap_or_default();
    let d = crate::service::CompactPolicy::default();
    let compaction = crate::service::CompactPolicy {
        small_rows: c.small_rows.unwrap_or(d.small_rows),
        min_batches: c.min_batches.unwrap_or(d.min_batches),
        max_rows: c.max_rows.unwrap_or(d.max_rows),
    };
    if compaction.min_batches < 2 || compaction.small_rows == 0 || compaction.max_rows == 0 {
        return Err(ConfigError::Invalid(
            "compaction: min_batches must be at least 2, small_rows and max_rows at least 1".into(),
        ));
    }
    Ok(Config {
        server,
        disclosure,
        target_programs,
        release,
        reports,
        compaction,
        compaction_interval_s: c.interval_s.unwrap_or(60),
        poll_interval_s: overrides.poll_interval_s.or(file.poll_interval_s).unwrap_or(2),
        log_format,
        data: overrides
            .data
            .or(file.data)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA)),
        addr: overrides.addr.or(file.addr).unwrap_or_else(|| DEFAULT_ADDR.to_string()),
        metrics_addr: overrides
            .metrics_addr
            .or(file.metrics_addr)
            .filter(|a| !a.trim().is_empty())
            .map(|a| loopback_if_bare_port(a.trim())),
        demo: !overrides.no_demo && file.demo.unwrap_or(true),
        warm: !overrides.no_warm && file.warm.unwrap_or(true),
        queries: overrides
            .queries
            .or(file.queries)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_QUERIES)),
        sql_memory_mb: overrides
            .sql_memory_mb
            .or(file.sql_memory_mb)
            .unwrap_or(DEFAULT_SQL_MEMORY_MB),
        query_timeout_s: overrides
            .query_timeout_s
            .or(file.query_timeout_s)
            .unwrap_or(DEFAULT_QUERY_TIMEOUT_S),
        sql_row_cap: overrides
            .sql_row_cap
            .or(file.sql_row_cap)
            .unwrap_or(DEFAULT_SQL_ROW_CAP),
    })
}

/// `[targets] programs`: each named once, none empty.
fn target_programs(given: Vec<String>) -> Result<Vec<String>, ConfigError> {
    let mut out: Vec<String> = Vec::with_capacity(given.len());
    for p in given {
        let p = p.trim().to_string();
        if p.is_empty() {
            return Err(bad("targets: programs holds an empty name".into()));
        }
        if out.contains(&p) {
            return Err(bad(format!("targets: programs names {p:?} twice")));
        }
        out.push(p);
    }
    Ok(out)
}

/// A comma-separated list of programmes (the flag's and the environment's form).
pub fn program_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

fn server_settings(file: &FileConfig, overrides: &Overrides) -> Result<ServerSettings, ConfigError> {
    let positive = |v: Option<u64>, what: &str| match v {
        Some(0) => Err(bad(format!("{what} must be at least 1"))),
        v => Ok(v),
    };
    let rate = overrides.rate_limit_per_s.or(file.rate_limit_per_s);
    if rate.is_some_and(|r| !r.is_finite() || r < 0.0) {
        return Err(bad("rate_limit_per_s must be 0 (no limit) or a positive number".into()));
    }
    let trusted_proxies = file
        .trusted_proxies
        .iter()
        .flatten()
        .map(|a| {
            a.parse::<std::net::IpAddr>()
                .map_err(|_| bad(format!("trusted_proxies: {a:?} is not an IP address")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ServerSettings {
        max_upload_mb: positive(overrides.max_upload_mb.or(file.max_upload_mb), "max_upload_mb")?,
        request_timeout_s: positive(file.request_timeout_s, "request_timeout_s")?,
        upload_timeout_s: positive(file.upload_timeout_s, "upload_timeout_s")?,
        rate_limit_per_s: rate,
        rate_limit_burst: positive(file.rate_limit_burst.map(u64::from), "rate_limit_burst")?,
        max_concurrent_queries: positive(file.max_concurrent_queries.map(|n| n as u64), "max_concurrent_queries")?,
        trusted_proxies,
        public_dashboard: overrides.public_dashboard || file.public_dashboard.unwrap_or(false),
        cookie_secure: file.cookie_secure.unwrap_or(true),
        shutdown_grace_s: overrides.shutdown_grace_s.or(file.shutdown_grace_s),
    })
}

/// `HOST:PORT` as given; a bare port is on 127.0.0.1.
fn loopback_if_bare_port(addr: &str) -> String {
    match addr.parse::<u16>() {
        Ok(port) => format!("127.0.0.1:{port}"),
        Err(_) => addr.to_string(),
    }
}

/// Resolves the schedule, recipients and mail server, checking each:
/// secrets present, webhook URLs on HTTPS, addresses well formed, names
/// unique, e-mail only with a mail server.
fn reports(file: &mut FileConfig, env: &dyn Fn(&str) -> Option<String>) -> Result<Reports, ConfigError> {
    let (schedule, language) = match file.schedule.take() {
        None => (None, Lang::Vi),
        Some(s) => schedule(s)?,
    };
    let recipients = recipients(std::mem::take(&mut file.recipients), env)?;
    let smtp = file.smtp.take().map(|s| smtp(s, env)).transpose()?;
    if smtp.is_none()
        && let Some(r) = recipients.iter().find(|r| matches!(r.channel, Channel::Email { .. }))
    {
        return Err(bad(format!("recipient {}: e-mail needs an [smtp] section", r.name)));
    }
    Ok(Reports {
        schedule,
        language,
        delivery: {
            let d = file.delivery.take().unwrap_or_default();
            DeliveryOptions {
                recipients,
                smtp,
                max_in_flight: max_in_flight(&d, env)?,
                retry: retry(d)?,
            }
        },
    })
}

fn bad(message: String) -> ConfigError {
    ConfigError::Invalid(message)
}

/// `[schedule]`: when the monthly report is due, and its language.
fn schedule(s: ScheduleFile) -> Result<(Option<MonthlySchedule>, Lang), ConfigError> {
    let language = match &s.language {
        Some(l) => Lang::parse(l).ok_or_else(|| bad(format!("schedule language {l:?} must be vi or en")))?,
        None => Lang::Vi,
    };
    let schedule = MonthlySchedule::new(
        s.day.unwrap_or(5),
        s.time.as_deref().unwrap_or("08:00"),
        s.timezone.as_deref().unwrap_or("Asia/Ho_Chi_Minh"),
    )
    .map_err(bad)?;
    Ok((Some(schedule), language))
}

/// A secret given either directly or as the name of the environment
/// variable that holds it, never both. A variable that is not set is kept
/// as its name ([`Reports::require_secrets`]).
fn secret(
    direct: Option<String>,
    var: Option<String>,
    what: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Secret, ConfigError> {
    match (direct, var) {
        (Some(s), None) if !s.is_empty() => Ok(Secret::new(s)),
        (None, Some(var)) => Ok(env(&var)
            .filter(|v| !v.is_empty())
            .map(Secret::new)
            .unwrap_or_else(|| Secret::unset(var))),
        _ => Err(bad(format!(
            "{what}: give exactly one of the secret or the name of the environment variable holding it"
        ))),
    }
}

/// The report files a recipient gets: those given, each a report file, or `default`.
fn report_files(given: Option<Vec<String>>, default: &[&str], who: &str) -> Result<Vec<String>, ConfigError> {
    let files = given.unwrap_or_else(|| default.iter().map(|s| s.to_string()).collect());
    for f in &files {
        if !crate::report::FILES.iter().any(|(n, _)| n == f) {
            return Err(bad(format!(
                "recipient {who}: {f:?} is not a report file (report.pdf, report.xlsx, report.json, report.html)"
            )));
        }
    }
    Ok(files)
}

/// `[[recipients]]`: each checked, names unique.
fn recipients(given: Vec<RecipientFile>, env: &dyn Fn(&str) -> Option<String>) -> Result<Vec<Recipient>, ConfigError> {
    let mut recipients: Vec<Recipient> = Vec::new();
    for r in given {
        let recipient = recipient(r, env)?;
        let name = &recipient.name;
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(bad(format!(
                "recipient name {name:?} may hold only letters, digits, - and _"
            )));
        }
        if recipients.iter().any(|r| &r.name == name) {
            return Err(bad(format!("recipient name {name:?} is used twice")));
        }
        recipients.push(recipient);
    }
    Ok(recipients)
}

fn recipient(r: RecipientFile, env: &dyn Fn(&str) -> Option<String>) -> Result<Recipient, ConfigError> {
    Ok(match r {
        RecipientFile::Webhook {
            name,
            url,
            secret: direct,
            secret_env,
            files: given,
        } => {
            check_webhook_url(&url).map_err(|m| bad(format!("recipient {name}: {m}")))?;
            let all_files: Vec<&str> = crate::report::FILES.iter().map(|(n, _)| *n).collect();
            Recipient {
                channel: Channel::Webhook {
                    url,
                    secret: secret(direct, secret_env, &format!("recipient {name}"), env)?,
                },
                files: report_files(given, &all_files, &name)?,
                name,
            }
        }
        RecipientFile::Email { name, to, files: given } => {
            if to.is_empty() {
                return Err(bad(format!("recipient {name}: give at least one address in `to`")));
            }
            for a in &to {
                a.parse::<lettre::message::Mailbox>()
                    .map_err(|e| bad(format!("recipient {name}: address {a:?}: {e}")))?;
            }
            Recipient {
                channel: Channel::Email { to },
                files: report_files(given, &["report.pdf", "report.xlsx"], &name)?,
                name,
            }
        }
    })
}

/// `[smtp]`: the mail server, its security and credentials.
fn smtp(s: SmtpFile, env: &dyn Fn(&str) -> Option<String>) -> Result<Smtp, ConfigError> {
    let security = match s.security.as_deref().unwrap_or("starttls") {
        "starttls" => SmtpSecurity::StartTls,
        "tls" => SmtpSecurity::Tls,
        "none" => SmtpSecurity::None,
        other => return Err(bad(format!("smtp security {other:?} must be starttls, tls or none"))),
    };
    s.from
        .parse::<lettre::message::Mailbox>()
        .map_err(|e| bad(format!("smtp from {:?}: {e}", s.from)))?;
    let credentials = match s.username {
        None => None,
        Some(user) => Some((user, secret(s.password, s.password_env, "smtp password", env)?)),
    };
    Ok(Smtp {
        port: s.port.unwrap_or(match security {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        }),
        host: s.host,
        security,
        credentials,
        from: s.from,
    })
}

/// `[delivery] max_in_flight`, or `ECOMSHARE_DELIVERY_MAX_IN_FLIGHT`: the
/// most attempts under way at once (at least 1).
fn max_in_flight(d: &DeliveryFile, env: &dyn Fn(&str) -> Option<String>) -> Result<usize, ConfigError> {
    const VAR: &str = "ECOMSHARE_DELIVERY_MAX_IN_FLIGHT";
    let n = match env(VAR).filter(|v| !v.trim().is_empty()) {
        Some(v) => Some(
            v.trim()
                .parse::<usize>()
                .map_err(|_| bad(format!("{VAR} {v:?} must be a whole number of at least 1")))?,
        ),
        None => d.max_in_flight,
    };
    match n {
        Some(0) => Err(bad("delivery max_in_flight must be at least 1".into())),
        Some(n) => Ok(n),
        None => Ok(crate::delivery::DEFAULT_MAX_IN_FLIGHT),
    }
}

/// `[delivery]`: backoff, attempts and timeout of each delivery.
fn retry(d: DeliveryFile) -> Result<RetryPolicy, ConfigError> {
    let seconds = |v: Option<f64>, default: std::time::Duration, what: &str| match v {
        None => Ok(default),
        Some(s) if s.is_finite() && s > 0.0 => Ok(std::time::Duration::from_secs_f64(s)),
        Some(s) => Err(bad(format!("delivery {what} {s} must be a positive number of seconds"))),
    };
    let defaults = RetryPolicy::default();
    Ok(RetryPolicy {
        initial_backoff: seconds(d.initial_backoff_s, defaults.initial_backoff, "initial_backoff_s")?,
        max_backoff: seconds(d.max_backoff_s, defaults.max_backoff, "max_backoff_s")?,
        max_attempts: match d.max_attempts {
            Some(0) => return Err(bad("delivery max_attempts must be at least 1".into())),
            Some(n) => n,
            None => defaults.max_attempts,
        },
        timeout: seconds(d.timeout_s, defaults.timeout, "timeout_s")?,
    })
}

/// Webhooks go over HTTPS; plain HTTP only to this machine (a local relay,
/// or a test receiver).
fn check_webhook_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("url {url:?}: {e}"))?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" => {
            let host = parsed
                .host_str()
                .unwrap_or("")
                .trim_start_matches('[')
                .trim_end_matches(']');
            let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|a| a.is_loopback());
            if loopback {
                Ok(())
            } else {
                Err(format!(
                    "url {url:?} must use https (plain http only to a loopback address)"
                ))
            }
        }
        other => Err(format!("url {url:?}: scheme {other:?} is not https")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_over_file_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ecomshare.toml");
        std::fs::write(
            &path,
            "data = \"/srv/ecomshare\"\naddr = \"0.0.0.0:9000\"\ndemo = false\nsql_row_cap = 500\n",
        )
        .unwrap();
        let c = resolve(Some(&path), Overrides::default()).unwrap();
        assert_eq!(c.data, PathBuf::from("/srv/ecomshare"));
        assert!(!c.demo);
        assert_eq!(c.sql_row_cap, 500);
        assert_eq!(c.query_timeout_s, DEFAULT_QUERY_TIMEOUT_S);
        let c = resolve(
            Some(&path),
            Overrides {
                addr: Some("127.0.0.1:1".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(c.addr, "127.0.0.1:1");
        let c = resolve(None, Overrides::default()).unwrap();
        assert_eq!(c.poll_interval_s, 2);
        assert_eq!(
            (c.data.to_str().unwrap(), c.addr.as_str(), c.demo),
            (DEFAULT_DATA, DEFAULT_ADDR, true)
        );
        assert_eq!((c.metrics_addr, c.server.shutdown_grace_s), (None, None));
    }

    #[test]
    fn target_programs_from_the_file_or_the_flag_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ecomshare.toml");
        std::fs::write(&path, "[targets]\nprograms = [\"1568/QĐ-BCT\", \"134/KH-UBND\"]\n").unwrap();
        let c = resolve(Some(&path), Overrides::default()).unwrap();
        assert_eq!(c.target_programs, ["1568/QĐ-BCT", "134/KH-UBND"]);
        let c = resolve(
            Some(&path),
            Overrides {
                target_programs: Some(program_list(" 2326/QĐ-TTg ,, legacy")),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(c.target_programs, ["2326/QĐ-TTg", "legacy"]);
        assert!(resolve(None, Overrides::default()).unwrap().target_programs.is_empty());
        std::fs::write(&path, "[targets]\nprograms = [\"A\", \"A\"]\n").unwrap();
        assert!(resolve(Some(&path), Overrides::default()).is_err());
        std::fs::write(&path, "[targets]\nprogram = [\"A\"]\n").unwrap();
        assert!(resolve(Some(&path), Overrides::default()).is_err(), "unknown key");
    }

    #[test]
    fn release_from_the_flag_over_the_file_over_the_defaults_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        let defaults = resolve(None, Overrides::default()).unwrap().release;
        assert_eq!((defaults.deadline_day(), defaults.final_after_months()), (20, 3));
        std::fs::write(&path, "[release]\ndeadline_day = 15\nfinal_after_months = 6\n").unwrap();
        let c = resolve(Some(&path), Overrides::default()).unwrap().release;
        assert_eq!((c.deadline_day(), c.final_after_months()), (15, 6));
        let flags = Overrides {
            release_deadline_day: Some(25),
            ..Overrides::default()
        };
        let c = resolve(Some(&path), flags).unwrap().release;
        assert_eq!((c.deadline_day(), c.final_after_months()), (25, 6));
        for bad in [
            "[release]\ndeadline_day = 29\n",
            "[release]\ndeadline_day = 0\n",
            "[release]\nfinal_after_months = 0\n",
            "[release]\ndeadline = 20\n",
        ] {
            std::fs::write(&path, bad).unwrap();
            assert!(resolve(Some(&path), Overrides::default()).is_err(), "{bad}");
        }
        let err = resolve(
            None,
            Overrides {
                release_final_after_months: Some(0),
                ..Overrides::default()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("final_after_months"), "{err}");
    }

    #[test]
    fn the_ops_listener_and_the_grace_layer_like_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ecomshare.toml");
        std::fs::write(
            &path,
            "metrics_addr = \"9090\"\nshutdown_grace_s = 5\npoll_interval_s = 7\n",
        )
        .unwrap();
        let c = resolve(Some(&path), Overrides::default()).unwrap();
        assert_eq!(
            c.metrics_addr.as_deref(),
            Some("127.0.0.1:9090"),
            "a bare port is loopback"
        );
        assert_eq!(c.server.shutdown_grace_s, Some(5));
        assert_eq!(c.poll_interval_s, 7);
        let c = resolve(
            Some(&path),
            Overrides {
                metrics_addr: Some("0.0.0.0:9100".into()),
                shutdown_grace_s: Some(0),
                poll_interval_s: Some(0),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(c.metrics_addr.as_deref(), Some("0.0.0.0:9100"));
        assert_eq!(c.poll_interval_s, 0, "the flag over the file: only when asked");
        assert_eq!(c.server.shutdown_grace_s, Some(0), "0: cut at once");
        let c = resolve(
            None,
            Overrides {
                metrics_addr: Some(String::new()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(c.metrics_addr, None, "an empty value is none");
    }

    fn reports_of(text: &str, env: &[(&str, &str)]) -> Result<Reports, String> {
        let mut file: FileConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        reports(&mut file, &|name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn a_schedule_with_recipients_resolves_with_its_defaults() {
        let r = reports_of(
            r#"
[schedule]
[[recipients]]
kind = "webhook"
name = "moit"
url = "https://example.gov.vn/hook"
secret_env = "HOOK"
[[recipients]]
kind = "email"
name = "mst"
to = ["Vụ Kế hoạch <kh@example.gov.vn>"]
[smtp]
host = "smtp.example.gov.vn"
from = "ecomshare@example.gov.vn"
"#,
            &[("HOOK", "k3y")],
        )
        .unwrap();
        let s = r.schedule.unwrap();
        assert_eq!(
            (s.day, s.time.to_string().as_str(), s.zone.name()),
            (5, "08:00:00", "Asia/Ho_Chi_Minh")
        );
        assert_eq!(r.language, Lang::Vi);
        assert_eq!(r.delivery.recipients[0].files.len(), 4);
        assert_eq!(r.delivery.recipients[1].files, ["report.pdf", "report.xlsx"]);
        assert!(
            matches!(&r.delivery.recipients[0].channel, Channel::Webhook { secret, .. } if secret.expose() == Ok("k3y"))
        );
        assert!(r.require_secrets().is_ok());
        assert_eq!(r.delivery.retry, RetryPolicy::default());
        assert_eq!(r.delivery.max_in_flight, crate::delivery::DEFAULT_MAX_IN_FLIGHT);
        let smtp = r.delivery.smtp.unwrap();
        assert_eq!((smtp.port, smtp.security), (587, SmtpSecurity::StartTls));
    }

    #[test]
    fn an_unset_secret_is_refused_only_by_the_command_that_delivers() {
        let text = "[[recipients]]\nkind = \"webhook\"\nname = \"m\"\nurl = \"https://a.vn/h\"\nsecret_env = \"NOPE\"\n\
                    [[recipients]]\nkind = \"email\"\nname = \"e\"\nto = [\"a@b.vn\"]\n\
                    [smtp]\nhost = \"h\"\nfrom = \"a@b.vn\"\nusername = \"u\"\npassword_env = \"PW\"\n";
        let listed = reports_of(text, &[]).expect("listing needs no secret");
        let err = listed.require_secrets().unwrap_err().to_string();
        assert!(
            err.contains("recipient m: the environment variable NOPE is not set"),
            "{err}"
        );
        let err = reports_of(text, &[("NOPE", "k")])
            .unwrap()
            .require_secrets()
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("smtp password: the environment variable PW is not set"),
            "{err}"
        );
        assert!(
            reports_of(text, &[("NOPE", "k"), ("PW", "p")])
                .unwrap()
                .require_secrets()
                .is_ok()
        );
    }

    #[test]
    fn attempts_in_flight_come_from_the_environment_or_the_file() {
        let of = |text: &str, env: &[(&str, &str)]| reports_of(text, env).map(|r| r.delivery.max_in_flight);
        assert_eq!(of("[delivery]\nmax_in_flight = 9\n", &[]), Ok(9));
        assert_eq!(
            of(
                "[delivery]\nmax_in_flight = 9\n",
                &[("ECOMSHARE_DELIVERY_MAX_IN_FLIGHT", "2")]
            ),
            Ok(2)
        );
        assert_eq!(of("", &[]), Ok(crate::delivery::DEFAULT_MAX_IN_FLIGHT));
        for (text, env) in [
            ("[delivery]\nmax_in_flight = 0\n", vec![]),
            ("", vec![("ECOMSHARE_DELIVERY_MAX_IN_FLIGHT", "0")]),
            ("", vec![("ECOMSHARE_DELIVERY_MAX_IN_FLIGHT", "many")]),
        ] {
            assert!(of(text, &env).unwrap_err().contains("at least 1"), "{text} {env:?}");
        }
    }

    #[test]
    fn unsafe_or_incomplete_delivery_settings_are_refused() {
        let hook = |url: &str, secret: &str| {
            format!("[[recipients]]\nkind = \"webhook\"\nname = \"m\"\nurl = \"{url}\"\n{secret}\n")
        };
        for (text, env, says) in [
            (
                hook("http://example.gov.vn/h", "secret = \"k\""),
                vec![],
                "must use https",
            ),
            (hook("ftp://127.0.0.1/h", "secret = \"k\""), vec![], "not https"),
            (hook("https://example.gov.vn/h", ""), vec![], "exactly one"),
            (
                "[[recipients]]\nkind = \"email\"\nname = \"m\"\nto = [\"a@b.vn\"]\n".to_string(),
                vec![],
                "needs an [smtp] section",
            ),
            (
                "[[recipients]]\nkind = \"email\"\nname = \"m\"\nto = [\"not an address\"]\n".to_string(),
                vec![],
                "address",
            ),
            (
                format!(
                    "{}{}",
                    hook("https://a.vn/h", "secret = \"k\""),
                    hook("https://b.vn/h", "secret = \"k\"")
                ),
                vec![],
                "used twice",
            ),
            ("[schedule]\nday = 30\n".to_string(), vec![], "between 1 and 28"),
            ("[delivery]\nmax_attempts = 0\n".to_string(), vec![], "at least 1"),
        ] {
            let err = reports_of(&text, &env).unwrap_err();
            assert!(err.contains(says), "{text}: {err}");
        }
        // Plain HTTP to this machine is allowed (a local relay, a test receiver).
        assert!(reports_of(&hook("http://127.0.0.1:9/h", "secret = \"k\""), &[]).is_ok());
        assert!(reports_of(&hook("http://[::1]:9/h", "secret = \"k\""), &[]).is_ok());
    }

    #[test]
    fn the_log_format_comes_from_the_flag_or_the_file_and_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "log_format = \"json\"\n").unwrap();
        assert_eq!(file_log_format(&path), Some(LogFormat::Json));
        assert_eq!(
            resolve(Some(&path), Overrides::default()).unwrap().log_format,
            LogFormat::Json
        );
        let text = Overrides {
            log_format: Some(LogFormat::Text),
            ..Overrides::default()
        };
        assert_eq!(resolve(Some(&path), text).unwrap().log_format, LogFormat::Text);
        assert_eq!(resolve(None, Overrides::default()).unwrap().log_format, LogFormat::Text);
        std::fs::write(&path, "log_format = \"xml\"\n").unwrap();
        assert_eq!(file_log_format(&path), None);
        let err = resolve(Some(&path), Overrides::default()).unwrap_err().to_string();
        assert!(err.contains("text or json"), "{err}");
    }

    #[test]
    fn unknown_keys_are_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "dta = \"x\"\n").unwrap();
        assert!(resolve(Some(&path), Overrides::default()).is_err());
    }
}
