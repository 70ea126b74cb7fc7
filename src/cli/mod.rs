//! One function per CLI subcommand. Each prints its JSON (or the format
//! asked for) to the given writer; logs go to stderr through `tracing`.
//! `args` holds the grammar, `logging` the log subscriber; `main.rs` only
//! starts logging and maps errors to exit codes.

pub mod args;
pub mod config;
pub mod demo;
pub mod logging;

use crate::domain::Period;
use crate::engine::Limits;
use crate::engine::tabular::Format;
use crate::present::export;
use crate::present::locale::Lang;
use crate::service::{App, AppError, AppOptions, ErrorKind, IngestSource, ShareParams, month_in_vietnam};
use crate::util::clock::{Clock, StartedAt, SystemClock};
use config::{Config, ConfigError};
use demo::DemoOptions;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CommandError {
    #[error(transparent)]
    App(#[from] AppError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    #[error(transparent)]
    Delivery(#[from] crate::delivery::DeliveryError),
    #[error(transparent)]
    Auth(#[from] crate::access::tokens::AuthError),
    #[error(transparent)]
    Audit(#[from] crate::access::audit::AuditError),
    #[error(transparent)]
    Backup(#[from] crate::store::backup::BackupError),
    #[error(transparent)]
    Migrate(#[from] crate::store::migrate::MigrateError),
}

impl CommandError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::App(e) => e.code(),
            Self::Config(e) => e.code(),
            Self::Io { .. } => "io_error",
            Self::Usage(_) => "usage",
            Self::Report(e) => e.code(),
            Self::Delivery(e) => e.code(),
            Self::Auth(e) => e.code(),
            Self::Audit(e) => e.code(),
            Self::Backup(e) => e.code(),
            Self::Migrate(e) => e.code(),
        }
    }

    /// Process exit code: 2 bad arguments, 3 input refused, 4 busy, 5 audit
    /// trail broken, 6 a data directory (or backup) of a newer format, 7 a
    /// damaged backup, 1 anything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) | Self::Config(_) => 2,
            Self::App(e) | Self::Report(crate::report::ReportError::App(e)) if e.kind() == ErrorKind::BadParameter => 2,
            Self::Delivery(
                crate::delivery::DeliveryError::Unknown(_) | crate::delivery::DeliveryError::NotFailed { .. },
            ) => 2,
            Self::Auth(
                crate::access::tokens::AuthError::UnknownToken(_) | crate::access::tokens::AuthError::Invalid(_),
            ) => 2,
            Self::Audit(crate::access::audit::AuditError::Broken { .. }) => 5,
            Self::Backup(crate::store::backup::BackupError::TargetNotEmpty(_)) => 2,
            Self::Backup(
                crate::store::backup::BackupError::NewerFormat { .. }
                | crate::store::backup::BackupError::Warehouse(crate::store::WarehouseError::NewerFormat { .. }),
            ) => 6,
            Self::Backup(crate::store::backup::BackupError::Damaged { .. }) => 7,
            Self::Migrate(
                crate::store::migrate::MigrateError::TargetNotEmpty(_)
                | crate::store::migrate::MigrateError::NoSource(_),
            ) => 2,
            Self::Migrate(crate::store::migrate::MigrateError::Warehouse(
                crate::store::WarehouseError::NewerFormat { .. },
            )) => 6,
            Self::App(e) if e.kind() == ErrorKind::InputRefused => 3,
            Self::App(e) if e.kind() == ErrorKind::Busy => 4,
            Self::App(e) | Self::Report(crate::report::ReportError::App(e)) if e.kind() == ErrorKind::NewerFormat => 6,
            _ => 1,
        }
    }

    /// The error as the JSON object printed on stdout.
    pub fn to_json(&self) -> String {
        serde_json::json!({"error": {"code": self.code(), "message": self.to_string()}}).to_string()
    }
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> CommandError {
    let context = context.into();
    move |source| CommandError::Io { context, source }
}

fn print_json(out: &mut dyn Write, value: &impl serde::Serialize) -> Result<(), CommandError> {
    let text = serde_json::to_string_pretty(value).expect("reports serialize");
    writeln!(out, "{text}").map_err(io("stdout"))
}

/// `ecomshare ingest FILE...`: one batch, one commit.
pub fn ingest(
    config: &Config,
    files: &[PathBuf],
    options: &crate::ingest::InputOptions,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    if files.is_empty() {
        return Err(CommandError::Usage("give at least one file to ingest".into()));
    }
    // Counting the changed months' contributions after the commit reads
    // the filings, not the rollup: no part of it is read for them.
    let app = App::open_with(
        &config.data,
        AppOptions {
            read_rollup_whole: false,
            ..app_options(config)
        },
    )?
    .with_clock(clock()?);
    let report = app.ingest_with(files.iter().cloned().map(IngestSource::Path).collect(), options, None)?;
    tracing::info!(
        dataset_version = report.dataset_version,
        committed = report.committed,
        rejections = report.rejections.len(),
        "ingest finished"
    );
    if report.committed {
        // Derived data: a failure costs a server counting them later.
        let started = std::time::Instant::now();
        match runtime()?.block_on(app.keep_contributions(false)) {
            Ok(months) => tracing::info!(
                months,
                ms = started.elapsed().as_millis() as u64,
                "disclosure control's contributions of the changed months kept"
            ),
            Err(e) => tracing::warn!(error = %e, "keeping the changed months' contributions failed"),
        }
    }
    print_json(out, &report)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareFormat {
    Json,
    Csv,
    Table,
}

/// The app for a command that gives one answer: only the rollup's parts
/// it needs are read; "now" is the process's clock.
fn one_answer_app(config: &Config) -> Result<App, CommandError> {
    let options = AppOptions {
        read_rollup_whole: false,
        ..app_options(config)
    };
    Ok(App::open_with(&config.data, options)?.with_clock(clock()?))
}

/// `ecomshare share`: the same figures as `GET /api/v1/share`.
pub fn share(
    config: &Config,
    params: &ShareParams,
    format: ShareFormat,
    lang: Lang,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let app = one_answer_app(config)?;
    let runtime = runtime()?;
    let response = runtime.block_on(app.share(params))?;
    match format {
        ShareFormat::Json => print_json(out, &response),
        ShareFormat::Csv => out
            .write_all(export::share_csv(&response).as_bytes())
            .map_err(io("stdout")),
        ShareFormat::Table => out
            .write_all(export::share_table(&response, lang).as_bytes())
            .map_err(io("stdout")),
    }
}

/// `ecomshare outlook`: the same document as `GET /api/v1/outlook` (for an
/// admin: full figures), or with `table` a text table for people.
pub fn outlook(
    config: &Config,
    params: &crate::service::OutlookParams,
    table: bool,
    lang: Lang,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let app = one_answer_app(config)?;
    let response = runtime()?.block_on(app.outlook(params))?;
    if table {
        out.write_all(crate::present::outlook::outlook_table(&response, lang).as_bytes())
            .map_err(io("stdout"))
    } else {
        print_json(out, &response)
    }
}

/// Opens the data directory for a command that reads or writes it without
/// an `App` (tokens, the audit trail, the outbox): refused when of a newer
/// format, upgraded when of an older one, as `App::open_with` does.
fn open_data(config: &Config) -> Result<crate::store::Warehouse, CommandError> {
    crate::store::Warehouse::open(&config.data).map_err(|e| CommandError::App(e.into()))
}

/// Opens the data directory with the configured query options.
pub fn open_app(config: &Config) -> Result<App, CommandError> {
    Ok(App::open_with(&config.data, app_options(config))?.with_clock(clock()?))
}

pub fn app_options(config: &Config) -> AppOptions {
    AppOptions {
        queries_dir: Some(config.queries.clone()),
        limits: Limits {
            memory_bytes: usize::try_from(config.sql_memory_mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX),
        },
        query_timeout: std::time::Duration::from_secs(config.query_timeout_s.max(1)),
        sql_row_cap: usize::try_from(config.sql_row_cap).unwrap_or(usize::MAX),
        disclosure: config.disclosure,
        target_programs: config.target_programs.clone(),
        release: config.release,
        ..AppOptions::default()
    }
}

/// `ecomshare query --list`: the named queries and their parameters.
pub fn list_queries(config: &Config, out: &mut dyn Write) -> Result<(), CommandError> {
    let app = open_app(config)?;
    print_json(out, &app.queries().to_json())
}

/// `ecomshare query NAME`: runs a named query, the body to `out` in `format`.
pub fn query(
    config: &Config,
    name: &str,
    params: &[String],
    as_of: Option<u64>,
    format: Format,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let mut map = BTreeMap::new();
    for p in params {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| CommandError::Usage(format!("--param {p:?} is not NAME=VALUE")))?;
        if map.insert(k.trim().to_string(), v.to_string()).is_some() {
            return Err(CommandError::Usage(format!("--param {} is given twice", k.trim())));
        }
    }
    let app = open_app(config)?;
    let plan = app.query_plan(name, map, as_of, format)?;
    let runtime = runtime()?;
    runtime.block_on(async {
        let mut stream = app.run_query(&plan).await?;
        tracing::info!(query = name, dataset_version = stream.dataset_version, "query");
        while let Some(chunk) = stream.next_chunk().await {
            out.write_all(&chunk?).map_err(io("stdout"))?;
        }
        out.flush().map_err(io("stdout"))
    })
}

/// `ecomshare report --month M`: the month's report, archived under
/// `DATA/reports/` (kept as it is when the archive already has this
/// version's), or written to `out`; prints what was written.
pub fn report(
    config: &Config,
    month: Period,
    lang: Lang,
    out: Option<&Path>,
    stdout: &mut dyn Write,
) -> Result<(), CommandError> {
    let app = open_app(config)?;
    let runtime = runtime()?;
    let (dir, summary) = match out {
        Some(dir) => {
            let report = runtime.block_on(crate::report::build(&app, month, lang))?;
            crate::report::write(&report, dir).map_err(CommandError::Report)?;
            let summary = serde_json::json!({
                "month": report.month,
                "dataset_version": report.dataset_version,
                "content_sha256": report.content_sha256,
                "generated": true,
            });
            (dir.to_path_buf(), summary)
        }
        None => {
            let archive = config.data.join("reports");
            let g = runtime.block_on(crate::report::generate(&app, month, lang, &archive))?;
            let summary = serde_json::json!({
                "month": g.month,
                "dataset_version": g.dataset_version,
                "content_sha256": g.content_sha256,
                "generated": g.generated,
            });
            (archive.join(month.to_string()), summary)
        }
    };
    tracing::info!(month = %month, dir = %dir.display(), "report written");
    let mut summary = summary;
    summary["files"] = crate::report::FILES
        .iter()
        .map(|(name, _)| dir.join(name).display().to_string())
        .collect();
    print_json(stdout, &summary)
}

/// `ecomshare deliveries [--retry ID]`: the outbox, or one failed delivery
/// queued again.
pub fn deliveries(config: &Config, retry: Option<&str>, out: &mut dyn Write) -> Result<(), CommandError> {
    open_data(config)?;
    let outbox = crate::delivery::Outbox::new(&config.data);
    match retry {
        Some(id) => {
            // Due now by the clock the worker reads (a rehearsal's too).
            let d = outbox.retry(id, clock()?.now())?;
            print_json(out, &d)
        }
        None => print_json(out, &serde_json::json!({ "deliveries": outbox.list()? })),
    }
}

/// `ecomshare compact`: merges every run of small batches due for it into
/// segments; prints what each round did and the files the latest version
/// is read from.
pub fn compact(config: &Config, out: &mut dyn Write) -> Result<(), CommandError> {
    let app = open_app(config)?;
    let mut rounds = Vec::new();
    loop {
        let report = app.compact(&config.compaction)?;
        let done = !report.compacted;
        rounds.push(report);
        if done {
            break;
        }
    }
    print_json(out, &serde_json::json!({ "compactions": rounds }))
}

fn runtime() -> Result<tokio::runtime::Runtime, CommandError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(io("starting the async runtime"))
}

/// Demo options for the last `months` months ending last month.
pub fn default_demo_options(seed: u64) -> DemoOptions {
    let this_month = month_in_vietnam(chrono::Utc::now());
    DemoOptions {
        seed,
        end: this_month.add_months(-1).expect("a previous month"),
        months: 36,
        units: 3000,
    }
}

/// `ecomshare demo --out DIR`: writes filings.csv and revisions.csv.
pub fn demo(out_dir: &Path, options: &DemoOptions, out: &mut dyn Write) -> Result<(), CommandError> {
    let reference = crate::store::builtin_reference();
    let files = demo::generate(&reference, options);
    std::fs::create_dir_all(out_dir).map_err(io(out_dir.display().to_string()))?;
    let mut written = Vec::new();
    for (name, text) in [("filings.csv", &files.filings), ("revisions.csv", &files.revisions)] {
        let path = out_dir.join(name);
        std::fs::write(&path, text).map_err(io(path.display().to_string()))?;
        written.push(serde_json::json!({"file": path.display().to_string(), "records": text.lines().count() - 1}));
    }
    print_json(
        out,
        &serde_json::json!({"seed": options.seed, "end": options.end.to_string(), "months": options.months, "units": options.units, "files": written}),
    )
}

/// Loads the demo dataset into an empty data directory, as two batches
/// (original filings, then revisions). Does nothing when data exists.
pub fn seed_demo_if_empty(app: &App) -> Result<bool, CommandError> {
    if app.manifest()?.version > 0 {
        return Ok(false);
    }
    let mut options = default_demo_options(1);
    // From January 2022, the first year with a target, so that the yearly
    // view starts with it and the outlook has earlier years to replay.
    let first = Period::new(2022, 1).expect("January 2022");
    options.months = options.months.max((options.end.index() - first.index() + 1) as u32);
    tracing::info!(units = options.units, months = options.months, end = %options.end, "empty data directory: loading the demo dataset");
    let reference = app.reference()?;
    let files = demo::generate(&reference, &options);
    for (name, text) in [
        ("demo/filings.csv", files.filings),
        ("demo/revisions.csv", files.revisions),
    ] {
        app.ingest(vec![IngestSource::Bytes {
            name: name.into(),
            format: Some(crate::ingest::Format::Csv),
            bytes: text.into_bytes(),
        }])?;
    }
    Ok(true)
}

/// `ecomshare serve`: the HTTP API until SIGTERM or SIGINT, then a
/// graceful shutdown (`http::serve` drains; here the background tasks stop
/// and the process exits 0). A second signal during it exits at once with
/// 128 + its number (143 SIGTERM, 130 SIGINT).
pub fn serve(config: &Config) -> Result<(), CommandError> {
    // The one command that delivers needs every secret; the others (listing
    // or queuing deliveries again among them) need none.
    config.reports.require_secrets()?;
    // A commit through the API leaves a core to the requests.
    let options = AppOptions {
        concurrent_commit: false,
        ..app_options(config)
    };
    crate::telemetry::install();
    let app = Arc::new(App::open_with(&config.data, options)?.with_clock(clock()?));
    if config.demo {
        seed_demo_if_empty(&app)?;
    }
    let runtime = runtime()?;
    let served = runtime.block_on(serve_until_signalled(config, app));
    // Commits were waited for and the audit trail written: blocking work
    // still running (a cut request's query) is not.
    runtime.shutdown_timeout(LEFTOVER_WORK);
    if served.is_ok() {
        tracing::info!("stopped");
    }
    served
}

/// How long blocking work nobody waits for any more may delay the exit.
const LEFTOVER_WORK: std::time::Duration = std::time::Duration::from_secs(2);

async fn serve_until_signalled(config: &Config, app: Arc<App>) -> Result<(), CommandError> {
    // Before anything is served, so that no signal finds the default action.
    let mut signals = Signals::new().map_err(io("listening for SIGTERM and SIGINT"))?;
    let listener = tokio::net::TcpListener::bind(&config.addr)
        .await
        .map_err(io(format!("binding {}", config.addr)))?;
    let local = listener.local_addr().map_err(io("local address"))?;
    if !crate::http::gate::tokens_configured(&config.data)? {
        if !local.ip().is_loopback() {
            return Err(CommandError::Usage(format!(
                "refusing to serve on {local} without access tokens: anyone who can reach it would be admin. \
                 Create one first (ecomshare token create --role admin --name NAME) or listen on 127.0.0.1"
            )));
        }
        tracing::warn!(
            addr = %local,
            "open local mode: no access tokens exist, so every caller on this machine is admin; \
             create one with `ecomshare token create` to require sign-in"
        );
    }
    if let Some(addr) = &config.metrics_addr {
        let ops = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(io(format!("binding the ops listener {addr}")))?;
        let ops_local = ops.local_addr().map_err(io("local address"))?;
        tracing::info!(addr = %ops_local, "ops listener: /livez and /readyz without a token");
        // Up until the process exits: /readyz says 503 there while draining.
        tokio::spawn(crate::http::serve_ops(ops, app.clone()));
    }
    tracing::info!(addr = %local, data = %config.data.display(), "serving");
    let (stopper, stop) = crate::util::stop::stopper();
    let mut tasks = vec![("readying", tokio::spawn(become_ready(app.clone(), stop.clone())))];
    if config.warm {
        tasks.push(("warming", tokio::spawn(keep_warm(app.clone(), stop.clone()))));
    }
    tasks.extend(start_reports(&app, config, &stop)?);
    if config.poll_interval_s > 0 {
        let every = std::time::Duration::from_secs(config.poll_interval_s);
        tasks.push((
            "following the log",
            tokio::spawn(follow_log(app.clone(), every, stop.clone())),
        ));
    }
    if config.compaction_interval_s > 0 {
        let every = std::time::Duration::from_secs(config.compaction_interval_s);
        let compacting = keep_compact(app.clone(), config.compaction, every, stop.clone());
        tasks.push(("compaction", tokio::spawn(compacting)));
    }
    let options = http_options(&config.server);
    let grace = options.shutdown_grace;
    let shutdown = async move {
        let first = signals.next().await;
        tracing::info!(signal = first.name, "shutting down (a second signal exits at once)");
        stopper.stop();
        tokio::spawn(async move {
            let second = signals.next().await;
            tracing::error!(
                signal = second.name,
                code = second.exit_code(),
                "a second signal: exiting at once, before the shutdown finished"
            );
            std::process::exit(second.exit_code());
        });
    };
    crate::http::serve(listener, app, options, shutdown)
        .await
        .map_err(io("serving"))?;
    stop_tasks(tasks, grace).await;
    Ok(())
}

/// Waits, up to `within` in all, for the background tasks to reach the
/// safe point where they stop (between two units of work); one that does
/// not is dropped where it waits, its work done again at the next start
/// (an outbox attempt is marked interrupted, a report or warming is made
/// again).
async fn stop_tasks(tasks: Vec<(&'static str, tokio::task::JoinHandle<()>)>, within: std::time::Duration) {
    let deadline = tokio::time::Instant::now() + within;
    for (task, handle) in tasks {
        if tokio::time::timeout_at(deadline, handle).await.is_err() {
            tracing::warn!(task, "a background task did not stop in time: left where it waits");
        }
    }
    tracing::info!("background tasks stopped");
}

/// `ecomshare token create|list|revoke`: the access tokens of the data
/// directory. Creating and revoking are recorded in the audit trail.
pub enum TokenCommand {
    Create {
        role: crate::domain::Role,
        name: String,
        expires: Option<chrono::NaiveDate>,
    },
    List,
    Revoke {
        id: String,
    },
}

pub fn token(config: &Config, command: TokenCommand, out: &mut dyn Write) -> Result<(), CommandError> {
    open_data(config)?;
    let store = crate::access::tokens::TokenStore::new(&config.data);
    let now = chrono::Utc::now();
    let audit = |action: &str, params: serde_json::Value| {
        crate::access::audit::AuditLog::new(&config.data).append(&[crate::access::audit::Event {
            time: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            token_id: None,
            role: Some("admin".into()),
            action: action.into(),
            params,
            dataset_version: None,
            outcome: "done".into(),
            status: None,
            address: None,
        }])
    };
    match command {
        TokenCommand::Create { role, name, expires } => {
            let (record, token) = store.create(role, &name, expires, now)?;
            audit(
                "cli token create",
                serde_json::json!({"id": record.id, "role": role.as_str(), "name": record.name, "expires": record.expires}),
            )?;
            print_json(
                out,
                &serde_json::json!({"id": record.id, "token": token, "role": role.as_str(), "name": record.name, "expires": record.expires}),
            )
        }
        TokenCommand::List => print_json(out, &serde_json::json!({"tokens": store.list()?})),
        TokenCommand::Revoke { id } => {
            let record = store.revoke(&id, now)?;
            audit("cli token revoke", serde_json::json!({"id": id}))?;
            print_json(out, &record)
        }
    }
}

/// `ecomshare audit verify`: checks the audit trail's chain; exit 5 when broken.
pub fn audit_verify(config: &Config, out: &mut dyn Write) -> Result<(), CommandError> {
    open_data(config)?;
    let verified = crate::access::audit::AuditLog::new(&config.data).verify()?;
    print_json(
        out,
        &serde_json::json!({"ok": true, "lines": verified.lines, "head": verified.head}),
    )
}

/// `ecomshare backup --out FILE`: a consistent snapshot of the data
/// directory while a server may keep ingesting (see `store::backup`): the
/// audit trail up to its head first, then the files that change by
/// replacement, then the newest version and every file it and earlier
/// versions need. Prints what was written.
pub fn backup(config: &Config, file: &Path, out: &mut dyn Write) -> Result<(), CommandError> {
    if !config.data.is_dir() {
        return Err(CommandError::Usage(format!(
            "no data directory at {}",
            config.data.display()
        )));
    }
    let warehouse = open_data(config)?;
    let audit = crate::access::audit::AuditLog::new(&config.data).snapshot()?;
    let snapshot = warehouse.snapshot(audit)?;
    tracing::info!(
        dataset_version = snapshot.dataset_version,
        files = snapshot.paths().count(),
        out = %file.display(),
        "backing up"
    );
    let created_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let summary = crate::store::backup::write(&snapshot, &config.data, file, &created_at)?;
    tracing::info!(bytes = summary.backup_bytes, sha256 = %summary.backup_sha256, "backup written");
    print_json(out, &summary)
}

/// `ecomshare restore FILE --data NEWDIR`: the backup checked whole, then
/// restored into a new directory (and upgraded when of an older format).
pub fn restore(config: &Config, file: &Path, out: &mut dyn Write) -> Result<(), CommandError> {
    let summary = crate::store::backup::restore(file, &config.data)?;
    print_json(out, &summary)
}

/// `ecomshare migrate --from OLD --to NEW`: the old directory copied under
/// its commit lock and the copy upgraded (the old one is only read).
pub fn migrate(from: &Path, to: &Path, out: &mut dyn Write) -> Result<(), CommandError> {
    let migrated = crate::store::migrate::migrate(from, to)?;
    print_json(out, &migrated)
}

/// The clock of the schedule, the outbox and the months' release states:
/// the system clock, or, to rehearse a schedule or a release date, one
/// started at `ECOMSHARE_CLOCK_START` (RFC 3339).
fn clock() -> Result<Arc<dyn Clock>, CommandError> {
    match std::env::var("ECOMSHARE_CLOCK_START") {
        Ok(start) => {
            let at = chrono::DateTime::parse_from_rfc3339(&start)
                .map_err(|e| CommandError::Usage(format!("ECOMSHARE_CLOCK_START {start:?}: {e}")))?;
            tracing::warn!(start = %at, "the clock starts at ECOMSHARE_CLOCK_START, not now");
            Ok(Arc::new(StartedAt::new(at.with_timezone(&chrono::Utc))))
        }
        Err(_) => Ok(Arc::new(SystemClock)),
    }
}

/// How often a server that does not hold the outbox tries to take it: the
/// longest the schedule and deliveries wait after their holder stops.
const TAKEOVER_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Starts the report schedule (when configured) and the outbox's worker, in
/// the one process holding the outbox lock; another server on the same data
/// directory stands by and takes them over once the lock is free (its
/// holder stopped or died). All stop on `stop`.
fn start_reports(
    app: &Arc<App>,
    config: &Config,
    stop: &crate::util::stop::Stop,
) -> Result<Vec<(&'static str, tokio::task::JoinHandle<()>)>, CommandError> {
    let outbox = crate::delivery::Outbox::new(&config.data);
    if let Some(lock) = outbox.try_lock()? {
        return Ok(run_reports(app, config, stop, lock));
    }
    tracing::info!("another process holds the outbox: this one schedules and delivers reports only if that one stops");
    let (app, config, mut stop) = (app.clone(), config.clone(), stop.clone());
    let standby = async move {
        loop {
            if stop.sleep(TAKEOVER_EVERY).await {
                return;
            }
            match outbox.try_lock() {
                Ok(Some(lock)) => {
                    tracing::warn!("the outbox was let go: this process now schedules and delivers reports");
                    for (_, task) in run_reports(&app, &config, &stop, lock) {
                        let _ = task.await;
                    }
                    return;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(code = e.code(), error = %e, "trying the outbox lock failed"),
            }
        }
    };
    Ok(vec![("reports standby", tokio::spawn(standby))])
}

/// The schedule and the outbox's worker, holding `lock` until both stop.
fn run_reports(
    app: &Arc<App>,
    config: &Config,
    stop: &crate::util::stop::Stop,
    lock: std::fs::File,
) -> Vec<(&'static str, tokio::task::JoinHandle<()>)> {
    let reports = &config.reports;
    let clock = app.clock();
    let options = Arc::new(reports.delivery.clone());
    let worker = crate::delivery::Worker::new(&config.data, options, clock.clone());
    let stopping = stop.clone();
    let mut tasks = vec![(
        "deliveries",
        tokio::spawn(async move {
            let _lock = lock;
            worker.run(stopping).await
        }),
    )];
    match reports.schedule {
        Some(schedule) => {
            let next = schedule.next_after(clock.now());
            tracing::info!(
                next = %next.with_timezone(&schedule.zone),
                recipients = reports.delivery.recipients.len(),
                "monthly report scheduled"
            );
            let scheduler = crate::delivery::scheduler::Scheduler {
                app: app.clone(),
                schedule,
                language: reports.language,
                recipients: reports.delivery.recipients.clone(),
                clock,
            };
            tasks.push(("schedule", tokio::spawn(scheduler.run(stop.clone()))));
        }
        None => tracing::info!("no [schedule] in the configuration: reports are generated on demand only"),
    }
    tasks
}

/// Loads and readies the newest version at start, so that `/readyz`
/// answers 200 and the first requests do not wait; tried again every few
/// seconds while it fails (`/readyz` says `loading` meanwhile).
async fn become_ready(app: Arc<App>, mut stop: crate::util::stop::Stop) {
    loop {
        let started = std::time::Instant::now();
        tokio::select! {
            published = app.publish_latest() => match published {
                Ok(version) => {
                    tracing::info!(
                        dataset_version = version,
                        ms = started.elapsed().as_millis() as u64,
                        "ready: the newest version is loaded and readied"
                    );
                    return;
                }
                Err(e) => tracing::warn!(
                    code = e.code(),
                    error = %e,
                    "loading the newest version failed: not ready; trying again in 5 s"
                ),
            },
            () = stop.stopped() => return,
        }
        if stop.sleep(std::time::Duration::from_secs(5)).await {
            return;
        }
    }
}

/// Every `every`, readies the log's newest version when another process
/// committed it, so that it is answered once ready without a request having
/// to ask for it first; until `stop`.
async fn follow_log(app: Arc<App>, every: std::time::Duration, mut stop: crate::util::stop::Stop) {
    loop {
        if stop.sleep(every).await {
            return;
        }
        if let Err(e) = app.publish_latest().await {
            tracing::warn!(code = e.code(), error = %e, "readying the log's newest version failed; trying again");
        }
    }
}

/// Every few seconds, if a new dataset version (or reference) has appeared,
/// from this server or another process, computes the default dashboard
/// views; until `stop` (a round in progress is abandoned: it is derived
/// data).
async fn keep_warm(app: Arc<App>, mut stop: crate::util::stop::Stop) {
    let mut warmed = None;
    loop {
        let tag = {
            let app = app.clone();
            tokio::task::spawn_blocking(move || app.state_tag()).await
        };
        match tag {
            Ok(Ok(tag)) if warmed != Some(tag) => {
                let started = std::time::Instant::now();
                // Then every month's disclosure contributions, for viewers'
                // other tables (read from disk when kept there).
                let warmed_all = async {
                    crate::present::dashboard::warm(&app).await?;
                    app.keep_contributions(true).await
                };
                let warmed_all = tokio::select! {
                    w = warmed_all => w,
                    () = stop.stopped() => return,
                };
                match warmed_all {
                    Ok(_) => {
                        tracing::info!(
                            dataset_version = tag.dataset_version,
                            ms = started.elapsed().as_millis() as u64,
                            "dashboard warmed"
                        );
                        warmed = Some(tag);
                    }
                    Err(e) => tracing::warn!(error = %e, "warming the dashboard failed"),
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "reading the dataset version failed"),
            _ => {}
        }
        if stop.sleep(std::time::Duration::from_secs(5)).await {
            return;
        }
    }
}

/// Every `every`, merges the runs of small batches due for it (see
/// `App::compact`): answers do not change, later versions read fewer files.
/// Stops on `stop` between rounds (a shutdown waits for a round running).
async fn keep_compact(
    app: Arc<App>,
    policy: crate::service::CompactPolicy,
    every: std::time::Duration,
    mut stop: crate::util::stop::Stop,
) {
    while !stop.sleep(every).await {
        while !stop.requested() {
            let app = app.clone();
            match tokio::task::spawn_blocking(move || app.compact(&policy)).await {
                Ok(Ok(r)) if r.compacted => continue,
                Ok(Ok(_)) => break,
                Ok(Err(e)) if e.kind() == ErrorKind::ShuttingDown => return,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "compaction failed");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "compaction stopped");
                    break;
                }
            }
        }
    }
}

/// SIGTERM and SIGINT, as they come.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

/// A signal received.
#[derive(Debug, Clone, Copy)]
struct Received {
    name: &'static str,
    number: i32,
}

impl Received {
    const TERM: Self = Self {
        name: "SIGTERM",
        number: 15,
    };
    const INT: Self = Self {
        name: "SIGINT",
        number: 2,
    };

    /// The exit code of a process stopped at once by this signal (the
    /// shells' convention).
    fn exit_code(self) -> i32 {
        128 + self.number
    }
}

impl Signals {
    fn new() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn next(&mut self) -> Received {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => Received::TERM,
                _ = self.int.recv() => Received::INT,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            Received::INT
        }
    }
}

