//! Bounds on the work one file may cost: its size, its nesting, and what its aliases
//! expand to (the independent re-parse in `semantic` expands every alias, so a small
//! "billion laughs" file would otherwise cost gigabytes and minutes).

use crate::error::Error;

/// The largest file edited, in bytes (4 MiB: values files and kustomizations are far
/// smaller).
pub const MAX_INPUT_BYTES: usize = 4 << 20;

/// The deepest nesting of mappings and lists.
pub const MAX_DEPTH: usize = 128;

/// The most nodes all aliases of a file may expand to, counted with what nested aliases
/// expand to.
pub const MAX_ALIAS_EXPANSION: u64 = 100_000;

pub(crate) fn check_size(src: &str) -> Result<(), Error> {
    if src.len() > MAX_INPUT_BYTES {
        return Err(Error::Unsupported(format!(
            "the file is {} bytes, over the {MAX_INPUT_BYTES}-byte limit on YAML input; \
             values files and kustomizations this large are not edited",
            src.len()
        )));
    }
    Ok(())
}

pub(crate) fn too_deep() -> Error {
    Error::Unsupported(format!(
        "the file nests collections more than {MAX_DEPTH} deep (the limit on YAML nesting); \
         it cannot be edited safely"
    ))
}

pub(crate) fn too_many_aliased() -> Error {
    Error::Unsupported(format!(
        "the file's aliases expand to more than {MAX_ALIAS_EXPANSION} nodes (the limit on \
         alias expansion); it cannot be edited safely. Write the repeated values out, or \
         use fewer aliases of large anchors"
    ))
}
