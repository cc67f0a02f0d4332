//! weft's channels.
//!
//! - [`slot`]: the embeddable one-value slot behind every job handle of the weft pool.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod slot;
mod sync;
