//! Where the terminal's bundled files are (demo cards, sounds): one answer
//! for the runtime and the sound thread, whether installed from the package
//! or run from the source tree.

use std::path::{Path, PathBuf};

/// The folder of bundled assets (demo cards): `TILLCARD_ASSETS`, else
/// `/usr/share/tillcard` when installed, else the source tree's `assets/`.
pub fn assets_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TILLCARD_ASSETS") {
        return PathBuf::from(dir);
    }
    let installed = Path::new("/usr/share/tillcard");
    let exe_in_usr = std::env::current_exe()
        .map(|p| p.starts_with("/usr/bin"))
        .unwrap_or(false);
    if exe_in_usr && installed.is_dir() {
        return installed.to_path_buf();
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/assets"))
}
