//! Criterion benches for decode and AMM math; `cargo bench -p kestrel-benches`.
