//! Checks that keep the code map true: every source file teaches what it is
//! for (`//!`), every module has its row in ARCHITECTURE.md and every row
//! names a module that exists, and no two files import each other, directly
//! or around a loop. `tests/tidy.rs` runs them over the workspace, so a
//! change that breaks the map fails `cargo test` like any other bug.
//!
//! Source is read with `syn` (the parser every Rust proc macro uses), not
//! with patterns over text: `use` trees, paths in code and re-exports are
//! what the compiler sees. What `syn` cannot see (paths inside macro
//! invocations, doc links) does not count as an import; that only makes
//! the cycle check miss, never invent, an edge.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// One package's source tree, as the checks see it.
#[derive(Debug)]
pub struct Package {
    /// The package's folder, relative to the workspace root (`"."`, `"rules"`).
    pub dir: &'static str,
    /// The backticked name of the package's section in ARCHITECTURE.md
    /// (`"src/"` for `## Inside the terminal (`src/`)`).
    pub section: &'static str,
}

/// The workspace's packages whose modules the code map lists.
pub const PACKAGES: &[Package] = &[
    Package {
        dir: "rules",
        section: "rules/",
    },
    Package {
        dir: ".",
        section: "src/",
    },
    Package {
        dir: "sync/protocol",
        section: "sync/protocol/",
    },
    Package {
        dir: "sync/hq",
        section: "sync/hq/",
    },
    Package {
        dir: "print",
        section: "print/",
    },
    Package {
        dir: "tools/logscan",
        section: "tools/logscan/",
    },
    Package {
        dir: "tools/tidy",
        section: "tools/tidy/",
    },
    Package {
        dir: "tools/powerloss",
        section: "tools/powerloss/",
    },
];

/// A source file of a package, with its module path.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The file, relative to the workspace root.
    pub path: PathBuf,
    /// Its module path inside the crate, `/`-separated (`"store/sqlite"`,
    /// `"counter/checkout"`); crate roots are `"lib.rs"` or `"main.rs"`,
    /// binaries `"bin/<name>"`.
    pub module: String,
    /// The file's text.
    pub text: String,
}

impl SourceFile {
    /// Whether this file is a crate root (its row is the package's row).
    pub fn is_crate_root(&self) -> bool {
        self.module == "lib.rs"
    }

    /// Whether this file holds only unit tests or their helpers (`mod
    /// tests;` or `mod testing;` in its own file, declared under
    /// `#[cfg(test)]`).
    pub fn is_test_module(&self) -> bool {
        let name = self.module.rsplit('/').next().unwrap_or_default();
        name == "tests" || name == "testing"
    }
}

