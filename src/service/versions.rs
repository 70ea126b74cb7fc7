//! Dataset versions as the service reads them: the reference in force,
//! the latest version, and the snapshots (`Loaded`) of the current and of
//! past versions — loaded, readied (contributions and the answers the
//! version before had given) and installed before any request reads them.
//! Owns the caches of snapshots and of the reference; computes no figure.

use super::{App, AppError, ShareParams, ShareResponse};
use crate::domain::Reference;
use crate::engine::{EngineError, Snapshot};
use crate::store::Manifest;
use crate::store::rollup::Rollup;
use std::collections::{BTreeSet, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// What a snapshot was built from, to know when to rebuild it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StateTag {
    pub dataset_version: u64,
    pub reference: u64,
}

pub(super) struct Loaded {
    pub(super) tag: StateTag,
    pub(super) reference: Arc<Reference>,
    pub(super) snapshot: Snapshot,
    /// Answers already given on this snapshot: a dataset version never
    /// changes, so neither do its figures. Keyed by the parameters and the
    /// epoch of "now" (its month, which the default range depends on for an
    /// empty dataset, and whether its deadline day has passed: the months'
    /// release states depend on both).
    /// Each answer is computed once however many requests ask for it at the
    /// same time: the first computes; the others take the previous
    /// version's answer when it has one, else wait for the result.
    pub(super) answers: Mutex<HashMap<AnswerKey, Arc<AnswerCell>>>,
    /// The disclosure-controlled month × district × sector table analysts'
    /// SQL reads (`cells`), built on first use.
    pub(super) protected_cells: tokio::sync::OnceCell<datafusion::arrow::array::RecordBatch>,
    /// Each batch of the version and the months it changed (`None`: every month).
    pub(super) batch_months: Vec<(u64, Option<BTreeSet<String>>)>,
}

impl Loaded {
    /// The version whose batch last changed `month`'s effective filings (0
    /// when none did): the month's filings are the same in every version
    /// from that one to this.
    pub(super) fn changed_by(&self, month: &str) -> u64 {
        self.batch_months
            .iter()
            .rev()
            .find(|(_, months)| months.as_ref().is_none_or(|m| m.contains(month)))
            .map_or(0, |(seq, _)| *seq)
    }
}

/// A share answer's key in a snapshot's answers.
pub(super) type AnswerKey = (ShareParams, crate::domain::release::Epoch);

/// One share answer, computed at most once per snapshot.
#[derive(Default)]
pub(super) struct AnswerCell {
    pub(super) value: tokio::sync::OnceCell<Arc<ShareResponse>>,
    /// Set by the request that computes the value (cleared if it fails).
    pub(super) started: std::sync::atomic::AtomicBool,
}

/// Answers kept per snapshot before the cache starts afresh.
pub(super) const MAX_CACHED_ANSWERS: usize = 512;

/// Answers of the snapshot before that a new version computes before it is
/// installed (`App::ready_latest`); others are computed when asked.
pub(super) const READIED_ANSWERS: usize = 64;

/// Snapshots of past versions (`as_of`) kept loaded.
pub(super) const MAX_PAST_SNAPSHOTS: usize = 4;

/// The reference in force as last read: its texts, the stamps of the
/// override files when they were settled, the parsed tables and their
/// fingerprint.
pub(super) struct ReferenceCache {
    pub(super) texts: crate::store::ReferenceFiles,
    pub(super) stamps: Option<Vec<Option<crate::store::Stamp>>>,
    pub(super) reference: Arc<Reference>,
    pub(super) fingerprint: u64,
}

impl App {
    pub fn reference(&self) -> Result<Arc<Reference>, AppError> {
        Ok(self.reference_in_force()?.0)
    }

