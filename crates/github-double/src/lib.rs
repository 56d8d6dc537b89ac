//! Test double for the GitHub REST API.
