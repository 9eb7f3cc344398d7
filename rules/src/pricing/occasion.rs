//! Which occasion a moment is for a member (a member day, their birthday
//! month), which sets the discount and the points multiplier.

use chrono::Datelike;

use crate::ids::Timestamp;
use crate::program::{MULTIPLIER_ONE, MemberDayRule, Program};

use super::quote::*;

/// The occasion raising the points multiplier at `now`, if any.
pub fn occasion_at(
    program: &Program,
    profile: &MemberProfile,
    now: Timestamp,
) -> Option<(Occasion, i64)> {
    let birthday = profile
        .birthday
        .filter(|b| u32::from(b.month) == now.month())
        .map(|_| {
            (
                Occasion::BirthdayMonth,
                program.birthday.points_multiplier_milli,
            )
        });
    let member_day = program
        .member_day
        .as_ref()
        .filter(|d| is_member_day(d.day, now))
        .map(|d| (Occasion::MemberDay, d.points_multiplier_milli));
    // The two do not compound: the larger applies; birthday wins a tie.
    match (birthday, member_day) {
        (Some(b), Some(m)) => Some(if m.1 > b.1 { m } else { b }),
        (b, m) => b.or(m).filter(|o| o.1 != MULTIPLIER_ONE),
    }
}

/// Whether `now` falls on member day.
pub fn is_member_day(rule: MemberDayRule, now: Timestamp) -> bool {
    match rule {
        MemberDayRule::Weekday { weekday } => {
            now.weekday().number_from_monday() == u32::from(weekday)
        }
        MemberDayRule::DayOfMonth { day } => now.day() == u32::from(day),
    }
}
