//! The command line's grammar (clap): global flags, the subcommands and
//! their flags, and [`run`], which resolves the configuration and calls the
//! subcommand's function in `cli` with typed values.

use crate::cli::config::{self, LogFormat, Overrides};
use crate::cli::{self, CommandError, ShareFormat};
use crate::domain::{Period, Role};
use crate::engine::tabular::Format;
use crate::present::locale::Lang;
use crate::service::{Audience, OutlookParams, ShareParams};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "ecomshare",
    version,
    about = "E-commerce share of total retail sales against the national target (Thanh Hóa)"
)]
pub struct Cli {
    /// TOML configuration file (its keys are in the README: data, addr, limits, [schedule], [[recipients]], [disclosure], [targets]…).
    #[arg(long, global = true, env = "ECOMSHARE_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (Parquet files and manifests) [default: ./data].
    #[arg(long, global = true, env = "ECOMSHARE_DATA")]
    data: Option<PathBuf>,
    /// Directory of extra named queries (*.sql) [default: ./queries, when present].
    #[arg(long, global = true, env = "ECOMSHARE_QUERIES")]
    queries: Option<PathBuf>,
    /// Memory pool of named and analysts' queries, in MiB [default: 1024].
    #[arg(long, global = true, env = "ECOMSHARE_SQL_MEMORY_MB")]
    sql_memory_mb: Option<u64>,
    /// Longest a query may run to its first rows, in seconds [default: 30].
    #[arg(long, global = true, env = "ECOMSHARE_QUERY_TIMEOUT_S")]
    query_timeout_s: Option<u64>,
    /// Most rows an analyst's SQL may return [default: 100000].
    #[arg(long, global = true, env = "ECOMSHARE_SQL_ROW_CAP")]
    sql_row_cap: Option<u64>,
    /// Targets' programmes in priority order, comma-separated (e.g. 1568/QĐ-BCT,2326/QĐ-TTg) [default: the provincial programme, else the newest national one].
    #[arg(long, global = true, env = "ECOMSHARE_TARGET_PROGRAMS")]
    target_programs: Option<String>,
    /// The filing deadline: this day (1–28) of the month after a period, to its end in Vietnam; until then the month's figures are an estimate [default: 20].
    #[arg(long, global = true, env = "ECOMSHARE_RELEASE_DEADLINE_DAY")]
    release_deadline_day: Option<u32>,
    /// Months after a period's end from which its figures are final; preliminary from the deadline until then [default: 3].
    #[arg(long, global = true, env = "ECOMSHARE_RELEASE_FINAL_AFTER_MONTHS")]
    release_final_after_months: Option<u32>,
    /// Log lines on stderr: text, or json (one object per line) [default: text].
    #[arg(long, global = true, env = "ECOMSHARE_LOG_FORMAT", value_enum)]
    log_format: Option<LogFormatArg>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Ingest filing files (CSV, TSV, Excel, OpenDocument or JSON) as one batch; prints the ingest report.
    Ingest {
        /// Files to ingest (.csv, .tsv, .txt, .xlsx, .xls, .ods or .json); the format is decided from the content.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The files' encoding: utf-8 (default; UTF-16 is recognised by its byte order mark), utf-16le, utf-16be, windows-1258.
        #[arg(long)]
        encoding: Option<String>,
        /// The CSV separator: comma, semicolon or tab [default: detected from the header line].
        #[arg(long)]
        delimiter: Option<String>,
        /// `vi` when amounts are written 1.234.567 and weights 0,5.
        #[arg(long)]
        locale: Option<String>,
        /// The sheet of an .xlsx workbook to read [default: the first].
        #[arg(long)]
        sheet: Option<String>,
    },
    /// Print e-commerce share figures (the same as GET /api/v1/share).
    Share {
        /// First month, YYYY-MM [default: 11 months before --to].
        #[arg(long, value_parser = cli::parse_period_flag)]
        from: Option<Period>,
        /// Last month, YYYY-MM [default: the latest month with data].
        #[arg(long, value_parser = cli::parse_period_flag)]
        to: Option<Period>,
        /// Comma list of district, sector, vsic, period, quarter, year.
        #[arg(long)]
        by: Option<String>,
        /// Comma list of district codes.
        #[arg(long)]
        district: Option<String>,
        /// Comma list of retail sector group codes.
        #[arg(long)]
        sector: Option<String>,
        /// Comma list of VSIC codes.
        #[arg(long)]
        vsic: Option<String>,
        /// Answer as the warehouse stood at this dataset version.
        #[arg(long)]
        as_of: Option<u64>,
        #[arg(long, value_enum, default_value = "json")]
        format: FormatArg,
        /// Language of the table format.
        #[arg(long, value_enum, default_value = "vi")]
        lang: LangArg,
    },
    /// Print the year's outlook (the same as GET /api/v1/outlook): the share so far, the full year projected, the status against the target, the e-commerce needed per remaining month, the indicators, the programmes' paths.
    Outlook {
        /// The year, YYYY [default: the year of the latest month with data].
        #[arg(long)]
        year: Option<String>,
        /// A district code (its former area from the 2025 reform on).
        #[arg(long, conflicts_with = "commune")]
        district: Option<String>,
        /// A commune code (from 2025-07).
        #[arg(long)]
        commune: Option<String>,
        /// Answer as the warehouse stood at this dataset version.
        #[arg(long)]
        as_of: Option<u64>,
        #[arg(long, value_enum, default_value = "json")]
        format: OutlookFormatArg,
        /// Language of the table format.
        #[arg(long, value_enum, default_value = "vi")]
        lang: LangArg,
    },
    /// Run a named query from queries/ (the same as GET /api/v1/queries/NAME), or list them.
    Query {
        /// The query's name; omit with --list.
        #[arg(required_unless_present = "list")]
        name: Option<String>,
        /// List the queries and their parameters as JSON.
        #[arg(long, conflicts_with = "name")]
        list: bool,
        /// A parameter, NAME=VALUE; repeat for several.
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Answer as the warehouse stood at this dataset version.
        #[arg(long)]
        as_of: Option<u64>,
        /// Output format (xlsx, arrow and parquet are binary: redirect stdout to a file).
        #[arg(long, value_enum, default_value = "json")]
        format: QueryFormatArg,
    },
    /// Write a month's report (PDF, HTML, XLSX, JSON) from the current dataset version into the archive, or --out.
    Report {
        /// The month to report, YYYY-MM.
        #[arg(long, value_parser = cli::parse_period_flag)]
        month: Period,
        /// Directory to write to [default: DATA/reports/YYYY-MM].
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "vi")]
        lang: LangArg,
    },
    /// Show the outbox of report deliveries (state and attempts), or queue a failed one again.
    Deliveries {
        /// Queue this failed delivery again (its id), due now.
        #[arg(long, value_name = "ID")]
        retry: Option<String>,
    },
    /// Merge runs of small batches into segments (answers unchanged); prints JSON.
    Compact,
    /// Access tokens: create (printed once), list, revoke.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Write a consistent backup of the data directory (while a server may keep ingesting) to one file; prints JSON.
    Backup {
        /// The backup file to write (replaced atomically).
        #[arg(long)]
        out: PathBuf,
    },
    /// Check a backup whole and restore it into a new data directory (--data, absent or empty); prints JSON.
    Restore {
        /// The backup file.
        file: PathBuf,
    },
    /// Copy a data directory (of this or an older format; only read) into a new location and bring the copy to the current format; prints JSON.
    Migrate {
        /// The data directory to copy.
        #[arg(long)]
        from: PathBuf,
        /// The new location (absent or empty).
        #[arg(long)]
        to: PathBuf,
    },
    /// Serve the HTTP API.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long, env = "ECOMSHARE_ADDR")]
        addr: Option<String>,
        /// Do not load the demo dataset into an empty data directory.
        #[arg(long, env = "ECOMSHARE_NO_DEMO")]
        no_demo: bool,
        /// Do not compute the dashboard's default views in the background after a new version.
        #[arg(long, env = "ECOMSHARE_NO_WARM")]
        no_warm: bool,
        /// Serve the dashboard and charts without signing in (the API stays protected).
        #[arg(long, env = "ECOMSHARE_PUBLIC_DASHBOARD")]
        public_dashboard: bool,
        /// Requests per second per token or address; 0 for no limit [default: 50].
        #[arg(long, env = "ECOMSHARE_RATE_LIMIT_PER_S")]
        rate_limit_per_s: Option<f64>,
        /// Largest upload of filings over HTTP, in MiB [default: 256].
        #[arg(long, env = "ECOMSHARE_MAX_UPLOAD_MB")]
        max_upload_mb: Option<u64>,
        /// The ops listener, serving /livez and /readyz without a token: HOST:PORT, or a bare port on 127.0.0.1 [default: none].
        #[arg(long, env = "ECOMSHARE_METRICS_ADDR")]
        metrics_addr: Option<String>,
        /// Seconds requests in flight may take to finish after SIGTERM or SIGINT before they are cut [default: 30].
        #[arg(long, env = "ECOMSHARE_SHUTDOWN_GRACE_S")]
        shutdown_grace_s: Option<u64>,
        /// Seconds between looks at the store's log for versions another process committed, readied before they are answered; 0: only when a request comes [default: 2].
        #[arg(long, env = "ECOMSHARE_POLL_INTERVAL_S")]
        poll_interval_s: Option<u64>,
    },
    /// Write realistic demo filings (filings.csv, revisions.csv) to a directory.
    Demo {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Last month [default: last month].
        #[arg(long, value_parser = cli::parse_period_flag)]
        end: Option<Period>,
        #[arg(long, default_value_t = 36)]
        months: u32,
        #[arg(long, default_value_t = 3000)]
        units: u32,
    },
}

