//! The one helper the catalog tests use: a local org started in this process from an org
//! file, with generated records, and a client logged in to it.

use forcebridge_catalog::{Catalog, Extract, Selection};
use forcebridge_client::{Client, ClientBuilder, LoginUrl, PasswordCredentials};
use forcebridge_emulator::SeedConfig;
use forcebridge_emulator::{Config, Emulator};

/// The org file of the small test org.
pub(crate) const SMALL_ORG: &str = include_str!("../data/small-org.toml");

pub(crate) struct TestOrg {
    pub(crate) emulator: Emulator,
    pub(crate) client: Client,
}

impl TestOrg {
    /// The small org with a few hundred generated records.
    pub(crate) async fn small() -> TestOrg {
        TestOrg::from_org_file(SMALL_ORG, 300).await
    }

    /// An org from `org_file` with about `records` generated records.
    pub(crate) async fn from_org_file(org_file: &str, records: u64) -> TestOrg {
        TestOrg::with_config(config(org_file, records)).await
    }

    pub(crate) async fn with_config(config: Config) -> TestOrg {
        let emulator = Emulator::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let client = builder(&emulator).build().unwrap();
        TestOrg { emulator, client }
    }

    /// A client builder for this org, to build clients with other settings.
    pub(crate) fn builder(&self) -> ClientBuilder {
        builder(&self.emulator)
    }

    /// The catalog of the objects `selection` chooses.
    pub(crate) async fn extract(&self, selection: &Selection) -> Extract {
        Catalog::extract(&self.client, selection, |_| {})
            .await
            .unwrap()
    }

    /// The small org's custom objects and Account: the catalog the snapshots show.
    pub(crate) async fn small_catalog(&self) -> Catalog {
        let selection = Selection::all()
            .include("*__c")
            .unwrap()
            .include("Account")
            .unwrap();
        let mut catalog = self.extract(&selection).await.catalog;
        catalog.extracted_at = "2026-01-01T00:00:00Z".into();
        catalog
    }
}

/// The configuration of an org file, with a fixed seed.
pub(crate) fn config(org_file: &str, records: u64) -> Config {
    let mut config = Config::from_toml(org_file).unwrap();
    config.seed = Some(SeedConfig {
        seed: "catalog-tests".into(),
        records,
    });
    config
}

fn builder(emulator: &Emulator) -> ClientBuilder {
    let login = emulator.login();
    Client::builder(PasswordCredentials {
        login_url: LoginUrl::custom(&login.url).unwrap(),
        client_id: login.client_id,
        client_secret: login.client_secret.into(),
        username: login.username,
        password: login.password.into(),
        security_token: login.security_token.into(),
    })
}
