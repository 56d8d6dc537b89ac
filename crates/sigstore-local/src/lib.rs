//! A local Sigstore stack for tests.
