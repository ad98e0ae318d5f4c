//! Where the checkout is, found at run time.
//!
//! A path compiled in with `env!("CARGO_MANIFEST_DIR")` names the directory the crate was
//! built in, and cargo does not rebuild a path crate whose checkout moved: two clones sharing
//! one `CARGO_TARGET_DIR` (a developer's tree and a CI clone) then run binaries that read the
//! *other* clone's configs, tools and fixtures, or fail when it is gone. Cargo and nextest set
//! `CARGO_MANIFEST_DIR` in the environment of every test, binary and example they run, so that
//! value comes first; the compiled-in one is for a binary run outside cargo.

use std::path::{Path, PathBuf};

/// The workspace root: the nearest directory at or above the running crate's manifest
/// directory (the environment's `CARGO_MANIFEST_DIR`) that is this workspace's (it holds
/// `Cargo.lock` and `crates/stdx/Cargo.toml`; a relative path, or another project's, is passed
/// over), else the one above this crate's build directory.
pub fn workspace_root() -> PathBuf {
    let root_above = |dir: &Path| {
        dir.is_absolute()
            .then(|| {
                dir.ancestors().find(|a| {
                    a.join("Cargo.lock").is_file() && a.join("crates/stdx/Cargo.toml").is_file()
                })
            })
            .flatten()
            .map(Path::to_path_buf)
    };
    std::env::var_os("CARGO_MANIFEST_DIR")
        .and_then(|dir| root_above(Path::new(&dir)))
        .or_else(|| root_above(Path::new(env!("CARGO_MANIFEST_DIR"))))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_holds_the_lock_file_and_this_crate() {
        let root = workspace_root();
        assert!(root.join("Cargo.lock").is_file(), "{}", root.display());
        assert!(
            root.join("crates/stdx/src/paths.rs").is_file(),
            "{}",
            root.display()
        );
    }
}
