//! Compiles the Slint views in `ui/` (with the zh-CN translations bundled
//! into the binary, so no gettext files are needed at run time).

fn main() {
    println!("cargo:rerun-if-changed=ui/lang");
    println!("cargo:rerun-if-changed=ui/lang/zh_CN/LC_MESSAGES/tillcard.po");
    // The manifest directory is read when the script runs, not baked in when
    // it is compiled: a build script binary shared between checkouts (one
    // build directory for several worktrees) must not read another
    // checkout's translations.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let config = slint_build::CompilerConfiguration::new()
        .with_bundled_translations(format!("{manifest_dir}/ui/lang"))
        // One translation per string, whichever view shows it: the .po has
        // no msgctxt, so the same words read the same everywhere.
        .with_default_translation_context(slint_build::DefaultTranslationContext::None)
        .with_style("fluent".into())
        // Element debug info lets the headless UI tests find controls by
        // their accessible labels; release builds (packages, benchmarks)
        // leave it out.
        .with_debug_info(std::env::var("PROFILE").is_ok_and(|p| p == "debug"));
    if let Err(e) = slint_build::compile_with_config("ui/app.slint", config) {
        eprintln!("slint: {e}");
        std::process::exit(1);
    }
}