    /// The reference in force and its fingerprint, parsed again only when
    /// the texts in force changed.
    fn reference_in_force(&self) -> Result<(Arc<Reference>, u64), AppError> {
        // Unchanged settled stamps of the override files: the texts are
        // those already parsed, and no file is read.
        let stamps = self.warehouse.reference_stamps()?;
        let settled = stamps.iter().flatten().all(|s| s.settled());
        let mut cache = self.reference_cache.lock().expect("reference cache lock");
        if let Some(cached) = cache.as_ref()
            && settled
            && cached.stamps.as_ref() == Some(&stamps)
        {
            return Ok((cached.reference.clone(), cached.fingerprint));
        }
        let files = crate::store::reference_files(&self.warehouse)?;
        if let Some(cached) = cache.as_mut()
            && cached.texts == files
        {
            cached.stamps = settled.then_some(stamps);
            return Ok((cached.reference.clone(), cached.fingerprint));
        }
        let reference = Arc::new(self.with_priority(files.parse()?));
        let fingerprint = reference_fingerprint(&reference);
        *cache = Some(ReferenceCache {
            texts: files,
            stamps: settled.then_some(stamps),
            reference: reference.clone(),
            fingerprint,
        });
        Ok((reference, fingerprint))
    }

    /// `reference` with the configured priority of the targets' programmes
    /// (`[targets] programs`); a programme it does not have is said once.
    fn with_priority(&self, reference: Reference) -> Reference {
        let reference = reference.with_target_priority(self.options.target_programs.clone());
        for program in reference.targets.unknown_priorities() {
            tracing::warn!(
                program,
                "a configured target programme is not in targets.csv: it never governs"
            );
        }
        reference
    }

    /// The latest dataset version, from the log directory's listing,
    /// listed again only when the directory's settled stamp changes.
    fn latest_version(&self) -> Result<u64, AppError> {
        let stamp = self.warehouse.manifest_stamp()?;
        let mut cache = self.version_cache.lock().expect("version cache lock");
        if let (Some((cached, version)), Some(now)) = (cache.as_ref(), stamp)
            && *cached == now
        {
            return Ok(*version);
        }
        let version = self.warehouse.latest_version()?.unwrap_or(0);
        *cache = stamp.filter(|s| s.settled()).map(|s| (s, version));
        Ok(version)
    }

    /// The latest dataset version (0 before the first commit); lists the
    /// log directory only.
    pub fn dataset_version(&self) -> Result<u64, AppError> {
        Ok(self.warehouse.latest_version()?.unwrap_or(0))
    }

    /// Cheap fingerprint of the data a figure depends on.
    pub fn state_tag(&self) -> Result<StateTag, AppError> {
        Ok(self.current()?.0)
    }

    /// The state tag and the reference in force. Lists the log
    /// directory but reads no entry: a request that finds its snapshot
    /// cached reads only the small reference files.
    pub(super) fn current(&self) -> Result<(StateTag, Arc<Reference>), AppError> {
        let (reference, fingerprint) = self.reference_in_force()?;
        let tag = StateTag {
            dataset_version: self.latest_version()?,
            reference: fingerprint,
        };
        Ok((tag, reference))
    }

    /// Absolute paths of the files to read for a version's filings and
    /// superseded row ids: its batches' own, or the compacted segments
    /// that stand for runs of them (the same rows).
    pub(super) fn version_files(&self, manifest: &Manifest) -> Result<(Vec<PathBuf>, Vec<PathBuf>), AppError> {
        let index = self.warehouse.segments()?;
        let (filings, superseded) = crate::store::version_files(manifest, &index);
        let absolute = |v: Vec<String>| v.iter().map(|p| self.warehouse.path_of(p)).collect();
        Ok((absolute(filings), absolute(superseded)))
    }

    /// The latest version's snapshot, waiting for a load in progress.
    pub(super) async fn load(&self) -> Result<Arc<Loaded>, AppError> {
        Ok(self.load_with(true).await?.0)
    }

