//! Named points where a test makes the process die (`ECOMSHARE_FAULT=NAME`),
//! to check that a crash at that instant leaves a data directory the next
//! open brings back to a consistent state. Never set in production; owns
//! nothing else.

use std::sync::atomic::{AtomicU64, Ordering};

/// Aborts the process (as SIGKILL would stop it: no destructor, no flush)
/// when `ECOMSHARE_FAULT` names this point.
pub fn point(name: &str) {
    if armed(name) {
        abort(name);
    }
}

/// Whether `ECOMSHARE_FAULT` names this point (for a fault that does more
/// than stop, e.g. a torn write before the abort).
pub fn armed(name: &str) -> bool {
    std::env::var_os("ECOMSHARE_FAULT").is_some_and(|v| v == name)
}

/// The point just before something written aside is renamed (or linked)
/// into place at `target`: `before-rename:NAME` (the target's file name,
/// e.g. `before-rename:head.json`), or `rename#N`, the process's Nth such
/// point, so that a test can walk every rename a command makes without
/// knowing their names.
pub fn before_rename(target: &std::path::Path) {
    static RENAMES: AtomicU64 = AtomicU64::new(0);
    let Some(fault) = std::env::var_os("ECOMSHARE_FAULT") else {
        return;
    };
    let fault = fault.to_string_lossy();
    let n = RENAMES.fetch_add(1, Ordering::SeqCst) + 1;
    let name = target.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    if fault.strip_prefix("rename#").and_then(|k| k.parse().ok()) == Some(n)
        || fault.strip_prefix("before-rename:") == Some(&*name)
    {
        abort(&format!("rename #{n} ({})", target.display()));
    }
}

fn abort(at: &str) -> ! {
    eprintln!("ECOMSHARE_FAULT: aborting at {at}");
    std::process::abort();
}
