//! Headless recording (placeholder until the recording issue lands).
