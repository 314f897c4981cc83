//! First start: the default account and its administrator.

use portcullis_common::{AccountId, Clock, Secret, ids};
use portcullis_store::Precondition;

use crate::error::{IamError, Result};
use crate::model::{Account, User, collections as c};
use crate::ops::access_keys;
use crate::repo::Repo;
use crate::sealing::Sealer;

/// The administrator's name.
pub const ADMIN_USER: &str = "admin";

/// The administrator's access key, returned once so it can be written to the credentials file.
#[derive(Debug)]
pub struct AdminKey {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: Secret<String>,
}

/// Creates the account, the `admin` user with `AdministratorAccess` and an access key, unless
/// the account exists already (then `Ok(None)`). `given` supplies the key for automation.
pub async fn bootstrap(
    repo: &Repo,
    root: &dyn Sealer,
    clock: &dyn Clock,
    account: &AccountId,
    given: Option<(String, Secret<String>)>,
) -> Result<Option<AdminKey>> {
    if repo
        .store()
        .get(c::ACCOUNTS, account.as_str())
        .await?
        .is_some()
    {
        return Ok(None);
    }
    if let Some((id, secret)) = &given {
        let ok_id =
            id.len() >= 16 && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric());
        if !ok_id || secret.expose().len() < 16 {
            return Err(IamError::InvalidInput(
                "PORTCULLIS_ADMIN_ACCESS_KEY_ID must be 16-128 letters and digits, and the secret at least 16 characters"
                    .into(),
            ));
        }
    }
    let now = clock.now();
    let record = Account {
        account_id: account.to_string(),
        created: now,
    };
    let user = User {
        account: account.to_string(),
        user_name: ADMIN_USER.into(),
        user_id: ids::unique_id("AIDA"),
        path: "/".into(),
        create_date: now,
        tags: Vec::new(),
        inline_policies: Default::default(),
        attached_policies: vec!["arn:aws:iam::aws:policy/AdministratorAccess".into()],
        access_keys: Vec::new(),
    };
    repo.put(
        c::ACCOUNTS,
        account.to_string(),
        &record,
        Precondition::Absent,
    )
    .await?;
    crate::ops::users::create(repo, &user).await?;
    let created = repo.user_required(account.as_str(), ADMIN_USER).await?;
    let (key, secret) = access_keys::issue(repo, root, created, now, given).await?;
    Ok(Some(AdminKey {
        access_key_id: key.access_key_id,
        secret_access_key: secret,
    }))
}