/// Parses `YYYY-MM` for a CLI flag.
pub fn parse_period_flag(s: &str) -> Result<Period, String> {
    Period::parse(s).ok_or_else(|| format!("{s:?} is not a month written YYYY-MM"))
}

/// The HTTP server's options: the configured settings, the server's
/// defaults for the others.
fn http_options(s: &config::ServerSettings) -> crate::http::HttpOptions {
    let d = crate::http::HttpOptions::default();
    crate::http::HttpOptions {
        max_upload_bytes: s.max_upload_mb.map_or(d.max_upload_bytes, |mb| (mb as usize) << 20),
        request_timeout: s
            .request_timeout_s
            .map_or(d.request_timeout, std::time::Duration::from_secs),
        upload_timeout: s
            .upload_timeout_s
            .map_or(d.upload_timeout, std::time::Duration::from_secs),
        rate_per_s: match s.rate_limit_per_s {
            Some(0.0) => None,
            Some(r) => Some(r),
            None => d.rate_per_s,
        },
        rate_burst: s.rate_limit_burst.map_or(d.rate_burst, |b| b as f64),
        max_concurrent_queries: s
            .max_concurrent_queries
            .map_or(d.max_concurrent_queries, |n| n as usize),
        trusted_proxies: s.trusted_proxies.clone(),
        public_dashboard: s.public_dashboard,
        cookie_secure: s.cookie_secure,
        shutdown_grace: s
            .shutdown_grace_s
            .map_or(d.shutdown_grace, std::time::Duration::from_secs),
    }
}
