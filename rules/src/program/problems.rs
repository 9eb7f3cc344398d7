//! What can be wrong with a program: each problem in words for whoever
//! edits it ([`ProgramProblem`]), and all of them at once
//! ([`InvalidProgram`], what `Program::validate` returns), each with the
//! field it is about ([`FieldProblem`]), and the collector validation and
//! the bounds push them into.

use crate::money::{BASIS_POINTS, Money};

/// One thing wrong with a program, in words for whoever edits it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProgramProblem {
    /// The program has no tiers at all.
    #[error("the program has no tiers; it needs at least the entry tier")]
    NoTiers,
    /// More tiers than a [`TierLevel`] can name.
    #[error("the program has {0} tiers; at most 255 are supported")]
    TooManyTiers(usize),
    /// The entry tier does not start at zero spend.
    #[error("the entry tier {code:?} must need ¥0 of spend, not {spend}")]
    EntryTierNotFree {
        /// Tier code.
        code: String,
        /// Its threshold.
        spend: Money,
    },
    /// Thresholds do not strictly increase, so tiers overlap.
    #[error(
        "tiers overlap: {higher:?} needs {higher_spend} but {lower:?} below it already needs {lower_spend}; thresholds must strictly increase"
    )]
    OverlappingTiers {
        /// The lower tier's code.
        lower: String,
        /// Its threshold.
        lower_spend: Money,
        /// The higher tier's code.
        higher: String,
        /// Its threshold.
        higher_spend: Money,
    },
    /// Two tiers share a code.
    #[error("two tiers share the code {0:?}")]
    DuplicateTierCode(String),
    /// A rate or amount that must not be negative is.
    #[error("{what} must not be negative (it is {value})")]
    Negative {
        /// What the value is.
        what: String,
        /// The offending value.
        value: i64,
    },
    /// A percentage above 100%.
    #[error("{what} is {value} basis points, more than 100%")]
    OverHundredPercent {
        /// What the value is.
        what: String,
        /// The offending value in basis points.
        value: i64,
    },
    /// Two points rates for one category.
    #[error("the category {0:?} has two points rates")]
    DuplicateCategoryRate(String),
    /// A value is above its bound (`program::bounds`).
    #[error("{what} is {value}, more than the most allowed ({max})")]
    TooLarge {
        /// What the value is.
        what: String,
        /// The offending value.
        value: i64,
        /// The bound.
        max: i64,
    },
    /// A value that must be positive is zero or less.
    #[error("{what} must be greater than zero (it is {value})")]
    NotPositive {
        /// What the value is.
        what: String,
        /// The offending value.
        value: i64,
    },
    /// The redemption step does not correspond to a whole number of fen.
    #[error(
        "a redemption step of {step} points at {per_yuan} points per ¥1 is not a whole number of fen"
    )]
    StepNotWholeFen {
        /// Points per step.
        step: i64,
        /// Points per yuan.
        per_yuan: i64,
    },
    /// A member-day rule names a day that does not exist.
    #[error("the member day {0} does not exist (weekday 1-7 or day of month 1-31)")]
    NoSuchMemberDay(String),
    /// Two packages share a code.
    #[error("two top-up packages share the code {0:?}")]
    DuplicatePackage(String),
    /// Two gifts of the catalogue share a code.
    #[error("two gifts share the code {0:?}")]
    DuplicateGift(String),
    /// A gift of the catalogue that cannot be offered as it stands.
    #[error("gift {code:?}: {why}")]
    BadGift {
        /// Gift code.
        code: String,
        /// What is wrong.
        why: String,
    },
    /// A coupon that can never give anything.
    #[error("coupon {code:?}: {why}")]
    BadCoupon {
        /// Coupon template code.
        code: String,
        /// What is wrong.
        why: String,
    },
}

/// Every problem found in a program, in the order found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the membership program is not valid: {}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
pub struct InvalidProgram(pub Vec<ProgramProblem>);

/// A problem and the field it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// Path of the field in the program's TOML and JSON: keys joined by
    /// `.`, array elements as `[i]` (`tiers[1].discount_bp`). A problem of
    /// a whole list or table names it (`tiers`).
    pub field: String,
    /// The problem.
    pub problem: ProgramProblem,
}

/// The problems found so far.
#[derive(Default)]
pub(super) struct Found(Vec<FieldProblem>);

impl Found {
    pub(super) fn push(&mut self, field: impl Into<String>, problem: ProgramProblem) {
        self.0.push(FieldProblem {
            field: field.into(),
            problem,
        });
    }

    pub(super) fn non_negative(
        &mut self,
        field: impl Into<String>,
        what: impl Into<String>,
        value: i64,
    ) {
        if value < 0 {
            let what = what.into();
            self.push(field, ProgramProblem::Negative { what, value });
        }
    }

    pub(super) fn percent(
        &mut self,
        field: impl Into<String>,
        what: impl Into<String>,
        value: i64,
    ) {
        if value > BASIS_POINTS {
            let what = what.into();
            self.push(field, ProgramProblem::OverHundredPercent { what, value });
        }
    }

    pub(super) fn positive(
        &mut self,
        field: impl Into<String>,
        what: impl Into<String>,
        value: i64,
    ) {
        if value <= 0 {
            let what = what.into();
            self.push(field, ProgramProblem::NotPositive { what, value });
        }
    }

    pub(super) fn into_problems(self) -> Vec<FieldProblem> {
        self.0
    }

    pub(super) fn at_most(
        &mut self,
        field: impl Into<String>,
        what: impl Into<String>,
        value: i64,
        max: i64,
    ) {
        if value > max {
            let what = what.into();
            self.push(field, ProgramProblem::TooLarge { what, value, max });
        }
    }
}
