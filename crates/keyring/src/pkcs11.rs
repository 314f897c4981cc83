//! [`Pkcs11RootKey`]: AES-256-GCM inside an HSM token reached over PKCS#11.
//!
//! On [`Pkcs11RootKey::open`] the module is loaded, the token is found by label, the user
//! logs in with the PIN, and the secret key labelled `key_label` is found, or generated in
//! the token if absent (`CKM_AES_KEY_GEN`, 32 bytes, `CKA_TOKEN`, `CKA_PRIVATE`,
//! `CKA_SENSITIVE`, not `CKA_EXTRACTABLE`, only `CKA_ENCRYPT` and `CKA_DECRYPT`). A key
//! found under the label must be AES-256, sensitive and non-extractable, or opening fails.
//!
//! Each seal or open is one `C_Encrypt`/`C_Decrypt` with `CKM_AES_GCM`; the 96-bit nonce is
//! drawn by us and passed in `CK_GCM_PARAMS` together with the context as AAD and a 128-bit
//! tag, so the sealed value has the same shape as [`crate::FileRootKey`]'s.
//!
//! PKCS#11 sessions must not be used from two threads at once, so the key keeps a small
//! pool of sessions, each behind its own mutex; a call takes whichever is free. Login state
//! is per application and token, so one login covers every session of the pool.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use portcullis_common::Secret;
use zeroize::Zeroizing;

use crate::{NONCE_LEN, SealError, Sealer, TAG_LEN, join_sealed, random_nonce, split_sealed};

/// Sessions kept open per root key. Sealing is short, so a few cover many threads.
const POOL_SIZE: usize = 4;
/// Tag length passed in `CK_GCM_PARAMS`, in bits.
const TAG_BITS: u64 = (TAG_LEN * 8) as u64;

/// Where the PKCS#11 root key lives.
#[derive(Debug, Clone)]
pub struct Pkcs11Config {
    /// The PKCS#11 module (shared library), e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    /// Label of the token that holds the key.
    pub token_label: String,
    /// The token's user PIN.
    pub pin: Secret<String>,
    /// Label of the AES key inside the token; created there if absent.
    pub key_label: String,
}

/// A root key that lives inside an HSM token and never leaves it.
pub struct Pkcs11RootKey {
    sessions: Vec<Mutex<Session>>,
    next: AtomicUsize,
    key: ObjectHandle,
    module: PathBuf,
    token_label: String,
    key_label: String,
}

impl std::fmt::Debug for Pkcs11RootKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11RootKey")
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("key_label", &self.key_label)
            .finish_non_exhaustive()
    }
}

impl Pkcs11RootKey {
    /// Loads the module, logs in to the token and finds (or creates) the key.
    pub fn open(cfg: &Pkcs11Config) -> Result<Self, SealError> {
        let ctx = Pkcs11::new(&cfg.module).map_err(|e| SealError::pkcs11("load the module", e))?;
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            // Another root key in this process initialised the same module already.
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => return Err(SealError::pkcs11("initialize", e)),
        }
        let slot = find_token(&ctx, &cfg.token_label)?;

        let first = ctx
            .open_rw_session(slot)
            .map_err(|e| SealError::pkcs11("open a session", e))?;
        let pin = AuthPin::from(cfg.pin.expose().as_str());
        match first.login(UserType::User, Some(&pin)) {
            // Another root key in this process is logged in to the same token already.
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(CkError::Pkcs11(
                rv @ (RvError::PinIncorrect
                | RvError::PinLocked
                | RvError::PinInvalid
                | RvError::PinLenRange
                | RvError::PinExpired),
                _,
            )) => {
                return Err(SealError::BadPin {
                    token: cfg.token_label.clone(),
                    reason: format!("{rv:?}"),
                });
            }
            Err(e) => return Err(SealError::pkcs11("login", e)),
        }

        let key = find_or_create_key(&first, &cfg.key_label)?;

        let mut sessions = Vec::with_capacity(POOL_SIZE);
        sessions.push(Mutex::new(first));
        for _ in 1..POOL_SIZE {
            let s = ctx
                .open_rw_session(slot)
                .map_err(|e| SealError::pkcs11("open a session", e))?;
            sessions.push(Mutex::new(s));
        }
        Ok(Self {
            sessions,
            next: AtomicUsize::new(0),
            key,
            module: cfg.module.clone(),
            token_label: cfg.token_label.clone(),
            key_label: cfg.key_label.clone(),
        })
    }

    /// A session no other thread is using: the first free one, else waits on the next in
    /// turn.
    fn session(&self) -> Result<MutexGuard<'_, Session>, SealError> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.sessions.len();
        for i in 0..n {
            if let Some(m) = self.sessions.get((start + i) % n)
                && let Ok(guard) = m.try_lock()
            {
                return Ok(guard);
            }
        }
        let m = self
            .sessions
            .get(start % n)
            .ok_or_else(|| SealError::pkcs11("take a session", "the session pool is empty"))?;
        // A panic while holding a session leaves no half-done state worth refusing: every
        // PKCS#11 operation here is a single call.
        Ok(m.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}

