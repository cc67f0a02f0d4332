//! The weft thread pool (work in progress).
