//! A configuration table held in an actor's memory and persisted in the store, with the
//! generic messages every configuration kind answers: put (upsert), get, list, delete.
//!
//! The store is the truth; the in-memory map changes only after the write committed,
//! and handlers are atomic, so the actor never shows a write that is not durable.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use actix::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::domain::{Id, Page};
use crate::error::Error;
use crate::store::{Collection, Store, StoreError, WriteTxn};

/// A configuration kind (seller, team, ...).
pub trait Item: Clone + Serialize + DeserializeOwned + Send + Sync + Unpin + 'static {
    /// The name used in errors (`seller`, `segment`, ...).
    const KIND: &'static str;
    const COLLECTION: Collection;

    /// Removes what belongs to `id` in the same transaction that deletes it.
    fn cascade_delete(_txn: &WriteTxn, _id: &str) -> Result<(), StoreError> {
        Ok(())
    }
}

pub struct ConfigTable<T> {
    items: BTreeMap<Id, T>,
    /// Writes are not atomic in the actor (so that concurrent ones share a group commit);
    /// each carries a version, and a commit applies only if no later write of the same
    /// id applied first. Versions follow submission order, which is commit order.
    versions: std::collections::HashMap<Id, u64>,
    next_version: u64,
}

impl<T> ConfigTable<T> {
    /// The version of a write about to be submitted.
    pub fn next_version(&mut self) -> u64 {
        self.next_version += 1;
        self.next_version
    }

    /// Applies a committed put (`Some`) or delete (`None`) unless a later write of `id`
    /// already applied; answers whether it did.
    pub fn apply(&mut self, id: Id, value: Option<T>, version: u64) -> bool {
        if self.versions.get(&id).is_some_and(|v| *v > version) {
            return false;
        }
        self.versions.insert(id.clone(), version);
        match value {
            Some(v) => {
                self.items.insert(id, v);
            }
            None => {
                self.items.remove(&id);
            }
        }
        true
    }

    pub fn get(&self, id: &str) -> Option<&T> {
        self.items.get(id)
    }
}

impl<T: Item> ConfigTable<T> {
    pub fn load(store: &Store) -> Result<ConfigTable<T>, Error> {
        let txn = store.read()?;
        let mut items = BTreeMap::new();
        for (key, value) in txn.load_all::<T>(T::COLLECTION)? {
            let id = Id::parse("id", &key)
                .map_err(|_| Error::Internal(format!("stored {} id {key:?} is not an id", T::KIND)))?;
            items.insert(id, value);
        }
        Ok(ConfigTable {
            items,
            versions: Default::default(),
            next_version: 0,
        })
    }

    pub fn contains(&self, id: &str) -> bool {
        self.items.contains_key(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Id, &T)> {
        self.items.iter()
    }

    /// One page in id order, after the cursor `after` (an id).
    pub fn page(&self, after: Option<&str>, limit: usize) -> Page<(Id, T)> {
        let iter: Box<dyn Iterator<Item = (&Id, &T)>> = match after {
            Some(a) => Box::new(
                self.items
                    .range::<str, _>((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded)),
            ),
            None => Box::new(self.items.iter()),
        };
        let mut items: Vec<(Id, T)> = iter.take(limit + 1).map(|(k, v)| (k.clone(), v.clone())).collect();
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|(k, _)| k.to_string())
        } else {
            None
        };
        Page { items, next }
    }
}

/// Writes `value` under `id`; answers whether it was created (not replaced).
pub async fn persist_put<T: Item>(store: &Store, id: &Id, value: &T) -> Result<bool, Error> {
    let key = id.to_string();
    let value = std::sync::Arc::new(value.clone());
    Ok(store
        .write(move |txn| txn.put(T::COLLECTION, &key, value.as_ref()))
        .await?)
}

/// Removes `id` and what belongs to it; answers whether it existed.
pub async fn persist_delete<T: Item>(store: &Store, id: &Id) -> Result<bool, Error> {
    let key = id.to_string();
    Ok(store
        .write(move |txn| {
            let existed = txn.delete(T::COLLECTION, &key)?;
            if existed {
                T::cascade_delete(txn, &key)?;
            }
            Ok::<_, StoreError>(existed)
        })
        .await?)
}

/// Upsert `value` under `id`. Answers `true` when created.
pub struct Put<T> {
    pub id: Id,
    pub value: T,
}

impl<T: Item> Message for Put<T> {
    type Result = Result<bool, Error>;
}

pub struct Get<T> {
    pub id: Id,
    pub _kind: PhantomData<T>,
}

impl<T> Get<T> {
    pub fn new(id: Id) -> Get<T> {
        Get { id, _kind: PhantomData }
    }
}

impl<T: Item> Message for Get<T> {
    type Result = Result<T, Error>;
}

pub struct List<T> {
    pub after: Option<String>,
    pub limit: usize,
    pub _kind: PhantomData<T>,
}

impl<T> List<T> {
    pub fn new(after: Option<String>, limit: usize) -> List<T> {
        List {
            after,
            limit,
            _kind: PhantomData,
        }
    }
}

impl<T: Item> Message for List<T> {
    type Result = Result<Page<(Id, T)>, Error>;
}

pub struct Delete<T> {
    pub id: Id,
    pub _kind: PhantomData<T>,
}

impl<T> Delete<T> {
    pub fn new(id: Id) -> Delete<T> {
        Delete { id, _kind: PhantomData }
    }
}

impl<T: Item> Message for Delete<T> {
    type Result = Result<(), Error>;
}

