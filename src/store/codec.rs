//! How values are stored: configuration as JSON (readable with any redb tool), the hot
//! rows (records, history, seller counters) compact.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StoreError;

pub(super) fn encode_json<T: Serialize>(key: &str, value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|source| StoreError::Corrupt {
        key: key.to_string(),
        source,
    })
}

pub(super) fn decode_json<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt {
        key: key.to_string(),
        source,
    })
}

/// A value in the compact row format of the hot tables (records, history, counters):
/// MessagePack with structs as arrays, so a row holds values, not field names. A new
/// field goes last, with `#[serde(default)]`, or the schema version is bumped.
pub(super) fn encode_row<T: Serialize>(key: &str, value: &T) -> Result<Vec<u8>, StoreError> {
    rmp_serde::to_vec(value).map_err(|e| StoreError::Codec {
        key: key.to_string(),
        message: e.to_string(),
    })
}

/// A value from its compact row (see [`encode_row`]).
pub(super) fn decode_row<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    rmp_serde::from_slice(bytes).map_err(|e| StoreError::Codec {
        key: key.to_string(),
        message: e.to_string(),
    })
}
