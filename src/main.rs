//! The `tillcard` terminal binary: thin by design, everything testable lives
//! in the library.

fn main() -> anyhow::Result<()> {
    tillcard::logging::init();
    tillcard::run(std::env::args().skip(1).collect())
}
