//! The no-personal-data-in-logs proof.
//!
//! `scripts/test` runs the whole test suite once at `RUST_LOG=debug` with
//! `TILLCARD_LOG_DIR` set: every test helper and every binary of ours writes
//! its log lines there, and the script adds cargo's own output. This crate
//! then
//!
//! 1. collects the personal data the test data contains, from the sources
//!    (phone numbers, member names, birthdays, in the shapes the tests and
//!    fixtures write them: see [`collect_from_text`]);
//! 2. scans every line of every file in the log directory for those values,
//!    for any mainland mobile number (`1[3-9]` + 9 digits, also with a `86`
//!    prefix) and for the birthdays in the shapes code prints them;
//! 3. checks the logs are really there (each required program left log
//!    lines, and some are at debug level), so a broken wiring cannot pass as
//!    "nothing found".

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use regex::Regex;

/// Personal data found in the sources.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PersonalData {
    /// Phone numbers (11 digits).
    pub phones: BTreeSet<String>,
    /// Member names.
    pub names: BTreeSet<String>,
    /// Birthdays as (month, day).
    pub birthdays: BTreeSet<(u8, u8)>,
}

/// What kind of personal data a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A mobile number (from the test data or any that looks like one).
    Phone,
    /// A member name from the test data.
    Name,
    /// A birthday from the test data.
    Birthday,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Phone => "phone",
            Kind::Name => "name",
            Kind::Birthday => "birthday",
        })
    }
}

/// One leak: where, what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Log file.
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// What was found.
    pub kind: Kind,
    /// The value found.
    pub value: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {} {}",
            self.file.display(),
            self.line,
            self.kind,
            self.value
        )
    }
}

/// Extensions of source files that hold test data.
const SOURCE_EXTENSIONS: &[&str] = &["rs", "toml", "json", "csv", "sql"];

/// Extracts personal data from test sources and data files, in the shapes
/// they are written in.
pub struct Collector {
    token: Regex,
    names: Vec<Regex>,
    sealed: Regex,
    month_day: Regex,
    toml_birthday: Regex,
}

impl Default for Collector {
    fn default() -> Collector {
        Collector::new()
    }
}

fn compiled(pattern: &str) -> Regex {
    match Regex::new(pattern) {
        Ok(re) => re,
        // The patterns are constants of this file, covered by its tests.
        Err(e) => panic!("bad built-in pattern {pattern}: {e}"),
    }
}

/// Whether `token` (a run of ASCII letters and digits) is a mainland mobile
/// number, bare or with the country code 86.
pub fn is_mobile(token: &str) -> bool {
    let digits = token
        .strip_prefix("86")
        .filter(|t| t.len() == 11)
        .unwrap_or(token);
    let b = digits.as_bytes();
    b.len() == 11
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
        && b.iter().all(u8::is_ascii_digit)
}