    /// The latest version's snapshot. Without `wait`, when the snapshot
    /// installed is of an earlier dataset version, that one (its answers
    /// name their version; `App::share_without_waiting` starts readying the
    /// latest). A new reference alone is always waited for: an answer of
    /// the same version under the old reference would say nothing of it.
    /// Also says whether the snapshot is of the state read when asked
    /// (false: the one before).
    pub(super) async fn load_with(&self, wait: bool) -> Result<(Arc<Loaded>, bool), AppError> {
        let (tag, _) = self.current()?;
        let installed = self.loaded.lock().expect("cache lock").clone();
        match installed {
            Some(l) if l.tag == tag => Ok((l, true)),
            Some(before) if !wait && before.tag.dataset_version != tag.dataset_version => Ok((before, false)),
            _ => Ok((self.ready_latest().await?, true)),
        }
    }

    /// Makes `loaded` the current snapshot; the one it replaces stands in
    /// while its answers are computed.
    fn install(&self, loaded: Arc<Loaded>) {
        let before = self.loaded.lock().expect("cache lock").replace(loaded);
        self.lifecycle.readied();
        *self.previous.lock().expect("cache lock") = before;
        // Results of the previous current version answer no more requests.
        self.results.retain_as_of();
    }

    /// Loads the latest version and readies it before any request reads
    /// it, then installs it. A server does this after a commit of its own
    /// (so that the committer's next answers are the new version's), and in
    /// the background when the share API first sees a version committed
    /// elsewhere. Meanwhile the share API answers from the snapshot before
    /// (its answers name their version) and callers that must have the
    /// latest version wait. Returns the version.
    pub async fn publish_latest(&self) -> Result<u64, AppError> {
        Ok(self.ready_latest().await?.tag.dataset_version)
    }

    /// [`App::publish_latest`], returning the snapshot. Readying is
    /// disclosure control's contributions of the months the version's last
    /// batch changed, and the answers the snapshot it replaces had given
    /// (the dashboard's), at most [`READIED_ANSWERS`]: so no request waits
    /// seconds for a new version's first answers.
    async fn ready_latest(&self) -> Result<Arc<Loaded>, AppError> {
        let _loading = self.loading.lock().await;
        let (tag, reference) = self.current()?;
        let installed = self.loaded.lock().expect("cache lock").clone();
        if let Some(l) = installed.as_ref().filter(|l| l.tag == tag) {
            return Ok(l.clone());
        }
        let started = std::time::Instant::now();
        let loaded = self.load_version(tag, reference).await?;
        if let Err(e) = self.keep_contributions_of(&loaded, false).await {
            // Counted when a protected answer first needs them, then.
            tracing::warn!(error = %e, "counting a new version's contributions failed");
        }
        // Answers are keyed by the epoch they were asked in (the default
        // range and the release states depend on it): those of an earlier
        // epoch are asked no more.
        let epoch = self.time_tag().epoch;
        let given: Vec<AnswerKey> = match &installed {
            Some(before) => {
                let answers = before.answers.lock().expect("answers lock");
                answers
                    .iter()
                    .filter(|(key, cell)| key.1 == epoch && cell.value.initialized())
                    .map(|(key, _)| key.clone())
                    .take(READIED_ANSWERS)
                    .collect()
            }
            None => Vec::new(),
        };
        let mut readied = 0;
        for key in given {
            // A failure here is the request's to report, when it asks.
            if let Ok(answer) = self.compute_share(&key.0, &loaded, false).await {
                let cell = AnswerCell {
                    value: tokio::sync::OnceCell::new_with(Some(Arc::new(answer))),
                    started: std::sync::atomic::AtomicBool::new(true),
                };
                loaded.answers.lock().expect("answers lock").insert(key, Arc::new(cell));
                readied += 1;
            }
        }
        tracing::debug!(
            version = tag.dataset_version,
            answers = readied,
            "a new version readied"
        );
        self.install(loaded.clone());
        metrics::histogram!("ecomshare_dataset_ready_duration_seconds").record(started.elapsed());
        Ok(loaded)
    }

