//! The program's own tests: defaults, validation, serde.

use super::*;

#[test]
fn default_program_is_valid_and_matches_the_spec() {
    let program = Program::default();
    assert_eq!(program.validate(), Ok(()));
    assert_eq!(program.tiers[2].name_zh, "金卡");
    assert_eq!(program.tiers[2].discount_bp, 1000);
    assert_eq!(
        program.tier_for_spend(Money::from_yuan(4_999)),
        TierLevel(1)
    );
    assert_eq!(
        program.tier_for_spend(Money::from_yuan(5_000)),
        TierLevel(2)
    );
}

#[test]
fn overlapping_tiers_negative_rates_and_caps_over_100_percent_are_refused() {
    let mut program = Program::default();
    program.tiers[2].qualifying_spend = Money::from_yuan(800);
    program.earning.points_per_yuan = -1;
    program.redemption.max_share_bp = 12_000;
    let Err(InvalidProgram(problems)) = program.validate() else {
        panic!("a broken program validated");
    };
    assert!(problems.iter().any(|p| matches!(
        p,
        ProgramProblem::OverlappingTiers { higher, .. } if higher == "gold"
    )));
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, ProgramProblem::Negative { value: -1, .. }))
    );
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, ProgramProblem::OverHundredPercent { value: 12_000, .. }))
    );
    let message = InvalidProgram(problems).to_string();
    assert!(message.contains("tiers overlap"), "{message}");
}