/// Every `.rs` file under `<package>/src`, sorted by path.
pub fn source_files(root: &Path, package: &Package) -> io::Result<Vec<SourceFile>> {
    let src = root.join(package.dir).join("src");
    let mut paths = Vec::new();
    collect_rs(&src, &mut paths)?;
    paths.sort();
    let mut files = Vec::new();
    for path in paths {
        let relative = path.strip_prefix(&src).unwrap_or(&path).to_path_buf();
        let text = fs::read_to_string(&path)?;
        files.push(SourceFile {
            path: Path::new(package.dir).join("src").join(&relative),
            module: module_of(&relative),
            text,
        });
    }
    Ok(files)
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_rs(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// `store/sqlite/mod.rs` → `store/sqlite`; `counter/text.rs` → `counter/text`.
fn module_of(relative: &Path) -> String {
    let text = relative.to_string_lossy().replace('\\', "/");
    if text == "lib.rs" || text == "main.rs" {
        return text;
    }
    let text = text.strip_suffix(".rs").unwrap_or(&text);
    text.strip_suffix("/mod").unwrap_or(text).to_owned()
}

/// Whether the file opens with a module doc comment (`//!`).
pub fn has_module_doc(file: &SourceFile) -> Result<bool, syn::Error> {
    let parsed = syn::parse_file(&file.text)?;
    Ok(parsed
        .attrs
        .iter()
        .any(|attr| matches!(attr.style, syn::AttrStyle::Inner(_)) && attr.path().is_ident("doc")))
}

/// The module names in the first cell of each table row of the package's
/// section of ARCHITECTURE.md (`"store/schema"`, `"counter/"`,
/// `"main.rs"`): every backticked word in that cell.
pub fn rows_of_section(architecture: &str, package: &Package) -> Option<BTreeSet<String>> {
    let heading = format!("`{}`", package.section);
    let mut lines = architecture.lines();
    lines.find(|line| line.starts_with("## ") && line.contains(&heading))?;
    let mut names = BTreeSet::new();
    for line in lines.take_while(|line| !line.starts_with("## ")) {
        let Some(first_cell) = line.strip_prefix('|').and_then(|l| l.split('|').next()) else {
            continue;
        };
        for (index, piece) in first_cell.split('`').enumerate() {
            if index % 2 == 1 {
                names.insert(piece.trim().to_owned());
            }
        }
    }
    Some(names)
}

/// Whether a row names this module: `store/schema`, or `store/` for the
/// folder module `store`.
pub fn row_names(rows: &BTreeSet<String>, module: &str) -> bool {
    rows.contains(module) || rows.contains(&format!("{module}/"))
}

/// Whether a row's name is a module of the package (or one of the rows
/// that name a table's heading, like `module`).
pub fn names_a_module(name: &str, modules: &BTreeSet<String>) -> bool {
    let name = name.trim_end_matches('/');
    modules.contains(name)
}

/// The files each file imports, by module path, within one crate.
///
/// An import is a private `use` (re-exports through `pub use` are a facade,
/// followed to where the item lives, not an import of their own) or a path
/// in code that starts with `crate`, `super` or `self`. Unit-test modules
/// (`#[cfg(test)]` items and `tests` files) are left out: they may use
/// their parent freely.
pub fn imports(files: &[SourceFile]) -> Result<BTreeMap<String, BTreeSet<String>>, syn::Error> {
    let crate_files: Vec<&SourceFile> = files.iter().filter(|f| !f.is_test_module()).collect();
    // Crate roots and binaries are their own crates' tops: `crate::` in a
    // binary means the binary, and lib.rs only declares and re-exports.
    let modules: BTreeSet<String> = crate_files
        .iter()
        .filter(|f| f.module != "main.rs" && !f.module.starts_with("bin/"))
        .map(|f| f.module.clone())
        .collect();
    let mut parsed = BTreeMap::new();
    for file in &crate_files {
        parsed.insert(file.module.clone(), syn::parse_file(&file.text)?);
    }
    let mut reexports: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for (module, file) in &parsed {
        let mut found = BTreeMap::new();
        for item in &file.items {
            if let syn::Item::Use(item) = item
                && !matches!(item.vis, syn::Visibility::Inherited)
            {
                for (name, path) in flatten_use(&item.tree) {
                    found.insert(name, path);
                }
            }
        }
        reexports.insert(module.clone(), found);
    }
    let resolver = Resolver {
        modules: &modules,
        reexports: &reexports,
    };
    let mut graph = BTreeMap::new();
    for (module, file) in &parsed {
        if module == "main.rs" || module.starts_with("bin/") {
            continue;
        }
        let here = if module == "lib.rs" {
            String::new()
        } else {
            module.clone()
        };
        let mut collector = PathCollector::default();
        for item in &file.items {
            if is_cfg_test(item) {
                continue;
            }
            match item {
                syn::Item::Use(item) if matches!(item.vis, syn::Visibility::Inherited) => {
                    collector
                        .paths
                        .extend(flatten_use(&item.tree).into_iter().map(|(_, p)| p));
                }
                syn::Item::Use(_) => {}
                other => collector.visit_item(other),
            }
        }
        let mut targets = BTreeSet::new();
        for path in collector.paths {
            if let Some(target) = resolver.resolve(&here, &path, 0)
                && target != here
                && !target.is_empty()
            {
                targets.insert(target);
            }
        }
        graph.insert(here, targets);
    }
    graph.remove("");
    Ok(graph)
}

fn is_cfg_test(item: &syn::Item) -> bool {
    let attrs = match item {
        syn::Item::Mod(m) => &m.attrs,
        syn::Item::Fn(f) => &f.attrs,
        syn::Item::Use(u) => &u.attrs,
        syn::Item::Impl(i) => &i.attrs,
        _ => return false,
    };
    attrs.iter().any(|attr| {
        attr.path().is_ident("cfg")
            && attr
                .parse_args::<syn::Ident>()
                .is_ok_and(|ident| ident == "test")
    })
}

/// `use a::{b, c::d as e}` → `[("b", [a, b]), ("e", [a, c, d])]`.
fn flatten_use(tree: &syn::UseTree) -> Vec<(String, Vec<String>)> {
    fn walk(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<(String, Vec<String>)>) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                walk(&p.tree, prefix, out);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let name = n.ident.to_string();
                let mut path = prefix.clone();
                if name != "self" {
                    path.push(name.clone());
                }
                let local = if name == "self" {
                    prefix.last().cloned().unwrap_or_default()
                } else {
                    name
                };
                out.push((local, path));
            }
            syn::UseTree::Rename(r) => {
                let mut path = prefix.clone();
                if r.ident != "self" {
                    path.push(r.ident.to_string());
                }
                out.push((r.rename.to_string(), path));
            }
            syn::UseTree::Glob(_) => out.push(("*".to_owned(), prefix.clone())),
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    walk(tree, prefix, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(tree, &mut Vec::new(), &mut out);
    out
}

/// Paths in code that start at the crate, the parent or this module.
#[derive(Default)]
struct PathCollector {
    paths: Vec<Vec<String>>,
}

impl<'ast> Visit<'ast> for PathCollector {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if segments
            .first()
            .is_some_and(|s| s == "crate" || s == "super" || s == "self")
            && segments.len() > 1
        {
            self.paths.push(segments);
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        // An inline `mod tests { use super::*; }` is test code.
        if !item.attrs.iter().any(|a| a.path().is_ident("cfg")) {
            syn::visit::visit_item_mod(self, item);
        }
    }
}

struct Resolver<'a> {
    modules: &'a BTreeSet<String>,
    reexports: &'a BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

impl Resolver<'_> {
    /// The module file a path from module `here` lands in, following
    /// re-exports; `None` for paths outside the crate.
    fn resolve(&self, here: &str, path: &[String], depth: usize) -> Option<String> {
        if depth > 8 {
            return None;
        }
        let mut segments = path.iter();
        let first = segments.next()?;
        let mut at: Vec<String> = match first.as_str() {
            "crate" => Vec::new(),
            "self" => split(here),
            "super" => {
                let mut parts = split(here);
                parts.pop();
                parts
            }
            name => {
                // A bare first segment is a child module of `here`, or
                // something outside the crate.
                let mut parts = split(here);
                parts.push(name.to_owned());
                if !self.modules.contains(&parts.join("/")) {
                    return None;
                }
                parts
            }
        };
        let rest: Vec<&String> = segments.collect();
        let mut index = 0;
        while index < rest.len() {
            let segment = rest[index];
            if segment == "super" {
                at.pop();
                index += 1;
                continue;
            }
            let mut deeper = at.clone();
            deeper.push(segment.clone());
            if self.modules.contains(&deeper.join("/")) {
                at = deeper;
                index += 1;
                continue;
            }
            // Not a module: an item of `at`, perhaps re-exported from elsewhere.
            let module = at.join("/");
            if let Some(target) = self
                .reexports
                .get(&module)
                .and_then(|r| r.get(segment.as_str()))
            {
                return self.resolve(&module, target, depth + 1);
            }
            return Some(module);
        }
        Some(at.join("/"))
    }
}

fn split(module: &str) -> Vec<String> {
    if module.is_empty() {
        Vec::new()
    } else {
        module.split('/').map(str::to_owned).collect()
    }
}

/// The string literals outside unit tests that hold Chinese text: clerk
/// words written where they should not be (they live in `counter/text`,
/// and in the views behind `@tr()`).
pub fn chinese_literals(file: &SourceFile) -> Result<Vec<String>, syn::Error> {
    #[derive(Default)]
    struct Literals {
        found: Vec<String>,
    }
    impl<'ast> Visit<'ast> for Literals {
        fn visit_lit_str(&mut self, literal: &'ast syn::LitStr) {
            let text = literal.value();
            if text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)) {
                self.found.push(text);
            }
        }
        fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
            if !item.attrs.iter().any(|a| a.path().is_ident("cfg")) {
                syn::visit::visit_item_mod(self, item);
            }
        }
    }
    let parsed = syn::parse_file(&file.text)?;
    let mut literals = Literals::default();
    for item in &parsed.items {
        if !is_cfg_test(item) {
            literals.visit_item(item);
        }
    }
    Ok(literals.found)
}

