//! A catalog file as head office imports it (issue 24): CSV with a header
//! row, one item per row, every row checked and every problem listed with
//! its row before anything is written (an import is all or nothing).
//!
//! | column | what | example |
//! |---|---|---|
//! | `sku` | the item's stable code | `A-0001` |
//! | `barcode` | EAN-13, EAN-8, UPC-A or an in-house code; may be empty | `6901028075831` |
//! | `name_zh`, `name_en` | names (one may be empty) | `可口可乐 330ml` |
//! | `category` | the program's category | `drinks` |
//! | `price` | shelf price in yuan (per kg when weighed) | `3.50` |
//! | `member_prices` | `tier=price` pairs split by `;`; may be empty | `gold=3.00;silver=3.20` |
//! | `sold_by_weight` | `true`/`false` (`1`/`0`, `yes`/`no`, `是`/`否`); empty is false | `false` |
//! | `active` | the same; empty is true | `true` |
//!
//! Columns may come in any order; unknown columns are refused (a typo
//! would otherwise drop a field silently). The file is UTF-8 (a byte order
//! mark is skipped) or, when it is not valid UTF-8, GB18030: what Excel
//! saves as "CSV" in a Chinese locale.

use std::collections::HashMap;

use tillcard_rules::Money;
use tillcard_rules::catalog::{CatalogItem, TierPrice};

/// The most rows one file may hold (also bounded by the request body:
/// 8 MiB is about 60,000 rows of typical width; larger catalogs come in
/// several files).
pub const MAX_IMPORT_ROWS: usize = 100_000;

/// The most problems reported for one file.
pub const MAX_REPORTED: usize = 50;

const COLUMNS: [&str; 9] = [
    "sku",
    "barcode",
    "name_zh",
    "name_en",
    "category",
    "price",
    "member_prices",
    "sold_by_weight",
    "active",
];
const REQUIRED: [&str; 4] = ["sku", "name_zh", "category", "price"];

/// One problem of a file: its row (the header is row 1) and column, in
/// words; never the cell's text (a name could be anything).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct RowProblem {
    /// The row, counting the header as row 1; 0 for the file as a whole.
    pub row: u64,
    /// The column (or the item's field), if one.
    pub column: String,
    /// What is wrong.
    pub problem: String,
}

fn problem(row: u64, column: &str, text: impl Into<String>) -> RowProblem {
    RowProblem {
        row,
        column: column.to_string(),
        problem: text.into(),
    }
}

/// The file's text: UTF-8 without its byte order mark, or GB18030.
fn text_of(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.into(),
        Err(_) => encoding_rs::GB18030.decode(bytes).0,
    }
}

fn flag(cell: &str, empty: bool) -> Option<bool> {
    match cell.trim().to_ascii_lowercase().as_str() {
        "" => Some(empty),
        "true" | "1" | "yes" | "y" | "是" => Some(true),
        "false" | "0" | "no" | "n" | "否" => Some(false),
        _ => None,
    }
}

fn member_prices(cell: &str) -> Result<Vec<TierPrice>, String> {
    cell.split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (tier, price) = pair
                .split_once('=')
                .ok_or("each member price is tier=price, e.g. gold=3.00")?;
            let price: Money = price
                .parse()
                .map_err(|_| "a member price in yuan, e.g. 3.00")?;
            Ok(TierPrice {
                tier: tier.trim().to_string(),
                price,
            })
        })
        .collect::<Result<_, &str>>()
        .map_err(str::to_string)
}

