//! Building reply bodies without indexing (which the crate's lints forbid).

use serde_json::Value;

/// Sets member `name` of a JSON object; a no-op on anything else.
pub fn set(body: &mut Value, name: &str, value: Value) {
    if let Some(o) = body.as_object_mut() {
        o.insert(name.to_owned(), value);
    }
}
