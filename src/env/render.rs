//! Headless PNG renderer of a Scene (placeholder).
