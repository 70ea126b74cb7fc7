//! Access tokens and browser sessions.
//!
//! Tokens live in `DATA/tokens.json`, so the CLI and the server see the same
//! set. A token is `esk_ID_SECRET` (ID 8 hex digits, SECRET 64 hex digits
//! from the OS's random source); only its SHA-256 is stored, the token
//! itself is shown once, at creation. A presented token is found by its ID
//! and its hash compared in constant time. A browser session is a cookie
//! `ID.EXPIRY.MAC`: an HMAC-SHA256, under a key kept in
//! `DATA/session.key`, of the token ID and expiry — so revoking the token
//! ends its sessions too.
//!
//! A token's last use (`last_used_at`) is written into the same file, at
//! most once per [`LAST_USE_EVERY_S`] per token: cheap enough for every
//! request, exact enough for deciding which tokens are still in use.
//!
//! No token, secret or MAC is ever logged or printed after creation.
//! Knows nothing of HTTP.

use crate::domain::Role;
use crate::util::durable;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;
use subtle::ConstantTimeEq;
use thiserror::Error;

/// How long a browser session lasts.
pub const SESSION_HOURS: i64 = 12;

/// A token's last use is written down at most this often (seconds): the
/// time shown is that of the first use in the hour, at most an hour behind.
pub const LAST_USE_EVERY_S: i64 = 3600;

/// The longest name a token may have, in characters.
pub const MAX_NAME_CHARS: usize = 200;

#[derive(Debug, Error)]
pub enum AuthError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a token store: {message}")]
    Corrupt { path: String, message: String },
    #[error("no token {0:?}")]
    UnknownToken(String),
    #[error("{0}")]
    Invalid(String),
}

impl AuthError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "io_error",
            Self::Corrupt { .. } => "tokens_corrupt",
            Self::UnknownToken(_) => "unknown_token",
            Self::Invalid(_) => "invalid_token_request",
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AuthError + '_ {
    move |source| AuthError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A token as stored: everything but the token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// Hex SHA-256 of the token.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub sha256: String,
    pub created_at: String,
    /// The last day it is valid (inclusive, `YYYY-MM-DD`), if it expires.
    pub expires: Option<String>,
    pub revoked_at: Option<String>,
    /// When it last proved who is calling (bearer or session), to within
    /// [`LAST_USE_EVERY_S`]; `None`: not used since it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
}

/// Where a token stands on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenState {
    Active,
    /// Past its last day.
    Expired,
    Revoked,
}

/// Why a token cannot be created as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestProblem {
    /// Empty, or longer than [`MAX_NAME_CHARS`].
    Name,
    /// The last day is before today.
    ExpiryPast,
}

impl RequestProblem {
    fn message(self) -> String {
        match self {
            Self::Name => format!("give the token a name of 1 to {MAX_NAME_CHARS} characters"),
            Self::ExpiryPast => "the expiry date is in the past".into(),
        }
    }
}

/// Whether a token of this name and last day may be created now.
pub fn check_request(name: &str, expires: Option<NaiveDate>, now: DateTime<Utc>) -> Result<(), RequestProblem> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(RequestProblem::Name);
    }
    if expires.is_some_and(|e| e < now.date_naive()) {
        return Err(RequestProblem::ExpiryPast);
    }
    Ok(())
}

impl TokenRecord {
    /// Active, expired or revoked on `today`.
    pub fn state_on(&self, today: NaiveDate) -> TokenState {
        if self.revoked_at.is_some() {
            TokenState::Revoked
        } else if self.valid_on(today) {
            TokenState::Active
        } else {
            TokenState::Expired
        }
    }

    fn valid_on(&self, today: NaiveDate) -> bool {
        let last_day = self
            .expires
            .as_deref()
            .map(|e| NaiveDate::parse_from_str(e, "%Y-%m-%d").unwrap_or(NaiveDate::MIN));
        self.revoked_at.is_none() && last_day.is_none_or(|e| today <= e)
    }

    /// The record without its hash, for listing.
    pub fn public(&self) -> Self {
        Self {
            sha256: String::new(),
            ..self.clone()
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StoreFile {
    tokens: Vec<TokenRecord>,
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The token's id; `None` in open local mode.
    pub token_id: Option<String>,
    pub role: Role,
}

use crate::util::digest::hex;

fn random_hex(n: usize) -> Result<String, AuthError> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| AuthError::Invalid(format!("the OS random source failed: {e}")))?;
    Ok(hex(&bytes))
}

type Stamp = Option<(SystemTime, u64)>;

/// `DATA/tokens.json`, re-read when it changes.
pub struct TokenStore {
    path: PathBuf,
    cached: Mutex<(Stamp, std::sync::Arc<Vec<TokenRecord>>)>,
    /// When this process last wrote down each token's use.
    noted: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl TokenStore {
    pub fn new(data: &Path) -> Self {
        Self {
            path: data.join("tokens.json"),
            cached: Mutex::new((None, std::sync::Arc::new(Vec::new()))),
            noted: Mutex::new(HashMap::new()),
        }
    }

    fn stamp(&self) -> Stamp {
        let m = std::fs::metadata(&self.path).ok()?;
        Some((m.modified().ok()?, m.len()))
    }

    fn read(&self) -> Result<StoreFile, AuthError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| AuthError::Corrupt {
                path: self.path.display().to_string(),
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StoreFile::default()),
            Err(e) => Err(io(&self.path)(e)),
        }
    }

