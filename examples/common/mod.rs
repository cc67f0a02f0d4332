//! What the examples share: reading their one size argument.
//!
//! Each example says `mod common;`. Cargo builds `examples/*.rs` and `examples/*/main.rs`
//! as examples, so this `mod.rs` is not one of them.

use std::fmt::Display;
use std::str::FromStr;

/// The example's size: its first argument, else the `WEFT_EXAMPLE_SIZE` environment
/// variable, else `default`. Underscores are ignored (`10_000_000`). `what` says what the
/// size counts, for the error: on anything that is not a whole number the example prints
/// one line saying so and exits with status 2.
pub(crate) fn size_from_args<T>(what: &str, default: T) -> T
where
    T: FromStr,
    T::Err: Display,
{
    let (text, source) = match std::env::args().nth(1) {
        Some(text) => (text, "the first argument"),
        None => match std::env::var("WEFT_EXAMPLE_SIZE") {
            Ok(text) => (text, "WEFT_EXAMPLE_SIZE"),
            Err(_) => return default,
        },
    };
    match text.replace('_', "").parse() {
        Ok(size) => size,
        Err(error) => {
            eprintln!("error: {source} ({what}) must be a whole number, not {text:?}: {error}");
            std::process::exit(2);
        }
    }
}
