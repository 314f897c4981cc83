//! Building reply bodies without indexing (which the crate's lints forbid).

use serde_json::Value;

/// Sets member `name` of a JSON object; a no-op on anything else.
pub fn set(body: &mut Value, name: &str, value: Value) {
    if let Some(o) = body.as_object_mut() {
        o.insert(name.to_owned(), value);
    }
}

/// Sets the deprecated `CustomerMasterKeySpec` and the non-empty algorithm lists
/// (`EncryptionAlgorithms`, `SigningAlgorithms`, `KeyAgreementAlgorithms`) of a key, as
/// DescribeKey's `KeyMetadata` and GetPublicKey both report them.
pub fn set_algorithms(
    body: &mut Value,
    spec: portcullis_kms_core::KeySpec,
    usage: portcullis_kms_core::KeyUsage,
) {
    if let Some(cmk) = spec.customer_master_key_spec() {
        set(body, "CustomerMasterKeySpec", Value::from(cmk));
    }
    let lists: [(&str, Vec<&str>); 3] = [
        (
            "EncryptionAlgorithms",
            spec.encryption_algorithms(usage)
                .iter()
                .map(|a| a.as_str())
                .collect(),
        ),
        (
            "SigningAlgorithms",
            spec.signing_algorithms(usage)
                .iter()
                .map(|a| a.as_str())
                .collect(),
        ),
        (
            "KeyAgreementAlgorithms",
            spec.key_agreement_algorithms(usage),
        ),
    ];
    for (name, list) in lists {
        if !list.is_empty() {
            set(body, name, Value::from(list));
        }
    }
}
