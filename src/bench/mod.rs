//! The benchmark protocol (placeholder until the benchmark issue lands).
