//! Bearer tokens and the five roles. Secrets are shown once and stored only as SHA-256.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use crate::error::Error;
use crate::store::{Collection, Store};

#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    SystemAdministrator,
    SalesManager,
    SequenceManager,
    Integration,
    Reader,
}

/// What an operation needs; [`Principal::require`] maps roles onto these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// Tokens and settings.
    Administer,
    /// Sellers, teams, queues, segments, rules, schedules, runs, manual assignment.
    Configure,
    /// Sequences, and connecting a sequence to a segment.
    ManageSequences,
    /// Push, update, close and reopen records.
    WriteRecords,
    /// Read records and their status.
    ReadRecords,
    /// Read configuration, runs and history.
    ReadConfig,
}

impl Role {
    /// The role's name, as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::SystemAdministrator => "system_administrator",
            Role::SalesManager => "sales_manager",
            Role::SequenceManager => "sequence_manager",
            Role::Integration => "integration",
            Role::Reader => "reader",
        }
    }

    pub fn allows(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Role::SystemAdministrator => true,
            Role::SalesManager => p != Administer,
            Role::SequenceManager => matches!(p, ManageSequences | ReadRecords | ReadConfig),
            Role::Integration => matches!(p, WriteRecords | ReadRecords),
            Role::Reader => matches!(p, ReadRecords | ReadConfig),
        }
    }
}

/// The caller of an operation.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct Principal {
    pub id: String,
    pub name: String,
    pub role: Role,
}

impl Principal {
    pub fn require(&self, p: Permission) -> Result<(), Error> {
        if self.role.allows(p) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "the role {} may not do this",
                self.role.as_str()
            )))
        }
    }

    /// The server itself, for scheduled work.
    pub fn system() -> Principal {
        Principal {
            id: "system".into(),
            name: "scheduler".into(),
            role: Role::SystemAdministrator,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct StoredToken {
    name: String,
    role: Role,
    /// Hex SHA-256 of the secret.
    hash: String,
    created_at: DateTime<Utc>,
}

/// A token as listed: never with its secret.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

/// A newly created token: the only time the secret is shown.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct NewToken {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub token: String,
}

pub struct Auth {
    store: Store,
    admin_token_hash: Option<[u8; 32]>,
    /// hash -> principal
    by_hash: RwLock<HashMap<[u8; 32], Principal>>,
}

/// The SHA-256 of a token's secret: what is stored, and what a console session keeps
/// instead of the secret.
pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

fn new_secret() -> Result<String, Error> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    Ok(format!("allot_{}", hex::encode(bytes)))
}

impl Auth {
    /// Loads the stored tokens. With no `ALLOT_ADMIN_TOKEN` and no token at all, creates
    /// an administrator token and answers its secret so that the caller prints it once.
    pub async fn load(store: Store, admin_token: Option<String>) -> Result<(Arc<Auth>, Option<NewToken>), Error> {
        let stored: Vec<(String, StoredToken)> = store.read()?.load_all(Collection::Tokens)?;
        let mut by_hash = HashMap::new();
        for (id, t) in &stored {
            let mut hash = [0u8; 32];
            if hex::decode_to_slice(&t.hash, &mut hash).is_ok() {
                by_hash.insert(
                    hash,
                    Principal {
                        id: id.clone(),
                        name: t.name.clone(),
                        role: t.role,
                    },
                );
            }
        }
        let auth = Arc::new(Auth {
            store,
            admin_token_hash: admin_token.filter(|t| !t.is_empty()).map(|t| digest(&t)),
            by_hash: RwLock::new(by_hash),
        });
        let mut first = None;
        if auth.admin_token_hash.is_none() && stored.is_empty() {
            first = Some(auth.create("initial-admin".into(), Role::SystemAdministrator).await?);
        }
        Ok((auth, first))
    }

    pub fn authenticate(&self, bearer: &str) -> Result<Principal, Error> {
        self.authenticate_digest(&digest(bearer))
    }

    /// The principal of the token whose secret has this [`digest`], while the token
    /// exists: a console session checks it on every request, so revoking ends it.
    pub fn authenticate_digest(&self, hash: &[u8; 32]) -> Result<Principal, Error> {
        let hash = *hash;
        if let Some(admin) = &self.admin_token_hash
            && bool::from(admin.ct_eq(&hash))
        {
            return Ok(Principal {
                id: "env:ALLOT_ADMIN_TOKEN".into(),
                name: "ALLOT_ADMIN_TOKEN".into(),
                role: Role::SystemAdministrator,
            });
        }
        // Comparing hashes, not secrets, so a map lookup leaks nothing useful.
        let map = self
            .by_hash
            .read()
            .map_err(|_| Error::Internal("token map poisoned".into()))?;
        map.get(&hash).cloned().ok_or(Error::Unauthorized)
    }

    pub async fn create(&self, name: String, role: Role) -> Result<NewToken, Error> {
        if name.trim().is_empty() || name.chars().count() > 256 {
            return Err(Error::validation("name", "a token name has 1 to 256 characters"));
        }
        let secret = new_secret()?;
        let hash = digest(&secret);
        let mut idb = [0u8; 8];
        getrandom::fill(&mut idb).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
        let id = format!("tok_{}", hex::encode(idb));
        let stored = StoredToken {
            name: name.clone(),
            role,
            hash: hex::encode(hash),
            created_at: Utc::now(),
        };
        let key = id.clone();
        self.store
            .write(move |txn| txn.put(Collection::Tokens, &key, &stored))
            .await?;
        let principal = Principal {
            id: id.clone(),
            name: name.clone(),
            role,
        };
        if let Ok(mut map) = self.by_hash.write() {
            map.insert(hash, principal);
        }
        Ok(NewToken {
            id,
            name,
            role,
            token: secret,
        })
    }

    pub fn list(&self) -> Result<Vec<TokenInfo>, Error> {
        let stored: Vec<(String, StoredToken)> = self.store.read()?.load_all(Collection::Tokens)?;
        Ok(stored
            .into_iter()
            .map(|(id, t)| TokenInfo {
                id,
                name: t.name,
                role: t.role,
                created_at: t.created_at,
            })
            .collect())
    }

    pub async fn revoke(&self, id: &str) -> Result<(), Error> {
        let key = id.to_string();
        let removed: Option<String> = self
            .store
            .write(move |txn| {
                let old: Option<StoredToken> = txn.take(Collection::Tokens, &key)?;
                Ok::<_, Error>(old.map(|t| t.hash))
            })
            .await?;
        let hash_hex = removed.ok_or_else(|| Error::not_found("token", id))?;
        let mut hash = [0u8; 32];
        if hex::decode_to_slice(&hash_hex, &mut hash).is_ok()
            && let Ok(mut map) = self.by_hash.write()
        {
            map.remove(&hash);
        }
        Ok(())
    }
}
