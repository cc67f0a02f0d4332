//! weft's channels (work in progress).
