//! Named points where a test makes the process die (`ECOMSHARE_FAULT=NAME`),
//! to check that a crash at that instant leaves a data directory the next
//! open brings back to a consistent state. Never set in production; owns
//! nothing else.

/// Aborts the process (as SIGKILL would stop it: no destructor, no flush)
/// when `ECOMSHARE_FAULT` names this point.
pub fn point(name: &str) {
    if std::env::var_os("ECOMSHARE_FAULT").is_some_and(|v| v == name) {
        eprintln!("ECOMSHARE_FAULT: aborting at {name}");
        std::process::abort();
    }
}

/// Whether `ECOMSHARE_FAULT` names this point (for a fault that does more
/// than stop, e.g. a torn write before the abort).
pub fn armed(name: &str) -> bool {
    std::env::var_os("ECOMSHARE_FAULT").is_some_and(|v| v == name)
}
