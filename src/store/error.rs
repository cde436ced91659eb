//! The store's error: what went wrong below the operations, with its cause kept
//! (`source`, also in the message, so a log line of it is whole). The operation layer wraps it whole (`crate::error::Error::Store`).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the data file {0} is already open: another allot server is using it")]
    AlreadyOpen(PathBuf),
    #[error("the data file has schema version {found}, this allot needs {expected}")]
    SchemaMismatch { found: u64, expected: u64 },
    #[error("storage: {0}")]
    Redb(#[from] redb::Error),
    #[error("stored value under {key} is unreadable: {source}")]
    Corrupt {
        key: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("stored value under {key} is unreadable: {message}")]
    Codec { key: String, message: String },
    #[error("the store writer has stopped")]
    WriterGone,
    #[error("the transaction could not be committed: {0}")]
    WriterFailed(String),
    #[error("an earlier write of the same chain failed, so this one was not made")]
    ChainBroken,
    #[error("record {0} changed under a write decided on its previous row; the write was refused")]
    StaleRow(String),
    #[error("creating the data directory {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The one conversion of redb's error types: every one goes through `redb::Error`.
macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self { StoreError::Redb(e.into()) }
        }
    )*};
}
from_redb!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::DatabaseError
);