impl Sealer for Pkcs11RootKey {
    fn seal(&self, context: &str, plaintext: &[u8]) -> Result<String, SealError> {
        let nonce = random_nonce()?;
        let mut iv = nonce;
        let params = GcmParams::new(&mut iv, context.as_bytes(), TAG_BITS.into())
            .map_err(|e| SealError::pkcs11("encrypt", e))?;
        let ct = self
            .session()?
            .encrypt(&Mechanism::AesGcm(params), self.key, plaintext)
            .map_err(|e| SealError::pkcs11("encrypt", e))?;
        if ct.len() != plaintext.len() + TAG_LEN {
            return Err(SealError::pkcs11(
                "encrypt",
                format!(
                    "the module returned {} bytes for {} bytes of plaintext",
                    ct.len(),
                    plaintext.len()
                ),
            ));
        }
        Ok(join_sealed(&nonce, &ct))
    }

    fn open(&self, context: &str, sealed: &str) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let (mut iv, ct) = split_sealed(sealed)?;
        let params = GcmParams::new(&mut iv, context.as_bytes(), TAG_BITS.into())
            .map_err(|e| SealError::pkcs11("decrypt", e))?;
        match self
            .session()?
            .decrypt(&Mechanism::AesGcm(params), self.key, &ct)
        {
            Ok(pt) => Ok(Zeroizing::new(pt)),
            // How a token reports a failed tag check varies: the standard code is
            // CKR_ENCRYPTED_DATA_INVALID, SoftHSM answers CKR_GENERAL_ERROR. Both mean the
            // value does not open under this key and context.
            Err(CkError::Pkcs11(
                RvError::EncryptedDataInvalid
                | RvError::EncryptedDataLenRange
                | RvError::GeneralError,
                _,
            )) => Err(SealError::Open),
            Err(e) => Err(SealError::pkcs11("decrypt", e)),
        }
    }

    fn kind(&self) -> &'static str {
        "pkcs11"
    }
}

/// The slot holding the token labelled `label`.
fn find_token(ctx: &Pkcs11, label: &str) -> Result<Slot, SealError> {
    let slots = ctx
        .get_slots_with_token()
        .map_err(|e| SealError::pkcs11("list slots", e))?;
    let mut present = Vec::new();
    for slot in slots {
        let info = ctx
            .get_token_info(slot)
            .map_err(|e| SealError::pkcs11("read token info", e))?;
        if info.label() == label {
            return Ok(slot);
        }
        present.push(info.label().to_owned());
    }
    Err(SealError::TokenNotFound {
        label: label.to_owned(),
        present,
    })
}

/// The AES secret key labelled `label`, checked fit, or a new one generated in the token.
fn find_or_create_key(session: &Session, label: &str) -> Result<ObjectHandle, SealError> {
    let unfit = |reason: String| SealError::UnfitKey {
        label: label.to_owned(),
        reason,
    };
    let found = session
        .find_objects(&[
            Attribute::Token(true),
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .map_err(|e| SealError::pkcs11("find the key", e))?;
    let key = match found.as_slice() {
        [] => {
            return session
                .generate_key(&Mechanism::AesKeyGen, &new_key_template(label))
                .map_err(|e| SealError::pkcs11("generate the key", e));
        }
        [one] => *one,
        many => {
            return Err(unfit(format!(
                "{} secret keys carry this label",
                many.len()
            )));
        }
    };
    let attrs = session
        .get_attributes(
            key,
            &[
                AttributeType::KeyType,
                AttributeType::ValueLen,
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::Encrypt,
                AttributeType::Decrypt,
            ],
        )
        .map_err(|e| SealError::pkcs11("read the key's attributes", e))?;
    let (mut aes, mut len, mut sensitive, mut extractable, mut enc, mut dec) =
        (false, 0u64, false, true, false, false);
    for a in attrs {
        match a {
            Attribute::KeyType(t) => aes = t == KeyType::AES,
            Attribute::ValueLen(n) => len = n.into(),
            Attribute::Sensitive(b) => sensitive = b,
            Attribute::Extractable(b) => extractable = b,
            Attribute::Encrypt(b) => enc = b,
            Attribute::Decrypt(b) => dec = b,
            _ => {}
        }
    }
    if !aes || len != 32 {
        return Err(unfit(format!("not an AES-256 key (value length {len})")));
    }
    if !sensitive || extractable {
        return Err(unfit(format!(
            "key material could leave the token (sensitive={sensitive}, extractable={extractable})"
        )));
    }
    if !enc || !dec {
        return Err(unfit("not allowed to both encrypt and decrypt".into()));
    }
    Ok(key)
}

/// Attributes of a new root key: a private token object that never leaves the token and
/// is good only for encrypting and decrypting.
fn new_key_template(label: &str) -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::ValueLen(32.into()),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
        Attribute::Wrap(false),
        Attribute::Unwrap(false),
        Attribute::Sign(false),
        Attribute::Verify(false),
        Attribute::Derive(false),
        Attribute::Label(label.as_bytes().to_vec()),
    ]
}

// The nonce carried in front of the ciphertext is the GCM IV the token was given.
const _: () = assert!(NONCE_LEN == 12);