    /// Every token, as of the file now (cached while the file is unchanged).
    fn tokens(&self) -> Result<std::sync::Arc<Vec<TokenRecord>>, AuthError> {
        let stamp = self.stamp();
        let mut cached = self.cached.lock().expect("token cache lock");
        if cached.0.is_none() || cached.0 != stamp {
            let tokens = std::sync::Arc::new(self.read()?.tokens);
            *cached = (stamp, tokens);
        }
        Ok(cached.1.clone())
    }

    /// True when no token was ever created: open local mode.
    pub fn is_empty(&self) -> Result<bool, AuthError> {
        Ok(self.tokens()?.is_empty())
    }

    /// Changes the file under an exclusive lock (CLI and server alike).
    fn update<T>(&self, f: impl FnOnce(&mut StoreFile) -> Result<T, AuthError>) -> Result<T, AuthError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let lock_path = dir.join(".tokens.lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        lock.lock().map_err(io(&lock_path))?;
        let mut file = self.read()?;
        let out = f(&mut file)?;
        let bytes = serde_json::to_vec_pretty(&file).expect("tokens serialize");
        durable::write_atomic(&self.path, &bytes).map_err(io(&self.path))?;
        Ok(out)
    }

    /// A new token: its record and the token itself (shown only this once).
    pub fn create(
        &self,
        role: Role,
        name: &str,
        expires: Option<NaiveDate>,
        now: DateTime<Utc>,
    ) -> Result<(TokenRecord, String), AuthError> {
        check_request(name, expires, now).map_err(|p| AuthError::Invalid(p.message()))?;
        let name = name.trim();
        self.update(|file| {
            let mut id = random_hex(4)?;
            while file.tokens.iter().any(|t| t.id == id) {
                id = random_hex(4)?;
            }
            let token = format!("esk_{id}_{}", random_hex(32)?);
            let record = TokenRecord {
                id,
                name: name.to_string(),
                role,
                sha256: hex(&Sha256::digest(token.as_bytes())),
                created_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
                expires: expires.map(|e| e.format("%Y-%m-%d").to_string()),
                revoked_at: None,
                last_used_at: None,
            };
            file.tokens.push(record.clone());
            Ok((record, token))
        })
    }

    pub fn list(&self) -> Result<Vec<TokenRecord>, AuthError> {
        Ok(self.tokens()?.iter().map(TokenRecord::public).collect())
    }

    pub fn revoke(&self, id: &str, now: DateTime<Utc>) -> Result<TokenRecord, AuthError> {
        self.update(|file| {
            let t = file
                .tokens
                .iter_mut()
                .find(|t| t.id == id)
                .ok_or_else(|| AuthError::UnknownToken(id.to_string()))?;
            if t.revoked_at.is_none() {
                t.revoked_at = Some(now.to_rfc3339_opts(SecondsFormat::Secs, true));
            }
            Ok(t.public())
        })
    }

    /// The identity a presented token proves, if it is a valid token.
    pub fn verify(&self, presented: &str, now: DateTime<Utc>) -> Option<Identity> {
        let id = presented.strip_prefix("esk_")?.split('_').next()?;
        let tokens = self.tokens().ok()?;
        let record = tokens.iter().find(|t| t.id == id)?;
        let digest = hex(&Sha256::digest(presented.as_bytes()));
        let same: bool = digest.as_bytes().ct_eq(record.sha256.as_bytes()).into();
        if !(same && record.valid_on(now.date_naive())) {
            return None;
        }
        self.note_use(record, now);
        Some(Identity {
            token_id: Some(record.id.clone()),
            role: record.role,
        })
    }

