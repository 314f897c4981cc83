//! Integration tests: wire round trips, validation and capacity against hand-written documents.

mod capacity;
mod model_conformance;
mod prop;
mod requests;
mod roundtrip;
mod validate;

/// Read a file of `tests/data`.
pub fn data(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}
