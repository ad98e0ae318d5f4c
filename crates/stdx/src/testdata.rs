//! Where recorded real data lives, for tests and benches.
//!
//! The data is not the project's to commit: it stays in `../shared/data` beside the checkout.
//! Tests find it through `KESTREL_DATA_DIR` (default: `<workspace>/../shared/data`) and skip with
//! one clear line when it is absent.

use std::path::PathBuf;

/// The recorded-data folder, or `None` (after printing one line saying why) when it is absent.
///
/// `what` names the caller, so the skip line says which test skipped.
pub fn data_dir(what: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("KESTREL_DATA_DIR") {
        Some(d) => PathBuf::from(d),
        None => default_dir(),
    };
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skip {what}: recorded data not found at {} (set KESTREL_DATA_DIR)",
            dir.display()
        );
        None
    }
}

/// A file under the data folder, or `None` (with a skip line) when it is absent.
pub fn data_file(what: &str, relative: &str) -> Option<PathBuf> {
    let path = data_dir(what)?.join(relative);
    if path.is_file() {
        Some(path)
    } else {
        eprintln!("skip {what}: {} is absent", path.display());
        None
    }
}

/// `<workspace>/../shared/data`: where the data is when `KESTREL_DATA_DIR` is not set.
pub fn default_dir() -> PathBuf {
    crate::paths::workspace_root().join("../shared/data")
}
