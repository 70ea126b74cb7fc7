//! Kill -9 at random moments: the ingest command and the server in the
//! middle of an upload are killed after a random delay, again and again;
//! after each kill the data directory must read cleanly, hold only whole
//! batches, and take the next ingest; at the end its figures must equal
//! those of a clean run of the same files.
//!
//! CI runs a short version. The long run is the same test with more
//! iterations, on a release build:
//! `CRASH_ITERATIONS=200 cargo test --release --test it crash:: -- --nocapture`.
//! `CRASH_SEED` repeats a run (the seed is printed).

use crate::common;

use common::{Env, bin, kill, post_filings, serve, state};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn iterations() -> usize {
    std::env::var("CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6)
}

/// Distinct filing files (demo data of different seeds).
fn files(env: &Env, n: usize) -> Vec<PathBuf> {
    (0..n)
        .map(|i| {
            let dir = env.path(&format!("demo{i}"));
            let r = env.run(&[
                "demo",
                "--out",
                dir.to_str().unwrap(),
                "--seed",
                &(i + 1).to_string(),
                "--end",
                "2025-06",
                "--months",
                "6",
                "--units",
                "300",
            ]);
            assert_eq!(r.code, 0, "{}", r.stderr);
            dir.join("filings.csv")
        })
        .collect()
}

fn ingest_cmd(data: &Path, file: &Path) -> std::process::Command {
    let mut c = bin(data);
    c.arg("ingest").arg(file);
    c
}

#[test]
fn killing_the_ingest_at_random_moments_never_leaves_half_a_batch() {
    let env = Env::new();
    let n = iterations();
    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("CRASH_SEED={seed}");
    let mut rng = Lcg(seed);
    let inputs = files(&env, 3);

    // A clean run, and how long one ingest takes.
    let clean = env.path("clean");
    let started = Instant::now();
    for f in &inputs {
        assert!(ingest_cmd(&clean, f).output().unwrap().status.success());
    }
    let typical = started.elapsed() / inputs.len() as u32;
    let expected = state(&clean);

    let crashed = env.path("crashed");
    let mut kills = 0;
    for i in 0..n {
        // Kill an ingest of the next file somewhere within its usual time.
        let file = &inputs[i % inputs.len()];
        let child = ingest_cmd(&crashed, file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let delay = Duration::from_micros(rng.next() % (typical.as_micros() as u64 + 1));
        std::thread::sleep(delay);
        kill(child);
        kills += 1;
        // Whatever the moment, the directory reads, at a whole version.
        let (version, _) = state(&crashed);
        assert!(version <= inputs.len() as u64, "iteration {i}: version {version}");
        // The same file again completes (or finds it already committed).
        let again = ingest_cmd(&crashed, file).output().unwrap();
        assert!(
            again.status.success(),
            "iteration {i} (delay {delay:?}): {}",
            String::from_utf8_lossy(&again.stdout)
        );
    }
    // Every file once more (those already in are recognised), then compare.
    for f in &inputs {
        assert!(ingest_cmd(&crashed, f).output().unwrap().status.success());
    }
    assert_eq!(
        state(&crashed),
        expected,
        "after {kills} kills the figures equal a clean run's"
    );
    // Nothing staged is left once a commit has run.
    let staging = crashed.join("staging");
    let left: Vec<_> = std::fs::read_dir(&staging)
        .map(|d| d.filter_map(Result::ok).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "staging holds {left:?}");
}

#[test]
fn killing_the_server_during_uploads_never_leaves_half_a_batch() {
    let env = Env::new();
    let n = iterations().div_ceil(2);
    let mut rng = Lcg(std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7));
    let inputs = files(&env, 2);
    let clean = env.path("clean");
    for f in &inputs {
        assert!(ingest_cmd(&clean, f).output().unwrap().status.success());
    }
    let expected = state(&clean);
    let data = env.path("served");
    for i in 0..n {
        let (server, port) = serve(&data);
        let file = &inputs[i % inputs.len()];
        let body = std::fs::read(file).unwrap();
        let name = format!("f{}.csv", i % inputs.len());
        let uploader = std::thread::spawn(move || post_filings(port, &name, &body));
        std::thread::sleep(Duration::from_millis(rng.next() % 600));
        kill(server);
        let _ = uploader.join();
        let (version, _) = state(&data);
        assert!(version <= inputs.len() as u64);
        // Restarted, the server takes the same upload.
        let (server, port) = serve(&data);
        let status = post_filings(
            port,
            &format!("f{}.csv", i % inputs.len()),
            &std::fs::read(file).unwrap(),
        );
        assert!(
            status.contains(" 201 ") || status.contains(" 200 "),
            "iteration {i}: {status}"
        );
        kill(server);
    }
    let (server, port) = serve(&data);
    for (i, f) in inputs.iter().enumerate() {
        let status = post_filings(port, &format!("f{i}.csv"), &std::fs::read(f).unwrap());
        assert!(status.contains(" 20"), "{status}");
    }
    kill(server);
    assert_eq!(state(&data), expected);
}