/// Reads a catalog file: every item, or every problem (up to
/// [`MAX_REPORTED`]).
pub fn parse(bytes: &[u8]) -> Result<Vec<CatalogItem>, Vec<RowProblem>> {
    let text = text_of(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::Headers)
        .from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(vec![problem(1, "", format!("not a CSV file: {e}"))]),
    };
    let mut at: HashMap<&str, usize> = HashMap::new();
    let mut problems = Vec::new();
    for (i, name) in headers.iter().enumerate() {
        match COLUMNS.iter().find(|c| **c == name) {
            Some(c) if at.insert(c, i).is_some() => {
                problems.push(problem(1, name, "this column is given twice"));
            }
            Some(_) => {}
            None => problems.push(problem(
                1,
                name,
                format!("unknown column; the columns are {}", COLUMNS.join(", ")),
            )),
        }
    }
    for c in REQUIRED {
        if !at.contains_key(c) {
            problems.push(problem(1, c, "this column is required"));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut items = Vec::new();
    let mut skus: HashMap<String, u64> = HashMap::new();
    let mut codes: HashMap<String, u64> = HashMap::new();
    for (i, record) in reader.records().enumerate() {
        let row = u64::try_from(i).unwrap_or(u64::MAX).saturating_add(2);
        if problems.len() >= MAX_REPORTED {
            break;
        }
        if items.len() + problems.len() >= MAX_IMPORT_ROWS {
            problems.push(problem(
                row,
                "",
                format!("at most {MAX_IMPORT_ROWS} rows in one file"),
            ));
            break;
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(problem(row, "", format!("not a CSV row: {e}")));
                continue;
            }
        };
        let cell = |c: &str| at.get(c).and_then(|i| record.get(*i)).unwrap_or("").trim();
        let mut bad = |column: &str, text: &str| problems.push(problem(row, column, text));
        let price = cell("price").parse::<Money>();
        let prices = member_prices(cell("member_prices"));
        let weighed = flag(cell("sold_by_weight"), false);
        let active = flag(cell("active"), true);
        if price.is_err() {
            bad("price", "a price in yuan, e.g. 3.50");
        }
        if let Err(e) = &prices {
            bad("member_prices", e);
        }
        if weighed.is_none() {
            bad("sold_by_weight", "true or false");
        }
        if active.is_none() {
            bad("active", "true or false");
        }
        let (Ok(price), Ok(member_prices), Some(sold_by_weight), Some(active)) =
            (price, prices, weighed, active)
        else {
            continue;
        };
        let barcode = Some(cell("barcode"))
            .filter(|b| !b.is_empty())
            .map(str::to_string);
        let item = CatalogItem {
            sku: cell("sku").to_string(),
            barcode,
            name_zh: cell("name_zh").to_string(),
            name_en: cell("name_en").to_string(),
            category: cell("category").to_string(),
            price,
            member_prices,
            sold_by_weight,
            active,
        };
        let item_problems = item.problems();
        if !item_problems.is_empty() {
            for p in item_problems {
                problems.push(problem(row, "", p.to_string()));
            }
            continue;
        }
        if let Some(first) = skus.insert(item.sku.clone(), row) {
            problems.push(problem(row, "sku", format!("the same SKU as row {first}")));
            continue;
        }
        if let Some(code) = item.code().filter(|_| item.active)
            && let Some(first) = codes.insert(code.key().to_string(), row)
        {
            problems.push(problem(
                row,
                "barcode",
                format!("the same barcode as row {first}"),
            ));
            continue;
        }
        items.push(item);
    }
    problems.truncate(MAX_REPORTED);
    if problems.is_empty() {
        Ok(items)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str =
        "sku,barcode,name_zh,name_en,category,price,member_prices,sold_by_weight,active
A-0001,6901028075831,可口可乐 330ml,Coca-Cola 330 ml,drinks,3.50,gold=3.00;silver=3.20,,
F-0100,,富士苹果,Fuji apples,fresh,12.98,,是,
A-0002,036000291452,\"Tissues, 3 ply\",,household,8.00,,false,false
";

    #[test]
    fn a_file_reads_into_items() {
        let items = parse(FILE.as_bytes()).unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].member_prices.len(), 2);
        assert_eq!(items[0].member_price("gold"), Some(Money::from_fen(300)));
        assert!(items[0].active && !items[0].sold_by_weight);
        assert!(items[1].sold_by_weight && items[1].barcode.is_none());
        assert_eq!(items[2].name_zh, "Tissues, 3 ply");
        assert!(!items[2].active);
        assert_eq!(items[2].code().unwrap().key(), "0036000291452");
    }

    #[test]
    fn excel_files_with_a_bom_or_in_gb18030_read_the_same() {
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(FILE.as_bytes());
        assert_eq!(parse(&bom).unwrap(), parse(FILE.as_bytes()).unwrap());
        let (gb, _, lossy) = encoding_rs::GB18030.encode(FILE);
        assert!(!lossy);
        assert!(std::str::from_utf8(&gb).is_err());
        assert_eq!(parse(&gb).unwrap(), parse(FILE.as_bytes()).unwrap());
    }

    #[test]
    fn every_problem_is_listed_with_its_row_and_nothing_is_taken() {
        let file = "sku,barcode,name_zh,category,price,member_prices,active
A-1,6901028075832,茶,drinks,3.50,,
A-2,,茶,drinks,abc,gold,
A-3,6901028075831,茶,drinks,1.00,,maybe
A-4,6901028075831,茶,drinks,1.00,,
A-5,6901028075831,茶,drinks,1.00,,
A-4,,茶,drinks,1.00,,
";
        let problems = parse(file.as_bytes()).unwrap_err();
        let seen: Vec<(u64, &str)> = problems
            .iter()
            .map(|p| (p.row, p.column.as_str()))
            .collect();
        assert_eq!(
            seen,
            vec![
                (2, ""),
                (3, "price"),
                (3, "member_prices"),
                (4, "active"),
                (6, "barcode"),
                (7, "sku"),
            ],
            "{problems:?}"
        );
        assert!(problems[0].problem.contains("check digit"));
        assert!(problems[4].problem.contains("row 5"));
        // No cell's text is quoted back.
        assert!(problems.iter().all(|p| !p.problem.contains('茶')));
    }

    #[test]
    fn the_header_is_checked_first() {
        let problems = parse(b"sku,name,price\nA,b,1").unwrap_err();
        let columns: Vec<&str> = problems.iter().map(|p| p.column.as_str()).collect();
        assert_eq!(columns, ["name", "name_zh", "category"]);
        assert!(parse(b"").is_err());
    }
}
