//! weft's shared memory (work in progress).
#![forbid(unsafe_code)]
