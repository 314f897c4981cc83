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

/// A request id (UUID v4), as AWS returns in `x-amzn-RequestId`.
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

/// An audit event id: a UUID with the version 7 layout (RFC 9562: 48 bits of Unix time in
/// milliseconds, then 74 random bits from the thread's CSPRNG), so ids made later sort later.
///
/// Event ids are unique keys of the store's event index; ids in time order land at the end of
/// that index instead of all over it (a random id touches a random page of a large index).
pub fn event_id() -> String {
    let mut bytes: [u8; 16] = rand::rng().random();
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    // Bytes 0..6: the time, big-endian; then the version and variant bits.
    for (b, t) in bytes
        .iter_mut()
        .zip(millis.to_be_bytes().into_iter().skip(2))
    {
        *b = t;
    }
    if let Some(b) = bytes.get_mut(6) {
        *b = (*b & 0x0f) | 0x70;
    }
    if let Some(b) = bytes.get_mut(8) {
        *b = (*b & 0x3f) | 0x80;
    }
    let id = uuid::Uuid::from_bytes(bytes);
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
    fn event_ids_are_distinct_v7_uuids_in_time_order() {
        let first = event_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let ids: Vec<String> = (0..1000).map(|_| event_id()).collect();
        let set: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(set.len(), ids.len());
        for id in &ids {
            let u = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(u.get_version_num(), 7, "{id}");
            assert_eq!(u.get_variant(), uuid::Variant::RFC4122, "{id}");
            assert!(id.as_str() > first.as_str(), "{id} sorts after {first}");
        }
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let u = uuid::Uuid::parse_str(&first).unwrap();
        let ms = u
            .as_bytes()
            .iter()
            .take(6)
            .fold(0u64, |acc, b| acc << 8 | u64::from(*b));
        assert!(
            now_ms.abs_diff(ms) < 60_000,
            "timestamp {ms} vs now {now_ms}"
        );
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
