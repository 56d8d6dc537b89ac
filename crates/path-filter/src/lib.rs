//! The path-filter action.
