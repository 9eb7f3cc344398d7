//! The program editor's problems, each placed beside the line of the draft
//! that holds its field.
//!
//! Validation names each problem's field as a path into the program
//! (`tiers[1].discount_bp`, [`tillcard_rules::program::FieldProblem`]).
//! The draft is TOML, so the path is looked up in the draft's own syntax
//! tree with its byte spans (`toml::de::DeTable`, the parser the `toml`
//! crate itself reads with) to find the line an operator typed it on. A
//! field the draft leaves out (its default applies) is placed at the
//! nearest table the draft does have; a problem of the moment at the
//! moment's input; a TOML syntax error at the line the parser stopped.

use serde::Serialize;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use tillcard_rules::Program;
use tillcard_rules::ids::Timestamp;

use crate::service::programs::moment_problem;

/// The field of a problem about the moment the version takes effect.
pub(super) const EFFECTIVE_FROM: &str = "effective_from";

/// One problem of the draft, as the editor shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(super) struct DraftProblem {
    /// The field's path (`tiers[1].discount_bp`, `effective_from`), or
    /// empty for a problem of the text as a whole (TOML syntax).
    pub field: String,
    /// The draft's line (1-based) that holds the field, or the nearest
    /// enclosing table the draft has; `None` when the draft has neither.
    pub line: Option<usize>,
    /// That line's text, to show beside the problem.
    pub text: String,
    /// What is wrong.
    pub message: String,
}

/// Every problem that would refuse `draft` read from `text`, placed.
pub(super) fn of_draft(text: &str, draft: &Program, now: Timestamp) -> Vec<DraftProblem> {
    let mut problems: Vec<DraftProblem> = draft
        .problems()
        .into_iter()
        .map(|p| placed(text, p.field, p.problem.to_string()))
        .collect();
    if let Some((_, why)) = moment_problem(draft, now) {
        problems.push(DraftProblem {
            field: EFFECTIVE_FROM.into(),
            line: None,
            text: String::new(),
            message: why,
        });
    }
    problems
}

/// A draft that is not a program at all (TOML syntax, a misspelt key, a
/// wrong type): the parser's message at the line it names.
pub(super) fn of_unreadable(text: &str, error: &toml::de::Error) -> DraftProblem {
    let line = error.span().map(|span| line_of(text, span.start));
    DraftProblem {
        field: String::new(),
        line,
        text: line.map(|l| line_text(text, l)).unwrap_or_default(),
        message: format!("TOML: {}", error.message()),
    }
}

/// A problem any other way refused (publishing raced another version):
/// shown with the rest, placed nowhere.
pub(super) fn unplaced(message: String) -> DraftProblem {
    DraftProblem {
        field: String::new(),
        line: None,
        text: String::new(),
        message,
    }
}

fn placed(text: &str, field: String, message: String) -> DraftProblem {
    let line = span_of(text, &field).map(|span| line_of(text, span.start));
    DraftProblem {
        text: line.map(|l| line_text(text, l)).unwrap_or_default(),
        field,
        line,
        message,
    }
}