/// The import cycles of a graph: each strongly connected set of two or more
/// files (Tarjan's algorithm), sorted.
pub fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        next: usize,
        found: Vec<Vec<String>>,
    }
    fn visit<'g>(state: &mut State<'g>, node: &'g str) {
        state.index.insert(node, state.next);
        state.low.insert(node, state.next);
        state.next += 1;
        state.stack.push(node);
        state.on_stack.insert(node);
        if let Some(targets) = state.graph.get(node) {
            for target in targets {
                let target = target.as_str();
                if !state.graph.contains_key(target) {
                    continue;
                }
                if !state.index.contains_key(target) {
                    visit(state, target);
                    let low = state.low[target].min(state.low[node]);
                    state.low.insert(node, low);
                } else if state.on_stack.contains(target) {
                    let low = state.index[target].min(state.low[node]);
                    state.low.insert(node, low);
                }
            }
        }
        if state.low[node] == state.index[node] {
            let mut component = Vec::new();
            while let Some(member) = state.stack.pop() {
                state.on_stack.remove(member);
                component.push(member.to_owned());
                if member == node {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                state.found.push(component);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !state.index.contains_key(node.as_str()) {
            visit(&mut state, node);
        }
    }
    state.found.sort();
    state.found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(module: &str, text: &str) -> SourceFile {
        SourceFile {
            path: PathBuf::from(module),
            module: module.to_owned(),
            text: text.to_owned(),
        }
    }

    #[test]
    fn two_files_using_each_other_are_a_cycle_and_a_one_way_use_is_not() {
        let files = [
            file("lib.rs", "//! x\npub mod a; pub mod b; pub mod c;"),
            file("a", "//! a\nuse crate::b::Thing;\npub struct A;"),
            file(
                "b",
                "//! b\npub struct Thing; fn f() -> super::a::A { todo!() }",
            ),
            file("c", "//! c\nuse crate::a::A;"),
        ];
        let graph = imports(&files).unwrap();
        assert_eq!(cycles(&graph), vec![vec!["a".to_owned(), "b".to_owned()]]);
    }

    #[test]
    fn a_reexport_is_followed_to_where_the_item_lives() {
        let files = [
            file("lib.rs", "//! x\npub mod counter; pub mod ui;"),
            file(
                "counter",
                "//! c\npub mod controller;\npub use controller::Action;",
            ),
            file("counter/controller", "//! k\npub enum Action {}"),
            file("ui", "//! u\nuse crate::counter::Action;"),
        ];
        let graph = imports(&files).unwrap();
        assert!(graph["ui"].contains("counter/controller"), "{graph:?}");
        assert!(
            !graph["counter"].contains("counter/controller"),
            "a re-export is no import"
        );
        assert!(cycles(&graph).is_empty());
    }

    #[test]
    fn unit_tests_may_use_their_parent() {
        let files = [
            file("lib.rs", "//! x\npub mod a; pub mod b;"),
            file("a", "//! a\nuse crate::b::B;\npub struct A;"),
            file(
                "b",
                "//! b\npub struct B;\n#[cfg(test)]\nmod tests { use crate::a::A; }",
            ),
        ];
        assert!(cycles(&imports(&files).unwrap()).is_empty());
    }

    #[test]
    fn the_architecture_rows_are_read_from_the_package_section_only() {
        let doc = "## Inside `rules/`\n| module | owns |\n|---|---|\n| `money`, `limits` | x |\n\
                   ## Inside the terminal (`src/`)\n| `store/` | y |\n";
        let rules = rows_of_section(doc, &PACKAGES[0]).unwrap();
        assert!(row_names(&rules, "money") && row_names(&rules, "limits"));
        assert!(!row_names(&rules, "store"));
        let terminal = rows_of_section(doc, &PACKAGES[1]).unwrap();
        assert!(row_names(&terminal, "store"));
    }

    #[test]
    fn chinese_text_is_found_outside_tests_only() {
        let text = "//! x\nfn f() -> &'static str { \"会员\" }\n\
                    #[cfg(test)]\nmod tests { const NAME: &str = \"张\"; }";
        assert_eq!(
            chinese_literals(&file("a", text)).unwrap(),
            vec!["会员".to_owned()]
        );
    }

    #[test]
    fn a_file_without_a_module_doc_is_found() {
        assert!(has_module_doc(&file("a", "//! Teaches.\nfn f() {}")).unwrap());
        assert!(!has_module_doc(&file("a", "/// Item doc.\nfn f() {}")).unwrap());
    }
}
