//! A new member's first sale, as a clerk rings it up at the counter: sign
//! in with the PIN, enroll the member (consent given), two teas, the
//! member's price, booked. Shared by the first-day tests.

use tillcard::rules::pricing::{Basket, BasketLine, TenderRequest};
use tillcard::rules::tenders::{Payment, TenderKind};
use tillcard::rules::{MemberId, Money, SourceId};
use tillcard::store::members::EnrollRequest;
use tillcard::store::{Store, StoreError};

/// Books the sale as `clerk_id` with `pin`: the member, the sale and the
/// amount it came to.
pub fn first_member_sale(
    s: &mut Store,
    clerk_id: &str,
    pin: &str,
) -> Result<(MemberId, SourceId, Money), StoreError> {
    let clerk = s.login(clerk_id, pin)?;
    let member = s
        .enroll(
            &clerk,
            &EnrollRequest {
                phone: "13800138123".into(),
                name: Some("张伟".into()),
                birthday: None,
                consent: true,
                referred_by: None,
            },
        )?
        .member
        .id;
    let basket = Basket {
        lines: vec![BasketLine {
            sku: "TEA".into(),
            name: "Tea".into(),
            category: "drinks".into(),
            quantity: 2,
            unit_price: Money::from_fen(2800),
            list_price: None,
        }],
    };
    let quote = s.price(Some(member), &basket, &TenderRequest::default(), false)?;
    let sale = s
        .commit_sale(
            &clerk,
            &quote,
            &Payment::single(TenderKind::Cash, quote.amount_due),
        )?
        .sale;
    Ok((member, sale, quote.amount_due))
}