/// An actor that persists its tables in the store.
pub trait HasStore {
    fn store(&self) -> Store;
}

/// An actor that keeps the table of `T`: how to reach it and what to check on save.
pub trait HoldsTable<T: Item>: Actor<Context = Context<Self>> + HasStore {
    fn table(&mut self) -> &mut ConfigTable<T>;
    /// Checks a value before it is saved (references, scripts).
    fn check(&mut self, id: &Id, value: &T) -> Result<(), Error>;
    /// Keeps derived state (compiled scripts, indexes) in step after a save or a delete;
    /// by default both are one change.
    fn after_change(&mut self, _id: &Id) {}
    fn after_put(&mut self, id: &Id) {
        self.after_change(id)
    }
    fn after_delete(&mut self, id: &Id) {
        self.after_change(id)
    }
}

/// Implements the four generic messages of `ty` for `actor`.
macro_rules! config_handlers {
    ($actor:ty, $($ty:ty),+) => {$(
        impl actix::Handler<$crate::actors::table::Put<$ty>> for $actor {
            type Result = actix::ResponseActFuture<Self, Result<bool, $crate::error::Error>>;
            fn handle(&mut self, msg: $crate::actors::table::Put<$ty>, _: &mut Self::Context) -> Self::Result {
                use actix::prelude::*;
                use $crate::actors::table::HoldsTable;
                if let Err(e) = <Self as HoldsTable<$ty>>::check(self, &msg.id, &msg.value) {
                    return Box::pin(actix::fut::ready(Err(e)));
                }
                let store = <Self as $crate::actors::table::HasStore>::store(self);
                let version = <Self as HoldsTable<$ty>>::table(self).next_version();
                Box::pin(
                    async move {
                        let created = $crate::actors::table::persist_put(&store, &msg.id, &msg.value).await?;
                        Ok::<_, $crate::error::Error>((created, msg))
                    }
                    .into_actor(self)
                    .map(move |res, act, _| {
                        let (created, msg) = res?;
                        let id = msg.id.clone();
                        if <Self as HoldsTable<$ty>>::table(act).apply(msg.id, Some(msg.value), version) {
                            <Self as HoldsTable<$ty>>::after_put(act, &id);
                        }
                        Ok(created)
                    }),
                )
            }
        }

        impl actix::Handler<$crate::actors::table::Get<$ty>> for $actor {
            type Result = Result<$ty, $crate::error::Error>;
            fn handle(&mut self, msg: $crate::actors::table::Get<$ty>, _: &mut Self::Context) -> Self::Result {
                use $crate::actors::table::{HoldsTable, Item};
                <Self as HoldsTable<$ty>>::table(self)
                    .get(msg.id.as_str())
                    .cloned()
                    .ok_or_else(|| $crate::error::Error::not_found(<$ty as Item>::KIND, msg.id.to_string()))
            }
        }

        impl actix::Handler<$crate::actors::table::List<$ty>> for $actor {
            type Result = Result<$crate::domain::Page<($crate::domain::Id, $ty)>, $crate::error::Error>;
            fn handle(&mut self, msg: $crate::actors::table::List<$ty>, _: &mut Self::Context) -> Self::Result {
                use $crate::actors::table::HoldsTable;
                Ok(<Self as HoldsTable<$ty>>::table(self).page(msg.after.as_deref(), msg.limit))
            }
        }

        impl actix::Handler<$crate::actors::table::Delete<$ty>> for $actor {
            type Result = actix::ResponseActFuture<Self, Result<(), $crate::error::Error>>;
            fn handle(&mut self, msg: $crate::actors::table::Delete<$ty>, _: &mut Self::Context) -> Self::Result {
                use actix::prelude::*;
                use $crate::actors::table::{HoldsTable, Item};
                let store = <Self as $crate::actors::table::HasStore>::store(self);
                let version = <Self as HoldsTable<$ty>>::table(self).next_version();
                Box::pin(
                    async move {
                        let existed = $crate::actors::table::persist_delete::<$ty>(&store, &msg.id).await?;
                        if !existed {
                            return Err($crate::error::Error::not_found(<$ty as Item>::KIND, msg.id.to_string()));
                        }
                        Ok(msg.id)
                    }
                    .into_actor(self)
                    .map(move |res, act, _| {
                        let id = res?;
                        if <Self as HoldsTable<$ty>>::table(act).apply(id.clone(), None, version) {
                            <Self as HoldsTable<$ty>>::after_delete(act, &id);
                        }
                        Ok(())
                    }),
                )
            }
        }
    )+};
}
pub(crate) use config_handlers;

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Id {
        Id::parse("id", s).unwrap()
    }

    #[test]
    fn a_commit_applies_only_if_no_later_write_of_the_id_applied() {
        let mut t: ConfigTable<u32> = ConfigTable {
            items: BTreeMap::new(),
            versions: Default::default(),
            next_version: 0,
        };
        let first = t.next_version();
        let second = t.next_version();
        // The later write's completion is handled first (same group commit).
        assert!(t.apply(id("a"), Some(2), second));
        assert!(
            !t.apply(id("a"), Some(1), first),
            "an older write must not overwrite a newer one"
        );
        assert_eq!(t.get("a"), Some(&2));
        let delete = t.next_version();
        assert!(t.apply(id("a"), None, delete));
        assert_eq!(t.get("a"), None);
        // Other ids are independent.
        assert!(t.apply(id("b"), Some(7), first));
        assert_eq!(t.get("b"), Some(&7));
    }
}
