//! The Bevy explorer app (placeholder until the app issue lands).
