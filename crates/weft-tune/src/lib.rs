//! Pool-size sweeps for weft (work in progress).
#![forbid(unsafe_code)]
