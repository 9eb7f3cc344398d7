//! The code map keeps itself true: run over the whole workspace, these fail
//! when a source file has no `//!` doc, a module has no row in
//! ARCHITECTURE.md (or a row names a module that is gone), or files import
//! each other in a loop. Each failure names the files to fix.

use std::collections::BTreeSet;
use std::path::PathBuf;

use tillcard_tidy::{
    PACKAGES, chinese_literals, cycles, has_module_doc, imports, names_a_module, row_names,
    rows_of_section, source_files,
};

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn architecture() -> String {
    let path = workspace_root().join("ARCHITECTURE.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_source_file_opens_with_a_doc_that_says_what_it_is_for() {
    let mut missing = Vec::new();
    let mut checked = 0;
    for package in PACKAGES {
        for file in source_files(&workspace_root(), package).unwrap() {
            checked += 1;
            if !has_module_doc(&file).unwrap_or_else(|e| panic!("{}: {e}", file.path.display())) {
                missing.push(file.path.display().to_string());
            }
        }
    }
    println!("{checked} source files checked");
    assert!(checked > 100, "the source walk found only {checked} files");
    assert!(
        missing.is_empty(),
        "source files without a `//!` doc: {missing:#?}"
    );
}

#[test]
fn every_module_has_its_row_in_architecture_md_and_every_row_a_module() {
    let architecture = architecture();
    let mut unmapped = Vec::new();
    let mut stale = Vec::new();
    for package in PACKAGES {
        let rows = rows_of_section(&architecture, package).unwrap_or_else(|| {
            panic!(
                "ARCHITECTURE.md has no `## Inside ... (`{}`)` section",
                package.section
            )
        });
        let files = source_files(&workspace_root(), package).unwrap();
        let modules: BTreeSet<String> = files
            .iter()
            .filter(|f| !f.is_crate_root() && !f.is_test_module())
            .map(|f| f.module.clone())
            .collect();
        for module in &modules {
            if !row_names(&rows, module) {
                unmapped.push(format!("{}: {module}", package.section));
            }
        }
        // A row may also describe a test-only module (not required).
        let every_module: BTreeSet<String> = files.iter().map(|f| f.module.clone()).collect();
        for row in &rows {
            if row != "module" && !names_a_module(row, &every_module) {
                stale.push(format!("{}: {row}", package.section));
            }
        }
    }
    assert!(
        unmapped.is_empty(),
        "modules with no row in ARCHITECTURE.md: {unmapped:#?}"
    );
    assert!(
        stale.is_empty(),
        "ARCHITECTURE.md rows naming no module: {stale:#?}"
    );
}

#[test]
fn no_two_files_import_each_other_directly_or_around_a_loop() {
    let mut found = Vec::new();
    let mut edges = 0;
    for package in PACKAGES {
        let files = source_files(&workspace_root(), package).unwrap();
        let graph = imports(&files).unwrap();
        edges += graph.values().map(|targets| targets.len()).sum::<usize>();
        for cycle in cycles(&graph) {
            // Each import inside the loop, so the failure says which to cut.
            let inside: Vec<String> = cycle
                .iter()
                .flat_map(|from| {
                    graph[from]
                        .iter()
                        .filter(|to| cycle.contains(to))
                        .map(move |to| format!("{from} -> {to}"))
                })
                .collect();
            found.push(format!("{}: {}", package.section, inside.join(", ")));
        }
    }
    println!("{edges} imports between files checked");
    assert!(edges > 100, "the import walk found only {edges} imports");
    assert!(found.is_empty(), "import cycles between files: {found:#?}");
}

#[test]
fn clerk_words_live_in_the_counter_text_module_not_in_flows_or_the_view_adapter() {
    // The router, the counter's state, every flow and the UI adapters hold
    // no clerk-facing words: those are functions in `counter/text` (and
    // `@tr()` strings in the views). Chinese text is the sign of one.
    let terminal = PACKAGES.iter().find(|p| p.dir == ".").unwrap();
    let mut found = Vec::new();
    let mut checked = 0;
    for file in source_files(&workspace_root(), terminal).unwrap() {
        let guarded = file.module == "counter/controller"
            || file.module == "counter/state"
            || file.module.starts_with("counter/flows")
            || file.module.starts_with("ui");
        if !guarded || file.is_test_module() {
            continue;
        }
        checked += 1;
        for literal in chinese_literals(&file).unwrap() {
            found.push(format!("{}: {literal:?}", file.path.display()));
        }
    }
    assert!(checked >= 8, "only {checked} files checked");
    assert!(
        found.is_empty(),
        "clerk words outside counter/text: {found:#?}"
    );
}
