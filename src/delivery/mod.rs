//! Delivery of archived reports to their recipients — HTTPS webhooks
//! (`webhook.rs`) and e-mail over SMTP (`email.rs`) — through a persistent
//! outbox under `DATA/outbox/`, one JSON file per delivery; and the
//! schedule that generates each month's report and queues its deliveries
//! (`scheduler.rs`).
//!
//! The outbox is the only record of what was sent. Each attempt is written
//! down *before* it is made, so a crash mid-attempt is seen at the next
//! start as an interrupted attempt and retried with the same idempotency
//! key; a delivered record is never attempted again. Retries back off
//! exponentially. Recipients go side by side, one attempt each at a time
//! and `max_in_flight` in all, so a receiver that hangs delays no other.
//! Deliveries read the report's immutable bundle
//! (`DATA/reports/.bundles/NAME/`), so every attempt sends the same bytes
//! even if the month's report is regenerated meanwhile.
//!
//! Knows nothing of the engine, the dashboard or HTTP serving; the clock is
//! injected (a webhook's signature alone reads the wall clock).

pub mod email;
pub mod scheduler;
pub mod webhook;

use crate::util::clock::Clock;
use crate::util::durable;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// A secret from the configuration; never printed. One named by an
/// environment variable that was not set is kept as that name: the
/// commands that only read the outbox need no secret, and `serve` refuses
/// to start without it (`cli::config::require_secrets`).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Result<String, String>);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(Ok(s.into()))
    }

    /// The secret the environment variable `var` should have held.
    pub fn unset(var: impl Into<String>) -> Self {
        Self(Err(var.into()))
    }

    /// The secret, or the name of the environment variable that was not set.
    pub fn expose(&self) -> Result<&str, &str> {
        self.0.as_deref().map_err(String::as_str)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Ok(_) => f.write_str("Secret(***)"),
            Err(var) => write!(f, "Secret(unset: {var})"),
        }
    }
}

/// A recipient named in the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipient {
    /// Letters, digits, `-` and `_`; part of each delivery's id.
    pub name: String,
    pub channel: Channel,
    /// The bundle's files sent (names from `report::FILES`).
    pub files: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Channel {
    Webhook { url: String, secret: Secret },
    Email { to: Vec<String> },
}

impl Channel {
    pub fn kind(&self) -> Kind {
        match self {
            Self::Webhook { .. } => Kind::Webhook,
            Self::Email { .. } => Kind::Email,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain SMTP (a relay on the same host or network only).
    None,
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub credentials: Option<(String, Secret)>,
    pub from: String,
}

/// How long to wait between attempts, and when to give up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub max_attempts: u32,
    /// Longest one attempt may take.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_secs(60),
            max_backoff: Duration::from_secs(6 * 3600),
            max_attempts: 12,
            timeout: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait after the `attempts`-th failed attempt: the initial backoff,
    /// doubled after each further failure, at most the maximum.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1));
        self.initial_backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// Everything the outbox needs from the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryOptions {
    pub recipients: Vec<Recipient>,
    pub smtp: Option<Smtp>,
    pub retry: RetryPolicy,
    /// Most attempts under way at once (at least 1); one recipient has at
    /// most one.
    pub max_in_flight: usize,
}

/// Attempts under way at once by default.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 4;

impl Default for DeliveryOptions {
    fn default() -> Self {
        Self {
            recipients: Vec::new(),
            smtp: None,
            retry: RetryPolicy::default(),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Webhook,
    Email,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Waiting for its next attempt.
    Pending,
    /// An attempt is under way (or was, when the process stopped).
    Sending,
    Delivered,
    /// Given up: a permanent refusal or too many attempts. `ecomshare
    /// deliveries --retry ID`, or the administrators' reports page, queues
    /// it again.
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Delivered,
    /// Failed; tried again later.
    Retry,
    /// Failed for good.
    Failed,
    /// The process stopped during the attempt; tried again with the same
    /// idempotency key.
    Interrupted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub number: u32,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub outcome: Option<Outcome>,
    /// The HTTP status (webhooks) or SMTP reply code (e-mail), if one came.
    pub status: Option<u16>,
    pub detail: Option<String>,
}

/// What became of one address of an e-mail delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AddressState {
    /// Not taken yet: asked for at the delivery's next attempt.
    Pending,
    /// The mail server took the message for it; never sent to it again.
    Delivered,
    /// Refused for good (or out of attempts); a retry of the delivery asks
    /// for it again.
    Failed,
}

/// One address of an e-mail delivery, with the mail server's last reply
/// about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Address {
    /// The bare address (`name@domain`).
    pub address: String,
    pub state: AddressState,
    /// The last SMTP reply code for it (to `RCPT TO`, or at the message's end).
    pub code: Option<u16>,
    /// That reply's text, or what went wrong before a reply came.
    pub message: Option<String>,
}

/// One report to one recipient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// `MONTH-LANG-vVERSION-RECIPIENT`; also the idempotency key.
    pub id: String,
    pub idempotency_key: String,
    pub recipient: String,
    pub kind: Kind,
    /// The report carried (its fields inline in the record).
    #[serde(flatten)]
    pub report: ReportRef,
    pub files: Vec<String>,
    /// E-mail: each address and what became of it (empty for a webhook; a
    /// record written before addresses were kept takes the recipient's at
    /// its next attempt).
    #[serde(default)]
    pub addresses: Vec<Address>,
    pub state: State,
    pub created_at: String,
    pub next_attempt_at: Option<String>,
    pub delivered_at: Option<String>,
    pub attempts: Vec<Attempt>,
}

