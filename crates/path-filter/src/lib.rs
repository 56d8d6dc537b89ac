//! The path-filter action.

pub mod glob;
