//! Every string a view shows goes through `@tr()` and has a zh-CN
//! translation: a missing one would show English to a Chinese-speaking
//! cashier. Also catches literal text in a view that skipped `@tr()`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::collections::BTreeSet;
use std::path::Path;

fn slint_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            slint_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "slint") {
            out.push(path);
        }
    }
}

/// The string literal starting at `s` (just after the opening quote).
fn literal(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '"' => return Some(out),
            c => out.push(c),
        }
    }
    None
}

fn tr_strings(text: &str) -> Vec<String> {
    text.match_indices("@tr(\"")
        .filter_map(|(i, m)| literal(&text[i + m.len()..]))
        .collect()
}

fn po_msgids(po: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut lines = po.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix("msgid \"") {
            let id = literal(rest).unwrap();
            let translated = lines
                .next()
                .and_then(|l| l.strip_prefix("msgstr \""))
                .and_then(literal)
                .unwrap_or_default();
            if !id.is_empty() && !translated.is_empty() {
                ids.insert(id);
            }
        }
    }
    ids
}

#[test]
fn every_tr_string_in_the_views_has_a_chinese_translation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    slint_files(&root.join("ui"), &mut files);
    let po = std::fs::read_to_string(root.join("ui/lang/zh_CN/LC_MESSAGES/tillcard.po")).unwrap();
    let translated = po_msgids(&po);
    let mut missing = Vec::new();
    let mut count = 0;
    for file in &files {
        for s in tr_strings(&std::fs::read_to_string(file).unwrap()) {
            count += 1;
            if !translated.contains(&s) {
                missing.push(format!("{}: {s:?}", file.display()));
            }
        }
    }
    println!(
        "{count} @tr strings in {} views, {} translations",
        files.len(),
        translated.len()
    );
    assert!(count > 50, "the views lost their @tr strings ({count})");
    assert!(missing.is_empty(), "untranslated:\n{}", missing.join("\n"));
}

#[test]
fn views_show_no_english_text_outside_tr() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    slint_files(&root.join("ui"), &mut files);
    let mut offenders = Vec::new();
    for file in &files {
        for (n, line) in std::fs::read_to_string(file).unwrap().lines().enumerate() {
            let line = line.trim();
            // A `text:` given as a bare literal with letters in it.
            if let Some(rest) = line.strip_prefix("text: \"")
                && literal(rest).is_some_and(|t| t.chars().any(|c| c.is_ascii_alphabetic()))
            {
                offenders.push(format!("{}:{}: {line}", file.display(), n + 1));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "untranslatable text:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_scanner_finds_tr_strings_and_escapes() {
    assert_eq!(
        tr_strings(r#"text: @tr("Points {} / {}", a, b); x: @tr("Say \"hi\"");"#),
        vec!["Points {} / {}".to_string(), "Say \"hi\"".to_string()]
    );
    let po = "msgid \"A\"\nmsgstr \"甲\"\n\nmsgid \"B\"\nmsgstr \"\"\n";
    assert_eq!(po_msgids(po), BTreeSet::from(["A".to_string()]));
}