/// The report a delivery carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportRef {
    pub month: String,
    pub language: String,
    pub dataset_version: u64,
    pub dataset_committed_at: String,
    pub content_sha256: String,
    /// The report bundle's directory under `DATA/reports/.bundles/`.
    pub bundle: String,
}

impl Delivery {
    pub fn new(report: &ReportRef, recipient: &Recipient, now: DateTime<Utc>) -> Self {
        let id = format!(
            "{}-{}-v{}-{}",
            report.month, report.language, report.dataset_version, recipient.name
        );
        Self {
            idempotency_key: format!("ecomshare-{id}"),
            id,
            recipient: recipient.name.clone(),
            kind: recipient.channel.kind(),
            report: report.clone(),
            files: recipient.files.clone(),
            addresses: match &recipient.channel {
                Channel::Email { to } => addresses(to),
                Channel::Webhook { .. } => Vec::new(),
            },
            state: State::Pending,
            created_at: stamp(now),
            next_attempt_at: Some(stamp(now)),
            delivered_at: None,
            attempts: Vec::new(),
        }
    }

    fn due(&self, now: DateTime<Utc>) -> bool {
        self.state == State::Pending && self.next_at().is_none_or(|t| t <= now)
    }

    fn next_at(&self) -> Option<DateTime<Utc>> {
        self.next_attempt_at
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    }
}

/// A recipient's configured addresses, bare, each once, all pending.
fn addresses(to: &[String]) -> Vec<Address> {
    let mut out: Vec<Address> = Vec::new();
    for a in to.iter().map(|a| email::bare_address(a)) {
        if !out.iter().any(|o| o.address == a) {
            out.push(Address {
                address: a,
                state: AddressState::Pending,
                code: None,
                message: None,
            });
        }
    }
    out
}

pub fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[derive(Debug, Error)]
pub enum DeliveryError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a delivery record: {message}")]
    Corrupt { path: String, message: String },
    #[error("no delivery {0:?} in the outbox")]
    Unknown(String),
    #[error("delivery {id:?} is {state:?}; only a failed delivery can be retried")]
    NotFailed { id: String, state: State },
}

impl DeliveryError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "io_error",
            Self::Corrupt { .. } => "outbox_corrupt",
            Self::Unknown(_) => "unknown_delivery",
            Self::NotFailed { .. } => "delivery_not_failed",
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DeliveryError + '_ {
    move |source| DeliveryError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq)]
pub enum SendError {
    /// Worth trying again (a timeout, a network error, a 5xx, a 429).
    Retry {
        status: Option<u16>,
        detail: String,
        /// The receiver's `Retry-After`, if it gave one.
        retry_after: Option<Duration>,
    },
    /// The receiver refused for good (a 4xx, an SMTP 5xx, a bad address).
    Permanent { status: Option<u16>, detail: String },
}

/// The outbox directory: `DATA/outbox/ID.json`.
#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
}