impl Collector {
    /// The built-in shapes.
    pub fn new() -> Collector {
        Collector {
            token: compiled(r"[0-9A-Za-z]+"),
            names: vec![
                // EnrollRequest { name: Some("张伟".into()) ... }
                compiled(r#"\bname\s*:\s*Some\(\s*"([^"]+)""#),
                // mask_name("张伟")
                compiled(r#"\bmask_name\(\s*"([^"]+)""#),
                // member_name = "张伟" / "member_name": "张伟" (data files)
                compiled(r#"member_name"?\s*[:=]\s*"([^"]+)""#),
            ],
            // creds.seal("张三"): whatever is sealed to head office is personal.
            sealed: compiled(r#"\bseal\(\s*"([^"]+)""#),
            // MonthDay { month: 5, day: 17 }
            month_day: compiled(r"MonthDay\s*\{\s*month\s*:\s*(\d{1,2})\s*,\s*day\s*:\s*(\d{1,2})"),
            // birthday = "03-15"
            toml_birthday: compiled(r#"birthday\s*[:=]\s*"(?:--)?(\d{1,2})-(\d{1,2})""#),
        }
    }

    /// Adds what `text` holds to `data`.
    pub fn collect_from_text(&self, text: &str, data: &mut PersonalData) {
        for token in self.token.find_iter(text) {
            if is_mobile(token.as_str()) {
                let t = token.as_str();
                data.phones.insert(t[t.len() - 11..].to_owned());
            }
        }
        let mut add_name = |value: &str| {
            let value = value.trim();
            // Masked values (张*, 138****5678) are what may be shown and logged;
            // format strings are not data.
            if value.chars().count() >= 2 && !value.contains('*') && !value.contains('{') {
                data.names.insert(value.to_owned());
            }
        };
        for pattern in &self.names {
            for c in pattern.captures_iter(text) {
                add_name(&c[1]);
            }
        }
        for c in self.sealed.captures_iter(text) {
            if !is_mobile(&c[1]) {
                add_name(&c[1]);
            }
        }
        for pattern in [&self.month_day, &self.toml_birthday] {
            for c in pattern.captures_iter(text) {
                if let (Ok(m), Ok(d)) = (c[1].parse::<u8>(), c[2].parse::<u8>())
                    && (1..=12).contains(&m)
                    && (1..=31).contains(&d)
                {
                    data.birthdays.insert((m, d));
                }
            }
        }
    }

    /// Walks `roots` (files or directories; `target` and `.git` skipped) and
    /// collects from every source or data file.
    pub fn collect_from_sources(&self, roots: &[PathBuf]) -> io::Result<PersonalData> {
        let mut data = PersonalData::default();
        for file in files_under(roots)? {
            let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !SOURCE_EXTENSIONS.contains(&ext) {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue; // not text: no test data in it
            };
            self.collect_from_text(&text, &mut data);
        }
        Ok(data)
    }
}

/// Every file under `roots`, sorted.
fn files_under(roots: &[PathBuf]) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = roots.to_vec();
    while let Some(path) = stack.pop() {
        let meta = std::fs::metadata(&path)?;
        if meta.is_dir() {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name == "target" || name == ".git" {
                continue;
            }
            for entry in std::fs::read_dir(&path)? {
                stack.push(entry?.path());
            }
        } else if meta.is_file() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// Looks for personal data in log lines.
pub struct Scanner {
    token: Regex,
    names: Vec<String>,
    birthdays: Vec<((u8, u8), Regex)>,
}

impl Scanner {
    /// A scanner for `data` (and any mobile number).
    pub fn new(data: &PersonalData) -> Scanner {
        let birthdays = data
            .birthdays
            .iter()
            .map(|&(m, d)| {
                // month: 5, day: 17 | "month":5,"day":17 | birthday_month=5
                // birthday_day=17 | --05-17 | 05-17 standing alone (not part
                // of a date, nor of a uuid's hex groups) | 5月17日
                let pattern = format!(
                    r"month\W{{0,3}}0?{m}[^0-9]{{1,16}}day\W{{0,3}}0?{d}(?:[^0-9]|$)|--0?{m}-0?{d}(?:[^0-9]|$)|(?:^|[^0-9A-Za-z-])0?{m}-0?{d}(?:[^0-9A-Za-z-]|$)|(?:^|[^0-9])0?{m}月0?{d}日"
                );
                ((m, d), compiled(&pattern))
            })
            .collect();
        Scanner {
            token: compiled(r"[0-9A-Za-z]+"),
            names: data.names.iter().cloned().collect(),
            birthdays,
        }
    }

    /// What personal data `line` holds.
    pub fn scan_line(&self, line: &str) -> Vec<(Kind, String)> {
        let mut found = Vec::new();
        for token in self.token.find_iter(line) {
            if is_mobile(token.as_str()) {
                found.push((Kind::Phone, token.as_str().to_owned()));
            }
        }
        for name in &self.names {
            if line.contains(name.as_str()) {
                found.push((Kind::Name, name.clone()));
            }
        }
        for ((m, d), pattern) in &self.birthdays {
            if pattern.is_match(line) {
                found.push((Kind::Birthday, format!("{m:02}-{d:02}")));
            }
        }
        found
    }

    /// Scans every file under `dir`.
    pub fn scan_dir(&self, dir: &Path) -> io::Result<Report> {
        let mut report = Report::default();
        for file in files_under(&[dir.to_owned()])? {
            let bytes = std::fs::read(&file)?;
            let text = String::from_utf8_lossy(&bytes);
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_owned();
            let stats = report.files.entry(name).or_default();
            for (i, line) in text.lines().enumerate() {
                stats.lines += 1;
                if line.contains("DEBUG") {
                    stats.debug_lines += 1;
                }
                for (kind, value) in self.scan_line(line) {
                    report.findings.push(Finding {
                        file: file.clone(),
                        line: i + 1,
                        kind,
                        value,
                    });
                }
            }
        }
        Ok(report)
    }
}

/// Lines counted in one log file.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FileStats {
    /// All lines.
    pub lines: usize,
    /// Lines at debug level.
    pub debug_lines: usize,
}

/// What a scan found.
#[derive(Debug, Default)]
pub struct Report {
    /// Per file name.
    pub files: BTreeMap<String, FileStats>,
    /// Every leak.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Total lines scanned.
    pub fn lines(&self) -> usize {
        self.files.values().map(|s| s.lines).sum()
    }

    /// Lines at debug level, all files together.
    pub fn debug_lines(&self) -> usize {
        self.files.values().map(|s| s.debug_lines).sum()
    }

    /// Required programs (file name prefixes) that left no log line: the
    /// logs the proof relies on are missing.
    pub fn missing(&self, required: &[String]) -> Vec<String> {
        required
            .iter()
            .filter(|prefix| {
                !self
                    .files
                    .iter()
                    .any(|(name, s)| name.starts_with(prefix.as_str()) && s.lines > 0)
            })
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;

    fn collect(text: &str) -> PersonalData {
        let mut data = PersonalData::default();
        Collector::new().collect_from_text(text, &mut data);
        data
    }

    fn sample() -> PersonalData {
        collect(
            r#"
            let r = EnrollRequest { phone: "13912345678".into(), name: Some("王芳".into()),
                birthday: Some(MonthDay { month: 5, day: 17 }), consent: true };
            let sealed = creds.seal("张三").unwrap();
            let shown = mask_name("李娜");
            let masked = MemberRecord { name_masked: "张*".into(), phone_masked: "138****5678".into() };
            let item = BasketLine { name: "Rice 5kg".into() };
            "#,
        )
    }

    #[test]
    fn collector_finds_phones_names_and_birthdays_in_the_shapes_tests_write_them() {
        let data = sample();
        assert_eq!(data.phones, BTreeSet::from(["13912345678".to_owned()]));
        assert_eq!(
            data.names,
            BTreeSet::from(["王芳".to_owned(), "张三".to_owned(), "李娜".to_owned()])
        );
        assert_eq!(data.birthdays, BTreeSet::from([(5, 17)]));
        let toml = collect("birthday = \"03-15\"\nphone = \"+8613700001111\"\n");
        assert_eq!(toml.birthdays, BTreeSet::from([(3, 15)]));
        assert_eq!(toml.phones, BTreeSet::from(["13700001111".to_owned()]));
    }

    #[test]
    fn a_planted_leak_of_each_kind_is_found_and_located() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("tillcard-tests-1.log"),
            "2026-06-15T10:00:00Z DEBUG tillcard::store::outbox: outbox event written seq=1 kind=\"member_enrolled\"\n\
             2026-06-15T10:00:00Z  INFO tillcard::store::members: member enrolled member=0190 name=\"王芳\"\n\
             2026-06-15T10:00:01Z DEBUG tokio_postgres::query: executing statement s1 with parameters: [\"13800138000\"]\n\
             2026-06-15T10:00:02Z DEBUG tillcard_hq::ingest: birthday=MonthDay { month: 5, day: 17 }\n\
             2026-06-15T10:00:03Z DEBUG tillcard_hq::ingest: body={\"birthday\":{\"month\":5,\"day\":17}}\n",
        )
        .unwrap();
        let report = Scanner::new(&sample()).scan_dir(dir.path()).unwrap();
        let found: Vec<(usize, Kind, &str)> = report
            .findings
            .iter()
            .map(|f| (f.line, f.kind, f.value.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                (2, Kind::Name, "王芳"),
                (3, Kind::Phone, "13800138000"),
                (4, Kind::Birthday, "05-17"),
                (5, Kind::Birthday, "05-17"),
            ]
        );
        assert!(
            report.findings[0]
                .to_string()
                .ends_with("tillcard-tests-1.log:2: name 王芳")
        );
    }

    #[test]
    fn masked_values_ids_timestamps_and_long_numbers_are_not_leaks() {
        let scanner = Scanner::new(&sample());
        for line in [
            "INFO member enrolled member=0190a1b2-13812345678a-7abc masked=138****5678 name=张*",
            "DEBUG batch acked_seq=13812345678901 mono_ms=1767225600000",
            "DEBUG sale at 2026-05-17T10:00:00+08:00 total_fen=13800",
            "DEBUG key=ab13812345678cd base64=Zm9vYmFy",
            "DEBUG tier=金卡 discount=9折",
            // Regression: a uuid's hex groups "…-b1e5-17bd…" once read as 05-17.
            "INFO sale committed sale=01a22a75-45cc-72dd-b1e5-17bd2db0ec95 total_fen=5883",
        ] {
            assert_eq!(scanner.scan_line(line), vec![], "{line}");
        }
    }

    #[test]
    fn any_mainland_mobile_is_a_leak_even_if_no_test_wrote_it() {
        let scanner = Scanner::new(&PersonalData::default());
        assert_eq!(
            scanner.scan_line("lookup phone=15900001234 failed"),
            vec![(Kind::Phone, "15900001234".to_owned())]
        );
        assert_eq!(
            scanner.scan_line("tel:+8615900001234"),
            vec![(Kind::Phone, "8615900001234".to_owned())]
        );
        assert_eq!(
            scanner.scan_line("手机15900001234号"),
            vec![(Kind::Phone, "15900001234".to_owned())]
        );
        // 12 and 10 digits, and 2 as the second digit, are not mobiles.
        assert_eq!(
            scanner.scan_line("159000012345 1590000123 12900001234"),
            vec![]
        );
    }

    #[test]
    fn birthdays_are_found_in_the_shapes_code_prints_them() {
        let scanner = Scanner::new(&sample());
        for line in [
            "birthday_month=5 birthday_day=17",
            "birthday=--05-17",
            "birthday 05-17 ok",
            "生日 5月17日",
        ] {
            assert_eq!(
                scanner.scan_line(line),
                vec![(Kind::Birthday, "05-17".to_owned())],
                "{line}"
            );
        }
        assert_eq!(scanner.scan_line("month: 5, day: 18"), vec![]);
    }

    #[test]
    fn missing_logs_are_reported_so_an_empty_directory_cannot_pass() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tillcard-tests-1.log"), "").unwrap();
        std::fs::write(
            dir.path().join("tillcard-hq-tests-2.log"),
            "INFO one\nDEBUG two\n",
        )
        .unwrap();
        let report = Scanner::new(&PersonalData::default())
            .scan_dir(dir.path())
            .unwrap();
        let required = vec!["tillcard-tests".to_owned(), "tillcard-hq-tests".to_owned()];
        assert_eq!(report.missing(&required), vec!["tillcard-tests".to_owned()]);
        assert_eq!(report.lines(), 2);
        assert_eq!(report.debug_lines(), 1);
    }

    #[test]
    fn this_repository_s_test_data_yields_phones_names_and_birthdays() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let roots: Vec<PathBuf> = ["src", "tests", "sync", "rules"]
            .iter()
            .map(|d| root.join(d))
            .collect();
        let data = Collector::new().collect_from_sources(&roots).unwrap();
        // If the tests change how they write member data, the collector
        // must learn the new shape: an empty list would prove nothing.
        assert!(data.phones.len() >= 5, "{data:?}");
        assert!(data.names.len() >= 2, "{data:?}");
        assert!(!data.birthdays.is_empty(), "{data:?}");
    }
}
