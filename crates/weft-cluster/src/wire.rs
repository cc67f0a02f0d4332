//! What crosses the wire, and how the user's types become bytes.
//!
//! Items travel as `(index, bincode(T))` and results as `(index, Outcome)`, so timely's
//! dataflow is one concrete type for every `map` and timely's own bincode step (which
//! panics on a type it cannot encode) only ever sees `u64`s and byte vectors. The user's
//! types are encoded and decoded here, where a failure is a [`ClusterError::Codec`].

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{ClusterError, panic_message};

/// One item on the wire: its index in the input and its bincode bytes.
pub(crate) type WireItem = (u64, Bytes);

/// Bytes that serde sees as bytes (one length and one copy), not as a sequence of `u8`s
/// (one call per byte: about 100x slower in a debug build).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Bytes(pub(crate) Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Bytes, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Bytes;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<Bytes, E> {
                Ok(Bytes(bytes.to_vec()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, bytes: Vec<u8>) -> Result<Bytes, E> {
                Ok(Bytes(bytes))
            }
        }
        deserializer.deserialize_byte_buf(Visitor)
    }
}
/// One result on the wire.
pub(crate) type WireResult = (u64, Outcome);

/// How the job for one item ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Outcome {
    /// The bincode bytes of the result.
    Value(Bytes),
    /// The job panicked with this message.
    Panicked(String),
    /// The item could not be decoded, or the result encoded.
    Codec(String),
}

/// The job of one `map` call, as every process runs it: bytes in, outcome out. It never
/// panics: a panic of the user's function is caught and becomes `Outcome::Panicked`.
pub(crate) type Job = Arc<dyn Fn(&[u8]) -> Outcome + Send + Sync>;

/// Wraps the user's function into a [`Job`].
pub(crate) fn job<T, R, F>(f: F) -> Job
where
    T: DeserializeOwned,
    R: Serialize,
    F: Fn(T) -> R + Send + Sync + 'static,
{
    Arc::new(move |bytes: &[u8]| {
        let item: T = match bincode::deserialize(bytes) {
            Ok(item) => item,
            Err(error) => return Outcome::Codec(format!("decoding the item: {error}")),
        };
        // A panic payload's own Drop could panic too: catch that as well.
        match catch_unwind(AssertUnwindSafe(|| f(item))) {
            Ok(result) => match bincode::serialize(&result) {
                Ok(bytes) => Outcome::Value(Bytes(bytes)),
                Err(error) => Outcome::Codec(format!("encoding the result: {error}")),
            },
            Err(payload) => {
                let message = panic_message(&*payload);
                let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
                Outcome::Panicked(message)
            }
        }
    })
}

/// Encodes the leader's items; the first that fails is a `Codec` error.
pub(crate) fn encode_items<T: Serialize>(items: &[T]) -> Result<Vec<WireItem>, ClusterError> {
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            bincode::serialize(item)
                .map(|bytes| (index as u64, Bytes(bytes)))
                .map_err(|error| ClusterError::Codec {
                    item: index,
                    message: format!("encoding the item: {error}"),
                })
        })
        .collect()
}

/// Puts the leader's results back in input order and decodes them; the first item (by
/// index) that panicked or failed to (de)serialize is the error.
pub(crate) fn decode_results<R: DeserializeOwned>(
    mut results: Vec<WireResult>,
    count: usize,
) -> Result<Vec<R>, ClusterError> {
    results.sort_unstable_by_key(|(index, _)| *index);
    let in_order = results.len() == count
        && results
            .iter()
            .enumerate()
            .all(|(at, (index, _))| *index == at as u64);
    if !in_order {
        return Err(ClusterError::Engine(format!(
            "expected the results of {count} items, got {} (some twice or missing)",
            results.len()
        )));
    }
    results
        .into_iter()
        .map(|(index, outcome)| {
            let item = index as usize;
            match outcome {
                Outcome::Value(bytes) => {
                    bincode::deserialize(&bytes.0).map_err(|error| ClusterError::Codec {
                        item,
                        message: format!("decoding the result: {error}"),
                    })
                }
                Outcome::Panicked(message) => Err(ClusterError::Panicked { item, message }),
                Outcome::Codec(message) => Err(ClusterError::Codec { item, message }),
            }
        })
        // In index order, so the error is the first failed item's.
        .collect()
}