/// The byte span in `text` of the field at `path`, or of the deepest table
/// or array on the way that the text has.
fn span_of(text: &str, path: &str) -> Option<Range<usize>> {
    let root = DeTable::parse(text).ok()?;
    let mut table: &DeTable<'_> = root.get_ref();
    let mut found: Option<Range<usize>> = None;
    for part in path.split('.') {
        let (key, index) = match part.split_once('[') {
            Some((key, rest)) => (key, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        let Some((name, value)) = table.iter().find(|(name, _)| name.get_ref() == key) else {
            return found;
        };
        found = Some(name.span());
        let mut value: &Spanned<DeValue<'_>> = value;
        if let Some(i) = index {
            let DeValue::Array(items) = value.get_ref() else {
                return found;
            };
            let Some(item) = items.get(i) else {
                return found;
            };
            value = item;
            found = Some(item.span());
        }
        match value.get_ref() {
            DeValue::Table(inner) => table = inner,
            _ => return found,
        }
    }
    found
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let before = text.get(..offset).unwrap_or(text);
    before.matches('\n').count() + 1
}

/// The text of 1-based line `line`, without its line end.
fn line_text(text: &str, line: usize) -> String {
    text.lines()
        .nth(line.saturating_sub(1))
        .unwrap_or_default()
        .trim_end()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DRAFT: &str = r#"version = 0

[[tiers]]
code = "regular"
name_zh = "普通会员"
name_en = "Regular"
qualifying_spend = 0
discount_bp = 0
points_multiplier_milli = 1000

[[tiers]]
code = "silver"
name_zh = "银卡"
name_en = "Silver"
qualifying_spend = 100000
discount_bp = 12000
points_multiplier_milli = 1200

[earning]
points_per_yuan = -1
"#;

    fn now() -> Timestamp {
        Timestamp::parse_from_rfc3339("2026-12-04T10:00:00+08:00").unwrap()
    }

    #[test]
    fn each_problem_sits_at_the_line_of_its_field() {
        let draft: Program = toml::from_str(DRAFT).unwrap();
        let problems = of_draft(DRAFT, &draft, now());
        let at = |field: &str| {
            problems
                .iter()
                .find(|p| p.field == field)
                .unwrap_or_else(|| panic!("{field}: {problems:#?}"))
        };
        let discount = at("tiers[1].discount_bp");
        assert_eq!(discount.line, Some(16));
        assert_eq!(discount.text, "discount_bp = 12000");
        assert!(discount.message.contains("more than 100%"));
        let earning = at("earning.points_per_yuan");
        assert_eq!(earning.line, Some(20));
        assert_eq!(earning.text, "points_per_yuan = -1");
        // No moment given: the problem belongs to the moment's input.
        assert_eq!(at(EFFECTIVE_FROM).line, None);
    }

    #[test]
    fn a_field_the_draft_leaves_out_sits_at_its_nearest_table() {
        assert_eq!(
            span_of(DRAFT, "earning.category_rates[0].rate_milli").map(|s| line_of(DRAFT, s.start)),
            Some(19),
            "at [earning]"
        );
        assert_eq!(span_of(DRAFT, "redemption.step"), None, "no such table");
        assert_eq!(
            span_of(DRAFT, "tiers[5].code").map(|s| line_of(DRAFT, s.start)),
            Some(3),
            "at the first [[tiers]]"
        );
    }

    #[test]
    fn a_gifts_problem_sits_at_the_line_of_its_field() {
        let text = "version = 0\n\n[[gifts]]\ncode = \"mug\"\nname = \"保温杯\"\npoints = 400\n\n[[gifts]]\ncode = \"mug\"\nname = \"马克杯\"\npoints = 0\n";
        let draft: Program = toml::from_str(text).unwrap();
        let problems = of_draft(text, &draft, now());
        let at = |field: &str| {
            problems
                .iter()
                .find(|p| p.field == field)
                .unwrap_or_else(|| panic!("{field}: {problems:#?}"))
        };
        assert_eq!(at("gifts[1].code").line, Some(9));
        assert!(at("gifts[1].code").message.contains("two gifts share"));
        assert_eq!(at("gifts[1].points").line, Some(11));
        assert_eq!(at("gifts[1].points").text, "points = 0");
    }

    #[test]
    fn a_syntax_error_sits_at_the_line_the_parser_stopped() {
        let text = "version = 0\n[earning]\npoints_per_yuan = = 2\n";
        let error = toml::from_str::<Program>(text).unwrap_err();
        let problem = of_unreadable(text, &error);
        assert_eq!(problem.line, Some(3));
        assert_eq!(problem.text, "points_per_yuan = = 2");
        assert!(problem.message.starts_with("TOML: "));
    }
}