impl Outbox {
    pub fn new(data: &Path) -> Self {
        Self {
            dir: data.join("outbox"),
        }
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Adds a delivery unless one with its id is already there (whatever
    /// its state); `true` if added.
    pub fn enqueue(&self, d: &Delivery) -> Result<bool, DeliveryError> {
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let path = self.path(&d.id);
        durable::create_atomic(&path, &to_bytes(d)).map_err(io(&path))
    }

    fn save(&self, d: &Delivery) -> Result<(), DeliveryError> {
        let path = self.path(&d.id);
        durable::write_atomic(&path, &to_bytes(d)).map_err(io(&path))
    }

    /// The delivery of `id`; `None` for an id that is no delivery's
    /// (one naming anything but a record of this directory included).
    pub fn get(&self, id: &str) -> Result<Option<Delivery>, DeliveryError> {
        if !is_record_id(id) {
            return Ok(None);
        }
        let path = self.path(id);
        match std::fs::read(&path) {
            Ok(bytes) => parse(&path, &bytes).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// Every delivery, oldest first.
    pub fn list(&self) -> Result<Vec<Delivery>, DeliveryError> {
        self.unsettled(&mut Settled::new())
    }

    /// Sets the gauges of deliveries by state (at a metrics scrape).
    pub fn observe_states(&self) -> Result<(), DeliveryError> {
        let list = self.list()?;
        for (state, name) in [
            (State::Pending, "pending"),
            (State::Sending, "sending"),
            (State::Delivered, "delivered"),
            (State::Failed, "failed"),
        ] {
            let n = list.iter().filter(|d| d.state == state).count();
            metrics::gauge!("ecomshare_outbox_deliveries", "state" => name).set(n as f64);
        }
        Ok(())
    }

    /// The record files, by path.
    fn paths(&self) -> Result<Vec<PathBuf>, DeliveryError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&self.dir)(e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let path = entry.map_err(io(&self.dir))?.path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !name.starts_with('.') && name.ends_with(".json") {
                out.push(path);
            }
        }
        Ok(out)
    }

    /// The deliveries, oldest first, except those `settled` already knows
    /// to be delivered or failed (unchanged since); records it reads in a
    /// final state are added to it. With an empty `settled`, every one.
    fn unsettled(&self, settled: &mut Settled) -> Result<Vec<Delivery>, DeliveryError> {
        let mut out = Vec::new();
        for path in self.paths()? {
            let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
            if modified.is_some() && settled.get(&path) == modified.as_ref() {
                continue;
            }
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            let d = parse(&path, &bytes)?;
            if let (Some(m), State::Delivered | State::Failed) = (modified, d.state) {
                settled.insert(path, m);
            }
            out.push(d);
        }
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// At start: attempts left under way by a process that stopped are
    /// marked interrupted and their deliveries are due again now.
    pub fn recover(&self, now: DateTime<Utc>) -> Result<usize, DeliveryError> {
        let mut n = 0;
        for mut d in self.list()? {
            if d.state != State::Sending {
                continue;
            }
            if let Some(a) = d.attempts.last_mut().filter(|a| a.outcome.is_none()) {
                a.outcome = Some(Outcome::Interrupted);
                a.finished_at = Some(stamp(now));
                a.detail = Some("the process stopped during the attempt".into());
            }
            d.state = State::Pending;
            d.next_attempt_at = Some(stamp(now));
            self.save(&d)?;
            n += 1;
        }
        Ok(n)
    }

    /// Queues a failed delivery again, due now, with its attempts and its
    /// idempotency key kept; written atomically like every record. Retries
    /// are serialised by a lock of their own, so two at once queue it once
    /// (the second finds it no longer failed); the worker never writes a
    /// failed record, so it cannot overwrite one being retried.
    pub fn retry(&self, id: &str, now: DateTime<Utc>) -> Result<Delivery, DeliveryError> {
        if !is_record_id(id) {
            return Err(DeliveryError::Unknown(id.to_string()));
        }
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let lock_path = self.dir.join(".retry.lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        lock.lock().map_err(io(&lock_path))?;
        let mut d = self.get(id)?.ok_or_else(|| DeliveryError::Unknown(id.to_string()))?;
        if d.state != State::Failed {
            return Err(DeliveryError::NotFailed {
                id: id.to_string(),
                state: d.state,
            });
        }
        d.state = State::Pending;
        d.next_attempt_at = Some(stamp(now));
        // Only the addresses that failed are asked for again.
        for a in d.addresses.iter_mut().filter(|a| a.state == AddressState::Failed) {
            a.state = AddressState::Pending;
        }
        self.save(&d)?;
        Ok(d)
    }

    /// The lock held by the one process that makes attempts; `None` if
    /// another process holds it.
    pub fn try_lock(&self) -> Result<Option<std::fs::File>, DeliveryError> {
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let path = self.dir.join(".lock");
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io(&path))?;
        match f.try_lock() {
            Ok(()) => Ok(Some(f)),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(io(&path)(e)),
        }
    }
}

/// Whether `id` can name a record: letters, digits, `-`, `_` and `.`,
/// not starting with a dot (so never a path out of the outbox).
fn is_record_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 255
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn to_bytes(d: &Delivery) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(d).expect("a delivery serializes");
    v.push(b'\n');
    v
}

fn parse(path: &Path, bytes: &[u8]) -> Result<Delivery, DeliveryError> {
    serde_json::from_slice(bytes).map_err(|e| DeliveryError::Corrupt {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// A file of a report bundle, read for sending.
pub struct BundleFile {
    pub name: String,
    pub media_type: &'static str,
    pub bytes: Vec<u8>,
}

/// Records known to be final, with their modification time: the worker's
/// scans skip them until they change (a retry rewrites one).
type Settled = std::collections::HashMap<PathBuf, std::time::SystemTime>;

/// Makes the attempts: reads the outbox, sends what is due, writes down
/// each attempt and its outcome. Recipients go independently: each has at
/// most one attempt under way, and at most `max_in_flight` attempts are
/// under way at once, so a receiver that hangs holds up only its own
/// deliveries (each attempt until its timeout) and one place.
pub struct Worker {
    pub outbox: Outbox,
    settled: std::sync::Mutex<Settled>,
    /// `DATA/reports`.
    pub reports: PathBuf,
    pub options: Arc<DeliveryOptions>,
    pub clock: Arc<dyn Clock>,
    client: reqwest::Client,
}

/// The attempts under way in [`Worker::run`], each task with its recipient.
type Flying = (
    tokio::task::JoinSet<Result<(), DeliveryError>>,
    std::collections::HashMap<tokio::task::Id, String>,
);

impl Worker {
    /// A worker, shared by the attempts it starts.
    pub fn new(data: &Path, options: Arc<DeliveryOptions>, clock: Arc<dyn Clock>) -> Arc<Self> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(options.retry.timeout)
            .user_agent(concat!("ecomshare/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("an HTTP client with the bundled TLS roots");
        Arc::new(Self {
            outbox: Outbox::new(data),
            settled: Default::default(),
            reports: data.join("reports"),
            options,
            clock,
            client,
        })
    }

    fn max_in_flight(&self) -> usize {
        self.options.max_in_flight.max(1)
    }

    /// The deliveries due at `now`, oldest first.
    fn due_now(&self, now: DateTime<Utc>) -> Result<Vec<Delivery>, DeliveryError> {
        // Every second: only the records not yet known to be final are read.
        let unsettled = self.outbox.unsettled(&mut self.settled.lock().expect("settled lock"))?;
        Ok(unsettled.into_iter().filter(|d| d.due(now)).collect())
    }

    /// Attempts every delivery that is due now and waits for them all, by
    /// the rule [`Worker::run`] keeps (each recipient's one after the other,
    /// oldest first, at most `max_in_flight` at once); a delivery that comes
    /// due again meanwhile is attempted too. Returns how many attempts were
    /// made, or the first attempt's error once all have ended.
    pub async fn run_due(self: &Arc<Self>) -> Result<usize, DeliveryError> {
        let mut flying: Flying = Default::default();
        let (mut made, mut first_error) = (0, None);
        loop {
            // Those under way end before an error returns (a dropped task
            // would leave its attempt half-recorded until the next start).
            match self.start_due(&mut flying) {
                Ok(n) => made += n,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
            let Some(done) = flying.0.join_next_with_id().await else {
                break;
            };
            if let Err(e) = landed(&mut flying.1, done) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(made), Err)
    }

    /// Runs until `stop` is asked: recovers interrupted attempts, then
    /// checks the outbox every second (and whenever an attempt ends) and
    /// starts an attempt for each due delivery whose recipient has none
    /// under way, while fewer than `max_in_flight` are. Once `stop` is asked no attempt begins; those
    /// under way end (each within its timeout) before it returns.
    pub async fn run(self: Arc<Self>, mut stop: crate::util::stop::Stop) {
        match self.outbox.recover(self.clock.now()) {
            Ok(0) => {}
            Ok(n) => tracing::warn!(deliveries = n, "attempts interrupted by a stop will be made again"),
            Err(e) => tracing::error!(code = e.code(), error = %e, "recovering the outbox failed"),
        }
        let mut flying: Flying = Default::default();
        loop {
            while let Some(done) = flying.0.try_join_next_with_id() {
                log_failure(landed(&mut flying.1, done));
            }
            if let Err(e) = self.start_due(&mut flying) {
                tracing::error!(code = e.code(), error = %e, "delivering reports failed");
            }
            // The next look a second on, or as soon as an attempt ends (its
            // place may go to a delivery waiting for one).
            let (tasks, busy) = &mut flying;
            tokio::select! {
                stopped = stop.sleep(Duration::from_secs(1)) => if stopped {
                    break;
                },
                Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => log_failure(landed(busy, done)),
            }
        }
        while let Some(done) = flying.0.join_next_with_id().await {
            log_failure(landed(&mut flying.1, done));
        }
    }

    /// Starts the attempts that are due and have a place (see
    /// [`Worker::run`]); returns how many it started.
    fn start_due(self: &Arc<Self>, (tasks, busy): &mut Flying) -> Result<usize, DeliveryError> {
        let mut started = 0;
        for d in self.due_now(self.clock.now())? {
            if busy.len() >= self.max_in_flight() {
                break;
            }
            if busy.values().any(|r| *r == d.recipient) {
                continue;
            }
            let recipient = d.recipient.clone();
            let this = self.clone();
            let task = tasks.spawn(async move { this.attempt(d).await });
            busy.insert(task.id(), recipient);
            started += 1;
        }
        Ok(started)
    }

    async fn attempt(&self, mut d: Delivery) -> Result<(), DeliveryError> {
        let number = d.attempts.len() as u32 + 1;
        if d.kind == Kind::Email
            && d.addresses.is_empty()
            && let Some(Channel::Email { to }) = self.recipient(&d).map(|r| &r.channel)
        {
            // A record written before addresses were kept: the recipient's.
            d.addresses = addresses(to);
        }
        d.state = State::Sending;
        d.next_attempt_at = None;
        d.attempts.push(Attempt {
            number,
            started_at: stamp(self.clock.now()),
            finished_at: None,
            outcome: None,
            status: None,
            detail: None,
        });
        // Written down before the attempt: a stop during it is seen at the next start.
        self.outbox.save(&d)?;
        let result = self.send(&mut d, number).await;
        let now = self.clock.now();
        let retried = matches!(&result, Err(SendError::Retry { .. })) && number < self.options.retry.max_attempts;
        let outcome = match &result {
            Ok(_) => "delivered",
            Err(_) if retried => "retry",
            Err(_) => "failed",
        };
        let channel = match d.kind {
            Kind::Webhook => "webhook",
            Kind::Email => "email",
        };
        metrics::counter!("ecomshare_delivery_attempts_total", "channel" => channel, "outcome" => outcome).increment(1);
        let attempt = d.attempts.last_mut().expect("the attempt just added");
        attempt.finished_at = Some(stamp(now));
        match result {
            Ok(status) => {
                attempt.outcome = Some(Outcome::Delivered);
                attempt.status = status;
                d.state = State::Delivered;
                d.delivered_at = Some(stamp(now));
                tracing::info!(delivery = %d.id, attempt = number, "report delivered");
            }
            Err(SendError::Retry {
                status,
                detail,
                retry_after,
            }) if number < self.options.retry.max_attempts => {
                let wait = self.options.retry.backoff(number).max(retry_after.unwrap_or_default());
                attempt.outcome = Some(Outcome::Retry);
                attempt.status = status;
                attempt.detail = Some(detail.clone());
                d.state = State::Pending;
                d.next_attempt_at = Some(stamp(now + chrono::Duration::from_std(wait).unwrap_or_default()));
                tracing::warn!(delivery = %d.id, attempt = number, wait_s = wait.as_secs_f64(), detail, "delivery failed; will retry");
            }
            Err(SendError::Retry { status, detail, .. }) | Err(SendError::Permanent { status, detail }) => {
                attempt.outcome = Some(Outcome::Failed);
                attempt.status = status;
                attempt.detail = Some(detail.clone());
                d.state = State::Failed;
                // Out of attempts: the addresses not taken yet fail with it.
                for a in d.addresses.iter_mut().filter(|a| a.state == AddressState::Pending) {
                    a.state = AddressState::Failed;
                }
                tracing::error!(delivery = %d.id, attempt = number, detail, "delivery failed for good");
            }
        }
        self.outbox.save(&d)
    }

    fn recipient(&self, d: &Delivery) -> Option<&Recipient> {
        self.options.recipients.iter().find(|r| r.name == d.recipient)
    }

    /// One attempt; `Ok` with the receiver's status code when delivered.
    /// An e-mail's addresses are asked for when still pending, and each
    /// reply is written down beside its address.
    async fn send(&self, d: &mut Delivery, attempt: u32) -> Result<Option<u16>, SendError> {
        let Some(recipient) = self.recipient(d) else {
            return Err(SendError::Permanent {
                status: None,
                detail: format!("recipient {:?} is no longer in the configuration", d.recipient),
            });
        };
        let files = self
            .read_bundle(d)
            .map_err(|detail| SendError::Permanent { status: None, detail })?;
        match &recipient.channel {
            Channel::Webhook { url, secret } => {
                // The receiver checks the signature's time against its own
                // clock: the wall clock's, even in a rehearsal.
                let signed_at = crate::util::clock::SystemClock.now();
                webhook::send(&self.client, url, secret, d, &files, attempt, signed_at).await
            }
            Channel::Email { to } => {
                let Some(smtp) = &self.options.smtp else {
                    return Err(SendError::Permanent {
                        status: None,
                        detail: "no [smtp] section in the configuration".into(),
                    });
                };
                let report: serde_json::Value =
                    std::fs::read(self.reports.join(".bundles").join(&d.report.bundle).join("report.json"))
                        .ok()
                        .and_then(|b| serde_json::from_slice(&b).ok())
                        .unwrap_or_default();
                let lang =
                    crate::present::locale::Lang::parse(&d.report.language).unwrap_or(crate::present::locale::Lang::Vi);
                let headline = email::headline(&report, lang);
                let asked: Vec<String> = d
                    .addresses
                    .iter()
                    .filter(|a| a.state == AddressState::Pending)
                    .map(|a| a.address.clone())
                    .collect();
                let replies = if asked.is_empty() {
                    Vec::new()
                } else {
                    email::send(smtp, to, &asked, d, &files, &headline, self.options.retry.timeout).await
                };
                judge(&mut d.addresses, replies)
            }
        }
    }

    fn read_bundle(&self, d: &Delivery) -> Result<Vec<BundleFile>, String> {
        let dir = self.reports.join(".bundles").join(&d.report.bundle);
        d.files
            .iter()
            .map(|name| {
                let media_type = crate::report::FILES
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, m)| *m)
                    .ok_or_else(|| format!("{name:?} is not a report file"))?;
                let bytes =
                    std::fs::read(dir.join(name)).map_err(|e| format!("reading {}: {e}", dir.join(name).display()))?;
                Ok(BundleFile {
                    name: name.clone(),
                    media_type,
                    bytes,
                })
            })
            .collect()
    }
}

/// Forgets a finished attempt's task (a panic in one is logged).
/// Frees an ended attempt's place; its error, if it failed.
fn landed(
    busy: &mut std::collections::HashMap<tokio::task::Id, String>,
    done: Result<(tokio::task::Id, Result<(), DeliveryError>), tokio::task::JoinError>,
) -> Result<(), DeliveryError> {
    let (id, result) = match done {
        Ok((id, result)) => (id, result),
        Err(e) => {
            tracing::error!(error = %e, "a delivery attempt ended without finishing");
            (e.id(), Ok(()))
        }
    };
    busy.remove(&id);
    result
}

fn log_failure(result: Result<(), DeliveryError>) {
    if let Err(e) = result {
        tracing::error!(code = e.code(), error = %e, "delivering a report failed");
    }
}

/// Writes each reply down beside its address, and gives the attempt's
/// result: delivered once every address took the message; tried again
/// while one may still take it; failed for good once the only ones left
/// were refused (each naming its address, code and text).
fn judge(addresses: &mut [Address], replies: Vec<email::Reply>) -> Result<Option<u16>, SendError> {
    for r in replies {
        if let Some(a) = addresses.iter_mut().find(|a| a.address == r.address) {
            a.state = match r.verdict {
                email::Verdict::Delivered => AddressState::Delivered,
                email::Verdict::Retry => AddressState::Pending,
                email::Verdict::Refused => AddressState::Failed,
            };
            a.code = r.code;
            a.message = Some(r.message);
        }
    }
    let open: Vec<&Address> = addresses
        .iter()
        .filter(|a| a.state != AddressState::Delivered)
        .collect();
    let Some(first) = open.first() else {
        return Ok(addresses.iter().find_map(|a| a.code));
    };
    let detail = open
        .iter()
        .map(|a| {
            let code = a.code.map(|c| format!(" {c}")).unwrap_or_default();
            format!("{}{code}: {}", a.address, a.message.as_deref().unwrap_or(""))
        })
        .collect::<Vec<_>>()
        .join("; ");
    let status = first.code;
    if open.iter().any(|a| a.state == AddressState::Pending) {
        Err(SendError::Retry {
            status,
            detail,
            retry_after: None,
        })
    } else {
        Err(SendError::Permanent { status, detail })
    }
}

/// The JSON manifest sent with a report: what it is and what each file
/// holds (size and SHA-256), the same on every attempt.
pub fn manifest(d: &Delivery, files: &[BundleFile]) -> serde_json::Value {
    serde_json::json!({
        "idempotency_key": d.idempotency_key,
        "delivery_id": d.id,
        "recipient": d.recipient,
        "report": {
            "province": "Thanh Hóa",
            "month": d.report.month,
            "language": d.report.language,
            "dataset_version": d.report.dataset_version,
            "dataset_committed_at": d.report.dataset_committed_at,
            "content_sha256": d.report.content_sha256,
        },
        "files": files.iter().map(|f| serde_json::json!({
            "name": f.name,
            "media_type": f.media_type,
            "bytes": f.bytes.len(),
            "sha256": crate::util::digest::sha256_hex(&f.bytes),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let p = RetryPolicy {
            initial_backoff: Duration::from_secs(60),
            max_backoff: Duration::from_secs(600),
            ..RetryPolicy::default()
        };
        let waits: Vec<u64> = (1..=6).map(|n| p.backoff(n).as_secs()).collect();
        assert_eq!(waits, [60, 120, 240, 480, 600, 600]);
        assert_eq!(p.backoff(100).as_secs(), 600);
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
        let c = Channel::Webhook {
            url: "https://x".into(),
            secret: s,
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    fn delivery(now: DateTime<Utc>) -> Delivery {
        let report = ReportRef {
            month: "2025-03".into(),
            language: "vi".into(),
            dataset_version: 4,
            dataset_committed_at: "2025-04-02T00:00:00Z".into(),
            content_sha256: "ab".repeat(32),
            bundle: "2025-03-vi-v4-abababababab".into(),
        };
        let r = Recipient {
            name: "moit".into(),
            channel: Channel::Email {
                to: vec!["a@b.vn".into()],
            },
            files: vec!["report.pdf".into()],
        };
        Delivery::new(&report, &r, now)
    }

    #[test]
    fn enqueue_is_once_per_report_and_recipient() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(dir.path());
        let now = Utc::now();
        let d = delivery(now);
        assert_eq!(d.id, "2025-03-vi-v4-moit");
        assert!(outbox.enqueue(&d).unwrap());
        assert!(!outbox.enqueue(&d).unwrap());
        assert_eq!(outbox.list().unwrap(), vec![d]);
    }

    #[test]
    fn an_attempt_under_way_at_a_stop_is_recovered_as_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(dir.path());
        let now = Utc::now();
        let mut d = delivery(now);
        outbox.enqueue(&d).unwrap();
        d.state = State::Sending;
        d.attempts.push(Attempt {
            number: 1,
            started_at: stamp(now),
            finished_at: None,
            outcome: None,
            status: None,
            detail: None,
        });
        outbox.save(&d).unwrap();
        assert_eq!(outbox.recover(now).unwrap(), 1);
        let d = outbox.get(&d.id).unwrap().unwrap();
        assert_eq!(d.state, State::Pending);
        assert_eq!(d.attempts[0].outcome, Some(Outcome::Interrupted));
        assert!(d.due(now));
        assert_eq!(outbox.recover(now).unwrap(), 0);
    }

    #[test]
    fn only_failed_deliveries_are_retried() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(dir.path());
        let now = Utc::now();
        let mut d = delivery(now);
        outbox.enqueue(&d).unwrap();
        assert_eq!(outbox.retry(&d.id, now).unwrap_err().code(), "delivery_not_failed");
        assert_eq!(outbox.retry("nope", now).unwrap_err().code(), "unknown_delivery");
        for outside in ["../tokens", "a/b", ".lock", ""] {
            assert_eq!(outbox.retry(outside, now).unwrap_err().code(), "unknown_delivery");
            assert!(outbox.get(outside).unwrap().is_none());
        }
        d.state = State::Failed;
        outbox.save(&d).unwrap();
        assert_eq!(outbox.retry(&d.id, now).unwrap().state, State::Pending);
    }

    #[test]
    fn final_records_are_read_once_until_they_change() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(dir.path());
        let now = Utc::now();
        let mut d = delivery(now);
        outbox.enqueue(&d).unwrap();
        let mut settled = Settled::new();
        assert_eq!(outbox.unsettled(&mut settled).unwrap().len(), 1, "pending: read");
        assert_eq!(
            outbox.unsettled(&mut settled).unwrap().len(),
            1,
            "still pending: read again"
        );
        d.state = State::Failed;
        outbox.save(&d).unwrap();
        assert_eq!(outbox.unsettled(&mut settled).unwrap().len(), 1, "failed: read once");
        assert!(outbox.unsettled(&mut settled).unwrap().is_empty(), "then skipped");
        outbox.retry(&d.id, now).unwrap();
        let again = outbox.unsettled(&mut settled).unwrap();
        assert_eq!(
            again[0].state,
            State::Pending,
            "a retry rewrites it, so it is read again"
        );
        assert_eq!(outbox.list().unwrap().len(), 1, "listing shows every record");
    }

    fn reply(address: &str, verdict: email::Verdict, code: u16, message: &str) -> email::Reply {
        email::Reply {
            address: address.into(),
            verdict,
            code: Some(code),
            message: message.into(),
        }
    }

    #[test]
    fn each_address_is_judged_alone() {
        use email::Verdict::{Delivered, Refused, Retry};
        let mut list = addresses(&["A <a@b.vn>".into(), "c@d.vn".into(), "a@b.vn".into()]);
        assert_eq!(
            list.iter().map(|a| a.address.as_str()).collect::<Vec<_>>(),
            ["a@b.vn", "c@d.vn"],
            "bare, each once"
        );
        // One taken, one refused for now: tried again, for that one only.
        let r = judge(
            &mut list,
            vec![
                reply("a@b.vn", Delivered, 250, "OK"),
                reply("c@d.vn", Retry, 451, "later"),
            ],
        );
        assert_eq!(
            r,
            Err(SendError::Retry {
                status: Some(451),
                detail: "c@d.vn 451: later".into(),
                retry_after: None
            })
        );
        assert_eq!(
            list.iter().map(|a| a.state).collect::<Vec<_>>(),
            [AddressState::Delivered, AddressState::Pending]
        );
        // Then refused for good: the delivery fails, naming it; the taken one stays taken.
        let r = judge(&mut list, vec![reply("c@d.vn", Refused, 550, "no such user")]);
        assert_eq!(
            r,
            Err(SendError::Permanent {
                status: Some(550),
                detail: "c@d.vn 550: no such user".into()
            })
        );
        assert_eq!(list[0].state, AddressState::Delivered);
        assert_eq!(
            (list[1].state, list[1].code, list[1].message.as_deref()),
            (AddressState::Failed, Some(550), Some("no such user"))
        );
        // Every address taken: delivered.
        list[1].state = AddressState::Pending;
        assert_eq!(
            judge(&mut list, vec![reply("c@d.vn", Delivered, 250, "OK")]),
            Ok(Some(250))
        );
    }

    #[test]
    fn a_retry_asks_again_only_for_the_addresses_that_failed() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(dir.path());
        let now = Utc::now();
        let mut d = delivery(now);
        d.addresses = addresses(&["a@b.vn".into(), "c@d.vn".into()]);
        d.addresses[0].state = AddressState::Delivered;
        d.addresses[1].state = AddressState::Failed;
        d.state = State::Failed;
        outbox.enqueue(&d).unwrap();
        let d = outbox.retry(&d.id, now).unwrap();
        assert_eq!(
            d.addresses.iter().map(|a| a.state).collect::<Vec<_>>(),
            [AddressState::Delivered, AddressState::Pending]
        );
    }

    #[test]
    fn a_record_without_addresses_still_reads() {
        let d = delivery(Utc::now());
        let mut v = serde_json::to_value(&d).unwrap();
        v.as_object_mut().unwrap().remove("addresses");
        let back: Delivery = serde_json::from_value(v).unwrap();
        assert!(back.addresses.is_empty());
    }

    #[test]
    fn a_second_worker_does_not_get_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(dir.path());
        let held = outbox.try_lock().unwrap();
        assert!(held.is_some());
        assert!(outbox.try_lock().unwrap().is_none());
        drop(held);
        assert!(outbox.try_lock().unwrap().is_some());
    }
}