    /// Sets the gauges of the dataset version in service, the newest
    /// committed, and the lag between them (at a metrics scrape).
    pub fn observe_versions(&self) -> Result<(), AppError> {
        let newest = self.latest_version()?;
        let serving = self
            .loaded
            .lock()
            .expect("cache lock")
            .as_ref()
            .map_or(0, |l| l.tag.dataset_version);
        metrics::gauge!("ecomshare_dataset_version_serving").set(serving as f64);
        metrics::gauge!("ecomshare_dataset_version_newest").set(newest as f64);
        metrics::gauge!("ecomshare_dataset_version_lag").set(newest.saturating_sub(serving) as f64);
        Ok(())
    }

    async fn load_version(&self, tag: StateTag, reference: Arc<Reference>) -> Result<Arc<Loaded>, AppError> {
        let manifest = match tag.dataset_version {
            0 => Manifest::empty(),
            version => self.warehouse.manifest(version)?,
        };
        let (files, superseded) = self.version_files(&manifest)?;
        let rollup = match manifest.rollup_file() {
            // Reading a large rollup takes a CPU for a while: not on a
            // thread that serves requests.
            Some(path) => {
                let path = self.warehouse.path_of(path);
                let whole = self.options.read_rollup_whole;
                let read = tokio::task::spawn_blocking(move || {
                    let rollup = Rollup::read(&path)?;
                    if whole {
                        rollup.load_all()?;
                    }
                    Ok::<_, crate::store::rollup::RollupError>(rollup)
                });
                match read
                    .await
                    .map_err(|e| AppError::Engine(EngineError::Shape(format!("reading the rollup failed: {e}"))))?
                {
                    Ok(rollup) => Some(Arc::new(rollup)),
                    // Answered from the filings instead (the same figures,
                    // more slowly); the next commit builds a new rollup.
                    Err(e) => {
                        tracing::warn!(
                            version = tag.dataset_version,
                            error = %e,
                            "the rollup of the version cannot be read: answering from its filings"
                        );
                        None
                    }
                }
            }
            None => None,
        };
        let snapshot = Snapshot::load(&files, &superseded, reference.clone(), self.options.limits, rollup).await?;
        Ok(Arc::new(Loaded {
            tag,
            reference,
            snapshot,
            answers: Mutex::new(HashMap::new()),
            protected_cells: tokio::sync::OnceCell::new(),
            batch_months: manifest
                .batches
                .iter()
                .map(|b| (b.seq, b.periods.as_ref().map(|p| p.iter().cloned().collect())))
                .collect(),
        }))
    }

    /// The snapshot of `as_of` (a version of this warehouse, read with the
    /// reference tables kept with it), or of the current version with the
    /// reference in force when `None`.
    pub(super) async fn load_at(&self, as_of: Option<u64>) -> Result<Arc<Loaded>, AppError> {
        let (tag, current_reference) = self.current()?;
        let version = match as_of {
            None => return self.load().await,
            Some(v) if v > tag.dataset_version => {
                return Err(AppError::bad(
                    "unknown_version",
                    format!("as_of={v}: the warehouse is at version {}", tag.dataset_version),
                ));
            }
            Some(v) => v,
        };
        let recorded = match version {
            0 => None,
            v => self.warehouse.manifest(v)?.reference_file().map(str::to_string),
        };
        let reference = match recorded {
            Some(path) => Arc::new(self.with_priority(crate::store::recorded_reference(&self.warehouse, &path)?)),
            None => current_reference,
        };
        let tag = StateTag {
            dataset_version: version,
            reference: reference_fingerprint(&reference),
        };
        if let Some(hit) = self.past.lock().expect("past lock").iter().find(|l| l.tag == tag) {
            return Ok(hit.clone());
        }
        let loaded = self.load_version(tag, reference).await?;
        let mut past = self.past.lock().expect("past lock");
        if past.len() >= MAX_PAST_SNAPSHOTS {
            past.remove(0);
        }
        past.push(loaded.clone());
        Ok(loaded)
    }
}

