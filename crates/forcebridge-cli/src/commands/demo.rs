//! `forcebridge demo`: a guided tour against the built-in local org.

use crate::cli::DemoArgs;
use crate::output::{Exit, Outcome};

pub(crate) async fn run(_args: DemoArgs) -> anyhow::Result<Outcome> {
    Ok(Exit::Success)
}