    /// Writes down that `record` was used now, unless its use was written
    /// down less than [`LAST_USE_EVERY_S`] ago (by this process or in the
    /// file). A failed write is logged and does not refuse the caller.
    fn note_use(&self, record: &TokenRecord, now: DateTime<Utc>) {
        let every = chrono::Duration::seconds(LAST_USE_EVERY_S);
        let recent = |t: DateTime<Utc>| now.signed_duration_since(t) < every;
        let in_file = record
            .last_used_at
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        if in_file.is_some_and(recent) {
            return;
        }
        {
            let mut noted = self.noted.lock().expect("token use lock");
            if noted.get(&record.id).is_some_and(|t| recent(*t)) {
                return;
            }
            noted.insert(record.id.clone(), now);
        }
        let written = self.update(|file| {
            if let Some(t) = file.tokens.iter_mut().find(|t| t.id == record.id) {
                t.last_used_at = Some(now.to_rfc3339_opts(SecondsFormat::Secs, true));
            }
            Ok(())
        });
        if let Err(e) = written {
            tracing::warn!(code = e.code(), error = %e, token_id = %record.id, "a token's last use was not written down");
        }
    }

    /// The identity of a token id still valid now (for sessions).
    fn by_id(&self, id: &str, now: DateTime<Utc>) -> Option<Identity> {
        let tokens = self.tokens().ok()?;
        let record = tokens.iter().find(|t| t.id == id)?;
        if !record.valid_on(now.date_naive()) {
            return None;
        }
        self.note_use(record, now);
        Some(Identity {
            token_id: Some(record.id.clone()),
            role: record.role,
        })
    }
}

/// Signs and checks session cookies.
pub struct Sessions {
    key: Vec<u8>,
}

impl Sessions {
    /// The key in `DATA/session.key`, created (random, owner-only) if missing.
    pub fn open(data: &Path) -> Result<Self, AuthError> {
        let path = data.join("session.key");
        if !path.exists() {
            std::fs::create_dir_all(data).map_err(io(data))?;
            let key = random_hex(32)?;
            durable::create_atomic(&path, key.as_bytes()).map_err(io(&path))?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(io(&path))?;
        }
        let key = std::fs::read(&path).map_err(io(&path))?;
        if key.len() < 32 {
            return Err(AuthError::Corrupt {
                path: path.display().to_string(),
                message: "the key is too short".into(),
            });
        }
        Ok(Self { key })
    }

    /// A key for this process only (when the data directory cannot keep one).
    pub fn ephemeral() -> Self {
        let mut key = vec![0u8; 32];
        // Without randomness, an all-zero key would be guessable: refuse sessions instead.
        if getrandom::fill(&mut key).is_err() {
            key.clear();
        }
        Self { key }
    }

