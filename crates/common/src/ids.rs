//! Generated identifiers in the shapes AWS uses.

use rand::Rng;

const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn random_from(alphabet: &[u8], n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| {
            let i = rng.random_range(0..alphabet.len());
            char::from(alphabet.get(i).copied().unwrap_or(b'A'))
        })
        .collect()
}

/// A long-term access key id: `AKIA` followed by 16 base32 characters.
pub fn access_key_id() -> String {
    format!("AKIA{}", random_from(UPPER_ALNUM, 16))
}

/// A temporary (STS) access key id: `ASIA` followed by 16 base32 characters.
pub fn temporary_access_key_id() -> String {
    format!("ASIA{}", random_from(UPPER_ALNUM, 16))
}

/// A unique id for an IAM entity, with the AWS prefix for its kind
/// (`AIDA` users, `AROA` roles, `ANPA` managed policies).
pub fn unique_id(prefix: &str) -> String {
    format!("{prefix}{}", random_from(UPPER_ALNUM, 17))
}

/// A 40-character secret access key from the base64 alphabet, as AWS issues them.
pub fn secret_access_key() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    random_from(ALPHABET, 40)
}

/// A request id (UUID v4), as AWS returns in `x-amzn-RequestId`; also used for audit event ids.
///
/// The 122 random bits come from the calling thread's CSPRNG (`rand`'s `ThreadRng`: ChaCha12
/// seeded from the operating system once per thread and reseeded periodically), not from a
/// system call per id as `Uuid::new_v4` makes.
pub fn request_id() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
    let mut buf = uuid::Uuid::encode_buffer();
    id.hyphenated().encode_lower(&mut buf).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let a = access_key_id();
        assert_eq!(a.len(), 20);
        assert!(a.starts_with("AKIA"));
        assert!(temporary_access_key_id().starts_with("ASIA"));
        assert_eq!(secret_access_key().len(), 40);
        assert_ne!(secret_access_key(), secret_access_key());
        assert_eq!(unique_id("AIDA").len(), 21);
    }

    #[test]
    fn request_ids_are_distinct_v4_uuids() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let id = request_id();
            assert_eq!(id.len(), 36);
            let parsed = uuid::Uuid::parse_str(&id).unwrap();
            assert_eq!(parsed.get_version_num(), 4);
            assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
            assert_eq!(
                parsed.hyphenated().to_string(),
                id,
                "lower-case, hyphenated"
            );
            assert!(seen.insert(id));
        }
    }
}
