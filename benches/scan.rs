//! Scanning benchmark (being written).

fn main() {}