fn reference_fingerprint(r: &Reference) -> u64 {
    let mut h = DefaultHasher::new();
    for d in &r.districts {
        (
            &d.district_code,
            &d.district_name,
            &d.name_en,
            &d.valid_from,
            &d.valid_to,
        )
            .hash(&mut h);
        (d.lat.to_bits(), d.lon.to_bits()).hash(&mut h);
    }
    // The communes in force: the outlook counts them.
    for c in &r.communes {
        (&c.commune_code, &c.commune_name, &c.district_code, &c.valid_from).hash(&mut h);
    }
    for s in &r.sectors {
        (&s.group_code, &s.group_name, &s.name_en).hash(&mut h);
    }
    for v in &r.vsic {
        (&v.vsic_code, &v.group_code, &v.vsic_name).hash(&mut h);
    }
    // Every row and the priority: an answer's targets change with either.
    for t in r.targets.rows() {
        (&t.program, t.indicator, &t.scope, t.year, t.kind, t.low, t.high).hash(&mut h);
    }
    r.targets.priority().hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Format;
    use crate::service::{Audience, IngestSource};

    /// Regression (issue 8): after a commit at 100M filings every
    /// connection stalled for seconds while the new version was loaded and
    /// its answers computed. While one request loads it, or computes an
    /// answer for it, the others take the version before's answer.
    #[test]
    fn while_a_new_version_is_loaded_or_answered_the_others_take_the_version_before() {
        let dir = tempfile::tempdir().unwrap();
        let app = Arc::new(App::open(dir.path().join("data")).unwrap());
        let ingest = |units: std::ops::Range<u32>| {
            let mut text =
                String::from("unit_id,district_code,sector_code,period,total_revenue_vnd,ecommerce_revenue_vnd\n");
            for n in units {
                let unit = crate::domain::unit_id::complete_tax_code(&format!("28{n:07}")).unwrap_or_default();
                if !unit.is_empty() {
                    text.push_str(&format!("{unit},380,4711,2025-01,1000,100\n"));
                }
            }
            let report = app
                .ingest(vec![IngestSource::Bytes {
                    name: "f.csv".into(),
                    format: Some(Format::Csv),
                    bytes: text.into_bytes(),
                }])
                .unwrap();
            assert!(report.committed);
        };
        let params = ShareParams {
            from: Some("2025-01".into()),
            to: Some("2025-01".into()),
            by: Some("district".into()),
            ..ShareParams::default()
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let version = |app: &Arc<App>| {
            let answer = rt.block_on(async {
                tokio::time::timeout(std::time::Duration::from_secs(10), app.share_without_waiting(&params)).await
            });
            let (answer, latest) = answer.expect("answered without waiting").unwrap();
            assert_eq!(latest, answer.dataset_version == app.dataset_version().unwrap());
            answer.dataset_version
        };
        ingest(0..20);
        assert_eq!(version(&app), 1);

        // Version 2 committed; another request is loading and readying it.
        ingest(20..40);
        let loading = app.loading.try_lock().unwrap();
        assert_eq!(version(&app), 1, "the version before, while another request readies");
        let strict = rt
            .block_on(async { tokio::time::timeout(std::time::Duration::from_millis(300), app.share(&params)).await });
        assert!(strict.is_err(), "App::share waits for the new version");
        drop(loading);
        // The share API never loads a version itself: it readies it in the
        // background, answering from the version before meanwhile.
        let mut seen = Vec::new();
        for _ in 0..200 {
            seen.push(version(&app));
            if seen.last() == Some(&2) {
                break;
            }
            rt.block_on(async { tokio::time::sleep(std::time::Duration::from_millis(10)).await });
        }
        assert_eq!(seen.last(), Some(&2), "then the new version");
        assert!(seen.iter().all(|v| [1, 2].contains(v)));

        // Version 3 installed; another request is computing this answer.
        ingest(40..60);
        assert_eq!(rt.block_on(app.publish_latest()).unwrap(), 3);
        let loaded = app.loaded.lock().unwrap().clone().unwrap();
        let key = (params.clone(), app.time_tag().epoch);
        let cell = Arc::new(AnswerCell::default());
        loaded.answers.lock().unwrap().insert(key, cell.clone());
        cell.started.store(true, std::sync::atomic::Ordering::Release);
        assert_eq!(version(&app), 2, "the version before, while another request computes");
        assert_eq!(
            rt.block_on(app.share(&params)).unwrap().dataset_version,
            3,
            "App::share never"
        );
        cell.started.store(false, std::sync::atomic::Ordering::Release);
        assert_eq!(version(&app), 3, "then the new version's own answer");
        // Asked as of a version, an answer is never another version's.
        let as_of = ShareParams {
            as_of: Some("1".into()),
            ..params.clone()
        };
        let (answer, latest) = rt.block_on(app.share_without_waiting(&as_of)).unwrap();
        assert_eq!((answer.dataset_version, latest), (1, true));
    }

    /// Regression (issue 8): while a month was uploaded at 100M filings,
    /// the first request for each dashboard answer of the new version
    /// waited seconds (the month's contributions, then the answer, computed
    /// on request; measured in benches/results-2026-11-27-100m.md). A
    /// version is now readied before it is installed.
    #[test]
    fn a_published_version_has_its_answers_and_contributions_before_any_request() {
        let dir = tempfile::tempdir().unwrap();
        let app = Arc::new(App::open(dir.path().join("data")).unwrap());
        let ingest = |month: &str, units: std::ops::Range<u32>| {
            let mut text =
                String::from("unit_id,district_code,sector_code,period,total_revenue_vnd,ecommerce_revenue_vnd\n");
            for n in units {
                let unit = crate::domain::unit_id::complete_tax_code(&format!("28{n:07}")).unwrap_or_default();
                if !unit.is_empty() {
                    let district = 380 + n % 3;
                    text.push_str(&format!("{unit},{district},4711,{month},{},{}\n", 1000 + n, 10 * n));
                }
            }
            let report = app
                .ingest(vec![IngestSource::Bytes {
                    name: format!("{month}.csv"),
                    format: Some(Format::Csv),
                    bytes: text.into_bytes(),
                }])
                .unwrap();
            assert!(report.committed);
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let asked: Vec<ShareParams> = [Audience::Full, Audience::Protected]
            .into_iter()
            .flat_map(|audience| {
                [None, Some("district"), Some("period")].map(|by| ShareParams {
                    audience,
                    from: Some("2025-01".into()),
                    to: Some("2025-02".into()),
                    by: by.map(str::to_string),
                    ..ShareParams::default()
                })
            })
            .collect();
        let k = crate::domain::disclosure::kept_per_cell(&app.options.disclosure);
        let kept = |month: &str, version: u64| {
            let cell = app.kept.lock().unwrap().get(&(month.to_string(), version, k)).cloned();
            cell.is_some_and(|cell| cell.initialized())
        };
        ingest("2025-01", 0..40);
        assert_eq!(rt.block_on(app.publish_latest()).unwrap(), 1);
        assert!(
            kept("2025-01", 1),
            "the month the batch changed has its contributions kept"
        );
        for params in &asked {
            assert_eq!(
                rt.block_on(app.share_without_waiting(params))
                    .unwrap()
                    .0
                    .dataset_version,
                1
            );
        }

        ingest("2025-02", 0..40);
        assert_eq!(rt.block_on(app.publish_latest()).unwrap(), 2);
        assert!(kept("2025-02", 2));
        // Every answer the version before had given is the new version's
        // already, and equals the answer computed afresh.
        let computed = app.share_answers_computed();
        for params in &asked {
            let (answer, latest) = rt.block_on(app.share_without_waiting(params)).unwrap();
            assert!(latest);
            assert_eq!(answer.dataset_version, 2);
            let fresh = rt.block_on(app.share_uncached(params)).unwrap();
            assert_eq!(
                serde_json::to_value(&answer).unwrap(),
                serde_json::to_value(&fresh).unwrap()
            );
        }
        assert_eq!(
            app.share_answers_computed(),
            computed + asked.len() as u64,
            "only the fresh answers were computed"
        );
        assert_eq!(
            rt.block_on(app.publish_latest()).unwrap(),
            2,
            "publishing again changes nothing"
        );
    }
}