#[derive(Subcommand)]
enum TokenAction {
    /// Create a token; prints {"id","token","role","name"} — the token is shown only this once.
    Create {
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Who or what holds it (a person, an office, a system).
        #[arg(long)]
        name: String,
        /// The last day it is valid, YYYY-MM-DD.
        #[arg(long)]
        expires: Option<chrono::NaiveDate>,
    },
    /// List the tokens (never the tokens themselves).
    List,
    /// Revoke a token by its id; its browser sessions end too.
    Revoke { id: String },
}

#[derive(Subcommand)]
enum AuditAction {
    /// Check the hash chain: exit 0 when intact, 5 when a line was edited, deleted or moved.
    Verify,
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Viewer,
    Analyst,
    Filer,
    Admin,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Json,
    Csv,
    Table,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutlookFormatArg {
    Json,
    Table,
}

#[derive(Clone, Copy, ValueEnum)]
enum QueryFormatArg {
    Json,
    Csv,
    Xlsx,
    Arrow,
    Parquet,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormatArg {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum LangArg {
    Vi,
    En,
}

impl Cli {
    /// The log format: the flag (or `ECOMSHARE_LOG_FORMAT`), else the
    /// configuration file's `log_format`, else text. Read before logging
    /// starts, so before the configuration is resolved.
    pub fn log_format(&self) -> LogFormat {
        self.log_format
            .map(LogFormat::from)
            .or_else(|| self.config.as_deref().and_then(config::file_log_format))
            .unwrap_or_default()
    }
}

/// Runs the subcommand `cli` names; results go to stdout.
pub fn run(cli: Cli) -> Result<(), CommandError> {
    let config = configuration(&cli)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cli.command {
        Command::Ingest {
            files,
            encoding,
            delimiter,
            locale,
            sheet,
        } => {
            let mut options =
                crate::ingest::InputOptions::parse(encoding.as_deref(), delimiter.as_deref(), locale.as_deref())
                    .map_err(CommandError::Usage)?;
            options.sheet = sheet;
            cli::ingest(&config, &files, &options, &mut out)?
        }
        Command::Share {
            from,
            to,
            by,
            district,
            sector,
            vsic,
            as_of,
            format,
            lang,
        } => {
            let params = ShareParams {
                // The command line reads the data directory itself: full figures.
                audience: Audience::Full,
                from: from.map(|p| p.to_string()),
                to: to.map(|p| p.to_string()),
                by,
                district,
                sector,
                vsic,
                as_of: as_of.map(|v| v.to_string()),
                judged_at: None,
            };
            cli::share(&config, &params, format.into(), lang.into(), &mut out)?
        }
        Command::Outlook {
            year,
            district,
            commune,
            as_of,
            format,
            lang,
        } => {
            let params = OutlookParams {
                // The command line reads the data directory itself: full figures.
                audience: Audience::Full,
                year,
                district,
                commune,
                as_of: as_of.map(|v| v.to_string()),
            };
            let table = matches!(format, OutlookFormatArg::Table);
            cli::outlook(&config, &params, table, lang.into(), &mut out)?
        }
        Command::Query {
            name,
            list,
            params,
            as_of,
            format,
        } => match (list, name) {
            (true, _) => cli::list_queries(&config, &mut out)?,
            (false, Some(name)) => cli::query(&config, &name, &params, as_of, format.into(), &mut out)?,
            (false, None) => return Err(CommandError::Usage("give a query name or --list".into())),
        },
        Command::Report { month, out: dir, lang } => {
            cli::report(&config, month, lang.into(), dir.as_deref(), &mut out)?
        }
        Command::Token { action } => {
            let command = match action {
                TokenAction::Create { role, name, expires } => cli::TokenCommand::Create {
                    role: role.into(),
                    name,
                    expires,
                },
                TokenAction::List => cli::TokenCommand::List,
                TokenAction::Revoke { id } => cli::TokenCommand::Revoke { id },
            };
            cli::token(&config, command, &mut out)?
        }
        Command::Audit {
            action: AuditAction::Verify,
        } => cli::audit_verify(&config, &mut out)?,
        Command::Deliveries { retry } => cli::deliveries(&config, retry.as_deref(), &mut out)?,
        Command::Compact => cli::compact(&config, &mut out)?,
        Command::Backup { out: file } => cli::backup(&config, &file, &mut out)?,
        Command::Restore { file } => cli::restore(&config, &file, &mut out)?,
        Command::Migrate { from, to } => cli::migrate(&from, &to, &mut out)?,
        Command::Serve { .. } => cli::serve(&config)?,
        Command::Demo {
            out: dir,
            seed,
            end,
            months,
            units,
        } => {
            let mut options = cli::default_demo_options(seed);
            if let Some(end) = end {
                options.end = end;
            }
            options.months = months;
            options.units = units;
            cli::demo(&dir, &options, &mut out)?
        }
    }
    Ok(())
}

/// The configuration: defaults, the TOML file, the environment (merged into
/// the flags by clap) and the flags, `serve`'s own among them.
fn configuration(cli: &Cli) -> Result<config::Config, CommandError> {
    let mut overrides = Overrides::default();
    if let Command::Serve {
        addr,
        no_demo,
        no_warm,
        public_dashboard,
        rate_limit_per_s,
        max_upload_mb,
        metrics_addr,
        shutdown_grace_s,
        poll_interval_s,
    } = &cli.command
    {
        overrides = Overrides {
            addr: addr.clone(),
            metrics_addr: metrics_addr.clone(),
            shutdown_grace_s: *shutdown_grace_s,
            poll_interval_s: *poll_interval_s,
            no_demo: *no_demo,
            no_warm: *no_warm,
            public_dashboard: *public_dashboard,
            rate_limit_per_s: *rate_limit_per_s,
            max_upload_mb: *max_upload_mb,
            ..overrides
        };
    }
    config::resolve(
        cli.config.as_deref(),
        Overrides {
            data: cli.data.clone(),
            queries: cli.queries.clone(),
            sql_memory_mb: cli.sql_memory_mb,
            query_timeout_s: cli.query_timeout_s,
            sql_row_cap: cli.sql_row_cap,
            log_format: cli.log_format.map(LogFormat::from),
            target_programs: cli
                .target_programs
                .as_deref()
                .map(config::program_list)
                .filter(|p| !p.is_empty()),
            release_deadline_day: cli.release_deadline_day,
            release_final_after_months: cli.release_final_after_months,
            ..overrides
        },
    )
    .map_err(CommandError::from)
}

impl From<LogFormatArg> for LogFormat {
    fn from(f: LogFormatArg) -> Self {
        match f {
            LogFormatArg::Text => LogFormat::Text,
            LogFormatArg::Json => LogFormat::Json,
        }
    }
}

impl From<LangArg> for Lang {
    fn from(l: LangArg) -> Self {
        match l {
            LangArg::Vi => Lang::Vi,
            LangArg::En => Lang::En,
        }
    }
}

impl From<FormatArg> for ShareFormat {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Json => ShareFormat::Json,
            FormatArg::Csv => ShareFormat::Csv,
            FormatArg::Table => ShareFormat::Table,
        }
    }
}

impl From<QueryFormatArg> for Format {
    fn from(f: QueryFormatArg) -> Self {
        match f {
            QueryFormatArg::Json => Format::Json,
            QueryFormatArg::Csv => Format::Csv,
            QueryFormatArg::Xlsx => Format::Xlsx,
            QueryFormatArg::Arrow => Format::Arrow,
            QueryFormatArg::Parquet => Format::Parquet,
        }
    }
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Viewer => Role::Viewer,
            RoleArg::Analyst => Role::Analyst,
            RoleArg::Filer => Role::Filer,
            RoleArg::Admin => Role::Admin,
        }
    }
}
