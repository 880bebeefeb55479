//! One module per top-level command.

pub(crate) mod bulk;
pub(crate) mod catalog;
pub(crate) mod connect;
pub(crate) mod data;
pub(crate) mod demo;
pub(crate) mod emulator;
pub(crate) mod mcp;
pub(crate) mod push;
pub(crate) mod soql;
pub(crate) mod sync;
pub(crate) mod web;

/// The `[NAME]` section of a TOML config file (`[sync]`, `[push]`) as `T`; a file without it,
/// or with a key `T` does not know, is a usage error naming the file and the section.
pub(crate) fn read_section<T: serde::de::DeserializeOwned>(
    path: &std::path::Path,
    name: &str,
) -> anyhow::Result<T> {
    use anyhow::Context;

    use crate::output::UsageError;

    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut file: toml::Table =
        toml::from_str(&text).map_err(|e| UsageError(format!("{}: {e}", path.display())))?;
    let Some(section) = file.remove(name) else {
        return Err(UsageError(format!("{}: no [{name}] section", path.display())).into());
    };
    section.try_into().map_err(|e: toml::de::Error| {
        UsageError(
            format!("{}: [{name}]: {}", path.display(), e.message())
                .trim_end()
                .to_string(),
        )
        .into()
    })
}
