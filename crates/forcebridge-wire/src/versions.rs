//! API versions: `GET /services/data/`.

use serde::{Deserialize, Serialize};

/// One entry of the versions list: `{"label":"Winter '24","url":"/services/data/v59.0","version":"59.0"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiVersionInfo {
    pub label: String,
    pub url: String,
    pub version: String,
}
