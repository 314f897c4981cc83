//! Signing keys for tokens and puzzles, with rotation, and the injected source of randomness.
//!
//! Every MAC is HMAC-SHA256 over a purpose label followed by the message, so a value signed for one purpose
//! (token, challenge puzzle, CAPTCHA puzzle, CAPTCHA answer) never verifies as another.

use aws_lc_rs::hmac;
use zeroize::Zeroizing;

use crate::ChallengeError;

/// Shortest accepted key, in bytes.
pub const MIN_KEY_LEN: usize = 32;
/// Longest accepted key, in bytes.
pub const MAX_KEY_LEN: usize = 64;

/// What a MAC is for; part of the MAC input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// The `aws-waf-token` cookie.
    Token,
    /// A proof-of-work puzzle.
    Pow,
    /// A CAPTCHA puzzle.
    Captcha,
    /// The normalized answer inside a CAPTCHA puzzle.
    Answer,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Token => b"portcullis-waf-token\0",
            Purpose::Pow => b"portcullis-waf-pow\0",
            Purpose::Captcha => b"portcullis-waf-captcha\0",
            Purpose::Answer => b"portcullis-waf-answer\0",
        }
    }
}

/// One HMAC key. The bytes are wiped when it is dropped and never printed.
#[derive(Clone)]
pub struct TokenKey(Zeroizing<Vec<u8>>);

impl TokenKey {
    /// Wraps key bytes ([`MIN_KEY_LEN`]..=[`MAX_KEY_LEN`] bytes, from a secure random source).
    pub fn new(bytes: &[u8]) -> Result<TokenKey, ChallengeError> {
        if !(MIN_KEY_LEN..=MAX_KEY_LEN).contains(&bytes.len()) {
            return Err(ChallengeError::KeyLength {
                len: bytes.len(),
                min: MIN_KEY_LEN,
                max: MAX_KEY_LEN,
            });
        }
        Ok(TokenKey(Zeroizing::new(bytes.to_vec())))
    }

    /// Decodes a key from base64 (standard or URL-safe alphabet, padding optional), as kept in configuration
    /// or a secret file; surrounding whitespace is ignored.
    pub fn from_base64(text: &str) -> Result<TokenKey, ChallengeError> {
        use base64::Engine as _;
        use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
        let t = text.trim().trim_end_matches('=');
        let bytes = Zeroizing::new(
            STANDARD_NO_PAD
                .decode(t)
                .or_else(|_| URL_SAFE_NO_PAD.decode(t))
                .map_err(|_| ChallengeError::KeyEncoding)?,
        );
        TokenKey::new(&bytes)
    }

    /// A fresh random 32-byte key from the operating system.
    pub fn generate() -> TokenKey {
        let mut k = Zeroizing::new(vec![0u8; MIN_KEY_LEN]);
        SystemEntropy.fill(&mut k);
        TokenKey(k)
    }

    fn hmac_key(&self) -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, &self.0)
    }

    pub(crate) fn sign(&self, purpose: Purpose, msg: &[&[u8]]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.hmac_key());
        ctx.update(purpose.label());
        for part in msg {
            ctx.update(part);
        }
        let tag = ctx.sign();
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Constant-time check of `tag` against the MAC of `msg`.
    pub(crate) fn verify(&self, purpose: Purpose, msg: &[&[u8]], tag: &[u8]) -> bool {
        let mut data =
            Vec::with_capacity(purpose.label().len() + msg.iter().map(|m| m.len()).sum::<usize>());
        data.extend_from_slice(purpose.label());
        for part in msg {
            data.extend_from_slice(part);
        }
        hmac::verify(&self.hmac_key(), &data, tag).is_ok()
    }
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey([redacted])")
    }
}

/// The proxy's key list: new values are signed with the first key, any key verifies. To rotate, put a new key
/// first and keep the old one second until the longest token lifetime has passed.
#[derive(Clone, Debug)]
pub struct TokenKeys {
    keys: Vec<TokenKey>,
}

impl TokenKeys {
    /// A key list; it must not be empty.
    pub fn new(keys: Vec<TokenKey>) -> Result<TokenKeys, ChallengeError> {
        if keys.is_empty() {
            return Err(ChallengeError::NoKeys);
        }
        Ok(TokenKeys { keys })
    }

    /// The signing key (the first).
    pub(crate) fn current(&self) -> Option<&TokenKey> {
        self.keys.first()
    }

    /// The key under which `tag` verifies, if any.
    pub(crate) fn find(&self, purpose: Purpose, msg: &[&[u8]], tag: &[u8]) -> Option<&TokenKey> {
        self.keys.iter().find(|k| k.verify(purpose, msg, tag))
    }
}

/// A source of secure random bytes, injected so that tests can be deterministic.
pub trait Entropy: Send + Sync {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);
}

/// The operating system's random generator (through aws-lc).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemEntropy;

impl Entropy for SystemEntropy {
    fn fill(&self, buf: &mut [u8]) {
        use aws_lc_rs::rand::SecureRandom;
        if aws_lc_rs::rand::SystemRandom::new().fill(buf).is_err() {
            // aws-lc aborts rather than fail here; fall back to the rand crate's OS generator all the same.
            use rand::TryRngCore;
            let _ = rand::rngs::OsRng.try_fill_bytes(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_length_bounds() {
        assert!(TokenKey::new(&[0u8; 31]).is_err());
        assert!(TokenKey::new(&[0u8; 32]).is_ok());
        assert!(TokenKey::new(&[0u8; 64]).is_ok());
        assert!(TokenKey::new(&[0u8; 65]).is_err());
        assert_eq!(TokenKeys::new(vec![]).err(), Some(ChallengeError::NoKeys));
        let b64 = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=";
        let k = TokenKey::from_base64(&format!(" {b64}\n")).unwrap();
        assert_eq!(
            k.sign(Purpose::Token, &[b"x"]),
            TokenKey::new(&[b'A'; 32])
                .unwrap()
                .sign(Purpose::Token, &[b"x"])
        );
        assert_eq!(
            TokenKey::from_base64("not base64!").err(),
            Some(ChallengeError::KeyEncoding)
        );
        assert!(matches!(
            TokenKey::from_base64("QUFB"),
            Err(ChallengeError::KeyLength { len: 3, .. })
        ));
    }

    #[test]
    fn debug_redacts() {
        let k = TokenKey::new(&[0x41; 32]).unwrap();
        let s = format!("{:?}", TokenKeys::new(vec![k]).unwrap());
        assert!(s.contains("redacted") && !s.contains("65"));
    }

    #[test]
    fn purposes_are_separated() {
        let k = TokenKey::generate();
        let tag = k.sign(Purpose::Pow, &[b"abc"]);
        assert!(k.verify(Purpose::Pow, &[b"a", b"bc"], &tag));
        assert!(!k.verify(Purpose::Captcha, &[b"abc"], &tag));
        assert!(!TokenKey::generate().verify(Purpose::Pow, &[b"abc"], &tag));
    }
}