    fn mac(&self, payload: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(payload.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// A session cookie's value for a token id, valid for [`SESSION_HOURS`].
    pub fn issue(&self, token_id: &str, now: DateTime<Utc>) -> String {
        let expiry = (now + chrono::Duration::hours(SESSION_HOURS)).timestamp();
        let payload = format!("{token_id}.{expiry}");
        format!("{payload}.{}", self.mac(&payload))
    }

    /// The anti-forgery token of the forms a browser gets under `binding`
    /// (its session cookie, or its anonymous browser cookie in open local
    /// mode): derived, so nothing is stored, and useless under another
    /// binding. Empty when sessions are refused (no key).
    pub fn csrf(&self, binding: &str) -> String {
        if self.key.is_empty() || binding.is_empty() {
            return String::new();
        }
        self.mac(&format!("csrf:{binding}"))
    }

    /// Whether `presented` is the anti-forgery token of `binding`
    /// (compared in constant time).
    pub fn csrf_matches(&self, binding: &str, presented: &str) -> bool {
        let expected = self.csrf(binding);
        !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
    }

    /// A new anonymous browser binding (random), for open local mode.
    pub fn new_binding() -> Result<String, AuthError> {
        random_hex(16)
    }

    /// The identity a session cookie proves: its MAC checks, it has not
    /// expired, and its token is still valid.
    pub fn verify(&self, cookie: &str, tokens: &TokenStore, now: DateTime<Utc>) -> Option<Identity> {
        if self.key.is_empty() {
            return None;
        }
        let (payload, mac) = cookie.rsplit_once('.')?;
        let same: bool = self.mac(payload).as_bytes().ct_eq(mac.as_bytes()).into();
        if !same {
            return None;
        }
        let (id, expiry) = payload.split_once('.')?;
        if expiry.parse::<i64>().ok()? <= now.timestamp() {
            return None;
        }
        tokens.by_id(id, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-10T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_token_proves_its_role_until_revoked_or_expired() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path());
        assert!(store.is_empty().unwrap());
        let (record, token) = store.create(Role::Analyst, "Phòng Thương mại", None, now()).unwrap();
        assert!(!store.is_empty().unwrap());
        assert_eq!(
            store.verify(&token, now()),
            Some(Identity {
                token_id: Some(record.id.clone()),
                role: Role::Analyst
            })
        );
        // Only the hash is stored, and listing shows not even that.
        let stored = std::fs::read_to_string(dir.path().join("tokens.json")).unwrap();
        assert!(!stored.contains(&token[9..]));
        assert!(store.list().unwrap()[0].sha256.is_empty());
        // A wrong secret with the right id, and garbage, prove nothing.
        let mut wrong = token.clone();
        wrong.pop();
        wrong.push(if token.ends_with('0') { '1' } else { '0' });
        assert_eq!(store.verify(&wrong, now()), None);
        assert_eq!(store.verify("esk_", now()), None);
        assert_eq!(store.verify("Bearer x", now()), None);
        store.revoke(&record.id, now()).unwrap();
        assert_eq!(store.verify(&token, now()), None);
        assert_eq!(store.revoke("nope", now()).unwrap_err().code(), "unknown_token");

        let day = now().date_naive();
        let (_, expiring) = store.create(Role::Viewer, "tạm", Some(day), now()).unwrap();
        assert!(store.verify(&expiring, now()).is_some(), "valid through its last day");
        assert_eq!(store.verify(&expiring, now() + chrono::Duration::days(1)), None);
        assert!(store.create(Role::Viewer, "cũ", day.pred_opt(), now()).is_err());
        assert!(store.create(Role::Viewer, "  ", None, now()).is_err());
    }

    #[test]
    fn a_tokens_last_use_is_written_down_at_most_once_an_hour() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path());
        let sessions = Sessions::open(dir.path()).unwrap();
        let (record, token) = store.create(Role::Viewer, "ban chỉ đạo", None, now()).unwrap();
        let last_use = |store: &TokenStore| store.list().unwrap()[0].last_used_at.clone();
        assert_eq!(last_use(&store), None, "not used yet");
        store.verify(&token, now()).unwrap();
        assert_eq!(last_use(&store).as_deref(), Some("2026-01-10T08:00:00Z"));
        // Within the hour, neither this process nor another writes it again.
        let later = now() + chrono::Duration::minutes(59);
        store.verify(&token, later).unwrap();
        assert!(TokenStore::new(dir.path()).verify(&token, later).is_some());
        assert_eq!(last_use(&store).as_deref(), Some("2026-01-10T08:00:00Z"));
        // A session counts as a use of its token.
        let cookie = sessions.issue(&record.id, now());
        let hour_on = now() + chrono::Duration::minutes(61);
        sessions.verify(&cookie, &store, hour_on).unwrap();
        assert_eq!(last_use(&store).as_deref(), Some("2026-01-10T09:01:00Z"));
        // A refused token is no use.
        store.revoke(&record.id, now()).unwrap();
        assert!(store.verify(&token, now() + chrono::Duration::hours(3)).is_none());
        assert_eq!(last_use(&store).as_deref(), Some("2026-01-10T09:01:00Z"));
    }

    #[test]
    fn a_token_is_active_expired_or_revoked() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path());
        let day = now().date_naive();
        let (r, _) = store.create(Role::Filer, "huyện", Some(day), now()).unwrap();
        assert_eq!(r.state_on(day), TokenState::Active);
        assert_eq!(r.state_on(day.succ_opt().unwrap()), TokenState::Expired);
        let r = store.revoke(&r.id, now()).unwrap();
        assert_eq!(r.state_on(day), TokenState::Revoked);
        assert_eq!(check_request(" ", None, now()), Err(RequestProblem::Name));
        assert_eq!(check_request(&"x".repeat(201), None, now()), Err(RequestProblem::Name));
        assert_eq!(
            check_request("x", day.pred_opt(), now()),
            Err(RequestProblem::ExpiryPast)
        );
        assert_eq!(check_request("x", Some(day), now()), Ok(()));
    }

    #[test]
    fn a_session_cookie_is_signed_expires_and_dies_with_its_token() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path());
        let sessions = Sessions::open(dir.path()).unwrap();
        let (record, _) = store.create(Role::Viewer, "ban chỉ đạo", None, now()).unwrap();
        let cookie = sessions.issue(&record.id, now());
        assert_eq!(
            sessions.verify(&cookie, &store, now()).map(|i| i.role),
            Some(Role::Viewer)
        );
        let forged = cookie.replace(&record.id, "00000000");
        assert_eq!(sessions.verify(&forged, &store, now()), None);
        let later = now() + chrono::Duration::hours(SESSION_HOURS) + chrono::Duration::seconds(1);
        assert_eq!(sessions.verify(&cookie, &store, later), None);
        // Another key (another data directory) does not accept it.
        let other = tempfile::tempdir().unwrap();
        assert_eq!(
            Sessions::open(other.path()).unwrap().verify(&cookie, &store, now()),
            None
        );
        store.revoke(&record.id, now()).unwrap();
        assert_eq!(sessions.verify(&cookie, &store, now()), None);
    }
}
