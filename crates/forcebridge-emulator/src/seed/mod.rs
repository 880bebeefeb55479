//! Deterministic generated data: a coherent sales org (reps, accounts, contacts, opportunities
//! with products and line items, cases, leads, campaigns and their members, tasks and events)
//! plus generic rows for custom objects, from a seed string and a record count.
//!
//! The same seed and count give the same org on every run, down to ids and timestamps: one
//! ChaCha8 stream seeded with the SHA-256 of the seed string drives every choice, objects are
//! generated in a fixed order, and no timestamp comes from the clock. Timestamps fall in the two
//! years before [`ANCHOR_MILLIS`] (2026-01-01T00:00:00Z); a child is never created before its
//! parent, and `LastModifiedDate` = `SystemModstamp` >= `CreatedDate`.
//!
//! Records are written with [`Txn::load`] in one transaction, so loading a million rows takes
//! seconds. Before a record is stored, `dml::derive` fills in what a save would derive (IsWon,
//! CaseNumber, line-item totals, ...), and the org's validation rules are checked; a record that
//! breaks a rule is generated again (three tries) and otherwise left out.
//!
//! It deliberately does not go through the REST validations for every value: the generators
//! only produce values those validations accept (a test checks that for every stored value).

mod custom;
mod sales;
mod words;

use std::sync::Arc;
use std::time::Instant;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::Digest;

use crate::error::Error;
use crate::ids::RecordId;
use crate::org::Org;
use crate::schema::{ObjectDef, ObjectIdx, Schema};
use crate::store::{Txn, WriteError, id_of};
use crate::value::Value;

/// Generated timestamps end here: 2026-01-01T00:00:00Z.
pub(crate) const ANCHOR_MILLIS: i64 = 1_767_225_600_000;
/// Generated timestamps start here: 2024-01-01T00:00:00Z, two years before the anchor.
pub(crate) const START_MILLIS: i64 = 1_704_067_200_000;

const DAY: i64 = 86_400_000;
const SPAN: i64 = ANCHOR_MILLIS - START_MILLIS;

/// How many records of each kind a seeded org gets for a requested total.
///
/// Fixed parts scale gently with the total (sales reps: total/5,000 between 2 and 12; products:
/// total/2,000 between 4 and 200, each with a standard and a partner price book entry;
/// campaigns: total/1,000 between 2 and 300). Of the rest, custom objects share 10% (when the org
/// has any), and the standard objects split what remains: accounts 8%, contacts 20%,
/// opportunities 11%, opportunity line items 12%, cases 10%, leads 10%, campaign members 8%,
/// tasks 13%, events 8% (contacts also take what rounding leaves, so the parts add up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    pub users: u64,
    pub products: u64,
    pub pricebooks: u64,
    pub pricebook_entries: u64,
    pub campaigns: u64,
    pub accounts: u64,
    pub contacts: u64,
    pub leads: u64,
    pub opportunities: u64,
    pub line_items: u64,
    pub cases: u64,
    pub campaign_members: u64,
    pub tasks: u64,
    pub events: u64,
    /// Rows per custom object, in schema order.
    pub custom: Vec<(ObjectIdx, u64)>,
}

impl Plan {
    pub(crate) fn new(records: u64, schema: &Schema) -> Plan {
        let n = records;
        let users = if n >= 20 { (n / 5_000).clamp(2, 12) } else { 0 };
        let products = if n >= 40 {
            (n / 2_000).clamp(4, 200)
        } else {
            0
        };
        let pricebooks = if products > 0 { 2 } else { 0 };
        let pricebook_entries = products * pricebooks;
        let campaigns = if n >= 40 {
            (n / 1_000).clamp(2, 300)
        } else {
            0
        };
        let fixed = users + products + pricebooks + pricebook_entries + campaigns;
        let mut rest = n.saturating_sub(fixed);
        let custom_objects: Vec<ObjectIdx> = (0..schema.objects().len())
            .map(ObjectIdx)
            .filter(|&i| schema.object(i).custom)
            .collect();
        let mut custom = Vec::new();
        if !custom_objects.is_empty() {
            let share = rest / 10;
            rest -= share;
            let each = share / custom_objects.len() as u64;
            custom = custom_objects.into_iter().map(|o| (o, each)).collect();
        }
        let part = |permille: u64| rest * permille / 1000;
        let accounts = if rest > 0 { part(80).max(1) } else { 0 };
        let leads = part(100);
        let opportunities = part(110);
        let line_items = if products > 0 { part(120) } else { 0 };
        let cases = part(100);
        let campaign_members = if campaigns > 0 { part(80) } else { 0 };
        let tasks = part(130);
        let events = part(80);
        // Contacts take what rounding (and objects without their parents) leave over, so the
        // plan adds up to the request.
        let contacts = rest.saturating_sub(
            accounts
                + leads
                + opportunities
                + line_items
                + cases
                + campaign_members
                + tasks
                + events,
        );
        Plan {
            users,
            products,
            pricebooks,
            pricebook_entries,
            campaigns,
            accounts,
            contacts,
            leads,
            opportunities,
            line_items,
            cases,
            campaign_members,
            tasks,
            events,
            custom,
        }
    }

    #[cfg(test)]
    /// Records the plan asks for (generation may produce slightly fewer: a validation rule can
    /// reject a record, and campaign members are unique per campaign and person).
    pub(crate) fn total(&self) -> u64 {
        self.users
            + self.products
            + self.pricebooks
            + self.pricebook_entries
            + self.campaigns
            + self.accounts
            + self.contacts
            + self.leads
            + self.opportunities
            + self.line_items
            + self.cases
            + self.campaign_members
            + self.tasks
            + self.events
            + self.custom.iter().map(|(_, n)| n).sum::<u64>()
    }
}

/// Fills the org with generated records when the configuration asks for them
/// (`config.seed`). Runs once, on an org that holds only its configured users.
pub(crate) fn populate(org: &Org) -> Result<(), Error> {
    let Some(seed) = &org.config.seed else {
        return Ok(());
    };
    if seed.records == 0 {
        return Ok(());
    }
    let started = Instant::now();
    let schema = org.schema().clone();
    let plan = Plan::new(seed.records, &schema);
    let rng = rng_for(&seed.seed);
    let configured_users = org.users.clone();
    let generated = org.store.write(org.admin(), |txn| {
        let mut generator = Generator::new(txn, schema.clone(), rng, &configured_users)?;
        generator.run(&plan);
        Ok::<_, Error>(generator.generated)
    })?;
    tracing::info!(
        seed = %seed.seed,
        requested = seed.records,
        generated,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "generated the org's data"
    );
    Ok(())
}

/// The random stream for a seed string: ChaCha8 keyed with the SHA-256 of the string.
pub(crate) fn rng_for(seed: &str) -> ChaCha8Rng {
    let digest: [u8; 32] = sha2::Sha256::digest(seed.as_bytes()).into();
    ChaCha8Rng::from_seed(digest)
}

/// When a generated record was created and last modified.
#[derive(Debug, Clone, Copy)]
struct Times {
    created: i64,
    modified: i64,
}

/// The standard objects the generator fills, resolved once.
struct Objects {
    user: ObjectIdx,
    account: ObjectIdx,
    contact: ObjectIdx,
    lead: ObjectIdx,
    campaign: ObjectIdx,
    campaign_member: ObjectIdx,
    opportunity: ObjectIdx,
    line_item: ObjectIdx,
    product: ObjectIdx,
    pricebook: ObjectIdx,
    pricebook_entry: ObjectIdx,
    case: ObjectIdx,
    task: ObjectIdx,
    event: ObjectIdx,
}

impl Objects {
    fn resolve(schema: &Schema) -> Result<Objects, Error> {
        let find = |name: &str| {
            schema.find(name).map(|(idx, _)| idx).ok_or_else(|| {
                Error::config(format!(
                    "invalid configuration: the schema has no {name} object"
                ))
            })
        };
        Ok(Objects {
            user: find("User")?,
            account: find("Account")?,
            contact: find("Contact")?,
            lead: find("Lead")?,
            campaign: find("Campaign")?,
            campaign_member: find("CampaignMember")?,
            opportunity: find("Opportunity")?,
            line_item: find("OpportunityLineItem")?,
            product: find("Product2")?,
            pricebook: find("Pricebook2")?,
            pricebook_entry: find("PricebookEntry")?,
            case: find("Case")?,
            task: find("Task")?,
            event: find("Event")?,
        })
    }
}

/// A generated account, remembered for its children.
struct AccountInfo {
    id: RecordId,
    created: i64,
    owner: RecordId,
    name: Box<str>,
    domain: Box<str>,
    city: usize,
    street: Box<str>,
    postal: Box<str>,
    /// Its contacts: `contacts[first_contact..first_contact + n_contacts]`.
    first_contact: usize,
    n_contacts: usize,
    last_opportunity: Option<RecordId>,
    last_case: Option<RecordId>,
}

/// A generated contact or lead.
struct PersonInfo {
    id: RecordId,
    created: i64,
    /// The account of a contact (an index into `accounts`); `None` for leads.
    account: Option<usize>,
    owner: RecordId,
}

struct CampaignInfo {
    id: RecordId,
    created: i64,
    owner: RecordId,
}

struct ProductInfo {
    standard_entry: RecordId,
    list_price: f64,
}

/// The state of one generation run.
struct Generator<'a, 't> {
    txn: &'a mut Txn<'t>,
    schema: Arc<Schema>,
    rng: ChaCha8Rng,
    objects: Objects,
    /// For each object, the custom fields filled with generic values.
    custom_fields: Vec<Vec<usize>>,
    admin: RecordId,
    /// The sales reps who own records (the admin when there are none).
    owners: Vec<RecordId>,
    accounts: Vec<AccountInfo>,
    contacts: Vec<PersonInfo>,
    leads: Vec<PersonInfo>,
    campaigns: Vec<CampaignInfo>,
    products: Vec<ProductInfo>,
    standard_pricebook: Option<RecordId>,
    /// Records stored so far.
    generated: u64,
}

impl<'a, 't> Generator<'a, 't> {
    fn new(
        txn: &'a mut Txn<'t>,
        schema: Arc<Schema>,
        rng: ChaCha8Rng,
        configured_users: &[RecordId],
    ) -> Result<Generator<'a, 't>, Error> {
        let objects = Objects::resolve(&schema)?;
        let custom_fields = schema
            .objects()
            .iter()
            .map(|object| {
                object
                    .fields
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| f.custom && f.column().is_some() && !f.auto_number)
                    .map(|(i, _)| i)
                    .collect()
            })
            .collect();
        let admin = configured_users.first().copied().ok_or_else(|| {
            Error::config("invalid configuration: the org needs at least one user")
        })?;
        Ok(Generator {
            txn,
            schema,
            rng,
            objects,
            custom_fields,
            admin,
            owners: vec![admin],
            accounts: Vec::new(),
            contacts: Vec::new(),
            leads: Vec::new(),
            campaigns: Vec::new(),
            products: Vec::new(),
            standard_pricebook: None,
            generated: 0,
        })
    }

    fn run(&mut self, plan: &Plan) {
        self.settle_configured_users();
        self.users(plan.users);
        self.products(plan.products, plan.pricebooks);
        self.campaigns(plan.campaigns);
        self.accounts(plan.accounts);
        self.contacts(plan.contacts);
        self.leads(plan.leads);
        self.opportunities(plan.opportunities, plan.line_items);
        self.cases(plan.cases);
        self.campaign_members(plan.campaign_members);
        self.tasks(plan.tasks);
        self.events(plan.events);
        self.custom_objects(&plan.custom);
    }

    // ---- Building blocks ----------------------------------------------------------------

    /// Creation and modification times for record `i` of `n`: spread evenly over the window so
    /// ids and creation order agree, and never before `not_before` (the parent's creation).
    fn times(&mut self, i: u64, n: u64, not_before: i64) -> Times {
        let n = n.max(1);
        let width = (SPAN / n as i64).max(1);
        let base = START_MILLIS
            + (i128::from(SPAN) * i128::from(i) / i128::from(n)) as i64
            + self.rng.random_range(0..width);
        let created = if not_before >= base {
            not_before + self.rng.random_range(60_000..=3 * DAY)
        } else {
            base
        }
        .min(ANCHOR_MILLIS - 1);
        let room = (ANCHOR_MILLIS - 1 - created).min(120 * DAY);
        let modified = if room > 0 && self.rng.random_bool(0.6) {
            created + self.rng.random_range(0..=room)
        } else {
            created
        };
        Times { created, modified }
    }

    fn pick<'w>(&mut self, words: &[&'w str]) -> &'w str {
        words[self.rng.random_range(0..words.len())]
    }

    fn owner(&mut self) -> RecordId {
        self.owners[self.rng.random_range(0..self.owners.len())]
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    /// An amount between `low` and `high`, as often in each doubling (small amounts are as
    /// common as large ones on a log scale), rounded to `step`. Only multiplications: `ln` and
    /// `exp` differ in their last bits between maths libraries, and the same seed must give
    /// the same org everywhere.
    fn amount(&mut self, low: f64, high: f64, step: f64) -> f64 {
        let mut doublings = 0;
        let mut top = low;
        while top * 2.0 <= high {
            top *= 2.0;
            doublings += 1;
        }
        let mut base = low;
        for _ in 0..self.rng.random_range(0..=doublings) {
            base *= 2.0;
        }
        let factor: f64 = self.rng.random_range(1.0..2.0);
        let x = (base * factor).min(high);
        ((x / step).round() * step).max(step)
    }

    fn phone(&mut self, city: usize) -> String {
        let prefix = words::CITIES[city].phone;
        format!("{prefix}{:04}", self.rng.random_range(100..10_000))
    }

    /// Stores a generated record: fills the audit fields from `times`, the owner (when the
    /// object has one and `values` leaves it empty), and generic values for custom fields;
    /// derives what a save derives; checks validation rules. `None` when a rule rejects it.
    fn emit(
        &mut self,
        object: ObjectIdx,
        mut values: Vec<Value>,
        times: Times,
        creator: RecordId,
    ) -> Option<RecordId> {
        let schema = self.schema.clone();
        let def = schema.object(object);
        let sys = def.system;
        values[sys.is_deleted] = Value::Bool(false);
        values[sys.created_date] = Value::DateTime(times.created);
        values[sys.created_by] = Value::Ref(creator);
        values[sys.last_modified_date] = Value::DateTime(times.modified);
        values[sys.last_modified_by] = Value::Ref(creator);
        values[sys.system_modstamp] = Value::DateTime(times.modified);
        if let Some(owner) = sys.owner
            && values[owner].is_null()
        {
            values[owner] = Value::Ref(creator);
        }
        let slot = self.txn.data().table(object).slot_count();
        if !self.custom_fields[object.0].is_empty() {
            self.fill_custom_fields(def, object, slot, &mut values, times);
        }
        crate::dml::derive(self.txn, object, slot, &mut values);
        if self.breaks_a_rule(def, object, slot, &values) {
            return None;
        }
        self.txn.load(object, slot, Some(values.into()));
        self.generated += 1;
        Some(id_of(def, slot))
    }

    /// Replaces a stored record's values (an opportunity once its line items are known), after
    /// deriving again.
    fn restore(&mut self, object: ObjectIdx, id: RecordId, mut values: Vec<Value>) {
        let Some(slot) = crate::store::slot_of(id) else {
            return;
        };
        crate::dml::derive(self.txn, object, slot, &mut values);
        self.txn.load(object, slot, Some(values.into()));
    }

    fn breaks_a_rule(
        &self,
        def: &ObjectDef,
        object: ObjectIdx,
        slot: u32,
        values: &[Value],
    ) -> bool {
        def.validation_rules.iter().any(|rule| {
            crate::soql::condition_holds(
                &self.schema,
                self.txn.data(),
                object,
                slot,
                values,
                &rule.condition,
            )
        })
    }

    /// Stores the record `make` builds, building it again (up to three times) if a validation
    /// rule rejects it.
    fn emit_with(
        &mut self,
        object: ObjectIdx,
        times: Times,
        creator: RecordId,
        mut make: impl FnMut(&mut Self) -> Vec<Value>,
    ) -> Option<RecordId> {
        for _ in 0..3 {
            let values = make(self);
            if let Some(id) = self.emit(object, values, times, creator) {
                return Some(id);
            }
        }
        None
    }

    fn is_user(&self, id: RecordId) -> bool {
        self.schema
            .by_prefix(id.prefix())
            .is_some_and(|(object, _)| object == self.objects.user)
    }

    /// The creation time of a stored record.
    fn created_of(&self, id: RecordId) -> i64 {
        let Some((object, _, row)) = self.txn.data().find(&self.schema, id) else {
            return START_MILLIS;
        };
        match row[self.schema.object(object).system.created_date] {
            Value::DateTime(t) => t,
            _ => START_MILLIS,
        }
    }

    // ---- Users, products, price books, campaigns ------------------------------------------

    /// Gives the configured users fixed audit timestamps, so a seeded org is identical on every
    /// run even though they were created with the clock.
    fn settle_configured_users(&mut self) {
        let user = self.objects.user;
        let def = self.schema.object(user);
        let sys = def.system;
        let rows: Vec<(u32, Vec<Value>)> = self
            .txn
            .data()
            .table(user)
            .rows()
            .map(|(slot, row)| (slot, row.to_vec()))
            .collect();
        for (slot, mut values) in rows {
            values[sys.created_date] = Value::DateTime(START_MILLIS);
            values[sys.last_modified_date] = Value::DateTime(START_MILLIS);
            values[sys.system_modstamp] = Value::DateTime(START_MILLIS);
            self.txn.load(user, slot, Some(values.into()));
        }
    }

    fn users(&mut self, n: u64) {
        let schema = self.schema.clone();
        let object = self.objects.user;
        let def = schema.object(object);
        let [
            username,
            first_name,
            last_name,
            email,
            alias,
            nickname,
            active,
            zone,
            locale,
            encoding,
            language,
            user_type,
            title,
            department,
            company,
            manager,
            phone,
        ] = columns(
            def,
            [
                "Username",
                "FirstName",
                "LastName",
                "Email",
                "Alias",
                "CommunityNickname",
                "IsActive",
                "TimeZoneSidKey",
                "LocaleSidKey",
                "EmailEncodingKey",
                "LanguageLocaleKey",
                "UserType",
                "Title",
                "Department",
                "CompanyName",
                "ManagerId",
                "Phone",
            ],
        );
        let mut reps = Vec::new();
        let zones = ["America/Los_Angeles", "America/New_York", "Europe/London"];
        for i in 0..n {
            let first = self.pick(words::FIRST_NAMES);
            let last = self.pick(words::LAST_NAMES);
            // The number keeps usernames unique however the names fall.
            let handle = format!("{}.{}{}", first, last, i + 1).to_ascii_lowercase();
            let mut values = vec![Value::Null; def.columns];
            set(
                &mut values,
                username,
                format!("{handle}@sales.forcebridge.local"),
            );
            set(&mut values, first_name, first);
            set(&mut values, last_name, last);
            set(
                &mut values,
                email,
                format!("{handle}@sales.forcebridge.local"),
            );
            let alias_text: String = format!("{}{}", &first[..1], last)
                .to_ascii_lowercase()
                .chars()
                .take(8)
                .collect();
            set(&mut values, alias, alias_text);
            set(&mut values, nickname, handle.clone());
            values_bool(&mut values, active, true);
            set(&mut values, zone, zones[i as usize % zones.len()]);
            set(&mut values, locale, "en_US");
            set(&mut values, encoding, "UTF-8");
            set(&mut values, language, "en_US");
            set(&mut values, user_type, "Standard");
            set(
                &mut values,
                title,
                if i == 0 {
                    "Sales Manager"
                } else {
                    "Account Executive"
                },
            );
            set(&mut values, department, "Sales");
            set(&mut values, company, "forcebridge local org");
            set_ref(&mut values, manager, Some(self.admin));
            let phone_text = self.phone(i as usize % 24);
            set(&mut values, phone, phone_text);
            let created = START_MILLIS + (i as i64 + 1) * 3_600_000;
            let times = Times {
                created,
                modified: created,
            };
            if let Some(id) = self.emit(object, values, times, self.admin) {
                reps.push(id);
            }
        }
        if !reps.is_empty() {
            self.owners = reps;
        }
    }

    fn products(&mut self, n: u64, pricebooks: u64) {
        if n == 0 {
            return;
        }
        let schema = self.schema.clone();
        let (product, pricebook, entry) = (
            self.objects.product,
            self.objects.pricebook,
            self.objects.pricebook_entry,
        );
        let product_def = schema.object(product);
        let [name, code, description, active, family, unit, sku, external] = columns(
            product_def,
            [
                "Name",
                "ProductCode",
                "Description",
                "IsActive",
                "Family",
                "QuantityUnitOfMeasure",
                "StockKeepingUnit",
                "ExternalId",
            ],
        );
        let mut made = Vec::new();
        for i in 0..n {
            let base = words::PRODUCTS[i as usize % words::PRODUCTS.len()];
            let tier = words::PRODUCT_TIERS
                [(i as usize / words::PRODUCTS.len()) % words::PRODUCT_TIERS.len()];
            let generation = i as usize / (words::PRODUCTS.len() * words::PRODUCT_TIERS.len());
            let product_name = if generation == 0 {
                format!("{} {tier}", base.0)
            } else {
                format!("{} {tier} v{}", base.0, generation + 1)
            };
            let list_price = sales::round_to(
                self.amount(f64::from(base.2), f64::from(base.3), 1.0) - 0.01,
                2,
            );
            let is_active = self.chance(0.95);
            // The catalogue exists before anything is sold: products come right after the reps.
            let created = START_MILLIS + 2 * 3_600_000 + i as i64 * 60_000;
            let times = Times {
                created,
                modified: created,
            };
            let code_text = format!("FB-{:04}", i + 1);
            let mut values = vec![Value::Null; product_def.columns];
            set(&mut values, name, product_name.as_str());
            set(&mut values, code, code_text.as_str());
            set(
                &mut values,
                description,
                format!("{} ({} tier)", base.0, tier.to_ascii_lowercase()),
            );
            values_bool(&mut values, active, is_active);
            set(&mut values, family, base.1);
            set(&mut values, unit, "Each");
            set(&mut values, sku, format!("SKU-{:05}", i + 1));
            set(&mut values, external, format!("PROD-{:05}", i + 1));
            let id = self.emit(product, values, times, self.admin);
            if let Some(id) = id {
                made.push((id, list_price, is_active, times));
            }
        }
        if pricebooks == 0 {
            return;
        }
        let pricebook_def = schema.object(pricebook);
        let [pb_name, pb_active, pb_standard, pb_description] = columns(
            pricebook_def,
            ["Name", "IsActive", "IsStandard", "Description"],
        );
        let mut books = Vec::new();
        for (i, (title, standard)) in [("Standard Price Book", true), ("Partner Price Book", false)]
            .into_iter()
            .enumerate()
            .take(pricebooks as usize)
        {
            let created = START_MILLIS + i as i64 * 60_000;
            let times = Times {
                created,
                modified: created,
            };
            let mut values = vec![Value::Null; pricebook_def.columns];
            set(&mut values, pb_name, title);
            values_bool(&mut values, pb_active, true);
            values_bool(&mut values, pb_standard, standard);
            set(
                &mut values,
                pb_description,
                if standard {
                    "The standard price book: every product at list price"
                } else {
                    "Prices for resellers"
                },
            );
            if let Some(id) = self.emit(pricebook, values, times, self.admin) {
                books.push((id, standard));
            }
        }
        self.standard_pricebook = books.iter().find(|(_, s)| *s).map(|(id, _)| *id);
        let entry_def = schema.object(entry);
        let [e_book, e_product, e_price, e_active, e_use_standard] = columns(
            entry_def,
            [
                "Pricebook2Id",
                "Product2Id",
                "UnitPrice",
                "IsActive",
                "UseStandardPrice",
            ],
        );
        for (book, standard) in books {
            for &(product_id, list_price, is_active, times) in &made {
                let price = if standard {
                    list_price
                } else {
                    (list_price * 0.85 * 100.0).round() / 100.0
                };
                let mut values = vec![Value::Null; entry_def.columns];
                set_ref(&mut values, e_book, Some(book));
                set_ref(&mut values, e_product, Some(product_id));
                set_double(&mut values, e_price, price);
                values_bool(&mut values, e_active, is_active);
                values_bool(&mut values, e_use_standard, false);
                let entry_id = self.emit(entry, values, times, self.admin);
                if standard && let Some(entry_id) = entry_id {
                    self.products.push(ProductInfo {
                        standard_entry: entry_id,
                        list_price,
                    });
                }
            }
        }
    }

    fn campaigns(&mut self, n: u64) {
        let schema = self.schema.clone();
        let object = self.objects.campaign;
        let def = schema.object(object);
        let [
            name,
            kind,
            status,
            start,
            end,
            expected_revenue,
            budget,
            actual,
            response,
            sent,
            active,
            description,
        ] = columns(
            def,
            [
                "Name",
                "Type",
                "Status",
                "StartDate",
                "EndDate",
                "ExpectedRevenue",
                "BudgetedCost",
                "ActualCost",
                "ExpectedResponse",
                "NumberSent",
                "IsActive",
                "Description",
            ],
        );
        let kinds = [
            "Webinar",
            "Conference",
            "Email",
            "Trade Show",
            "Direct Mail",
            "Partners",
        ];
        for i in 0..n {
            let times = self.times(i, n, START_MILLIS);
            let owner = self.owner();
            let id = self.emit_with(object, times, owner, |g| {
                let kind_text = g.pick(&kinds);
                let topic = g.pick(words::CAMPAIGN_TOPICS);
                let start_day =
                    crate::value::date_of_millis(times.created) + g.rng.random_range(7..60);
                let end_day = start_day + g.rng.random_range(1..60);
                let anchor_day = crate::value::date_of_millis(ANCHOR_MILLIS);
                let status_text = if end_day < anchor_day {
                    if g.chance(0.05) {
                        "Aborted"
                    } else {
                        "Completed"
                    }
                } else if start_day <= anchor_day {
                    "In Progress"
                } else {
                    "Planned"
                };
                let year = crate::value::naive_date(start_day)
                    .map(|d| chrono::Datelike::year(&d))
                    .unwrap_or(2025);
                let budget_amount = g.amount(1_000.0, 50_000.0, 100.0);
                let mut values = vec![Value::Null; def.columns];
                set(&mut values, name, format!("{year} {kind_text}: {topic}"));
                set(&mut values, kind, kind_text);
                set(&mut values, status, status_text);
                set_value(&mut values, start, Value::Date(start_day));
                set_value(&mut values, end, Value::Date(end_day));
                set_double(&mut values, budget, budget_amount);
                if status_text == "Completed" {
                    let actual_amount =
                        (budget_amount * g.rng.random_range(0.8..1.2) / 100.0).round() * 100.0;
                    set_double(&mut values, actual, actual_amount);
                }
                set_double(&mut values, expected_revenue, budget_amount * 5.0);
                let response_rate = (g.rng.random_range(1.0..10.0_f64) * 100.0).round() / 100.0;
                set_double(&mut values, response, response_rate);
                set_double(
                    &mut values,
                    sent,
                    f64::from(g.rng.random_range(100..10_000u32)),
                );
                values_bool(
                    &mut values,
                    active,
                    matches!(status_text, "In Progress" | "Planned"),
                );
                if g.chance(0.3) {
                    set(
                        &mut values,
                        description,
                        format!(
                            "{kind_text} about {} for prospects and customers",
                            topic.to_lowercase()
                        ),
                    );
                }
                values
            });
            if let Some(id) = id {
                self.campaigns.push(CampaignInfo {
                    id,
                    created: times.created,
                    owner,
                });
            }
        }
    }
}

/// The columns of `names` on `object` (`None` for a name the object lacks).
fn columns<const N: usize>(object: &ObjectDef, names: [&str; N]) -> [Option<usize>; N] {
    names.map(|name| object.field(name).and_then(|(_, f)| f.column()))
}

fn set(values: &mut [Value], column: Option<usize>, text: impl Into<Box<str>>) {
    if let Some(c) = column {
        values[c] = Value::Text(text.into());
    }
}

fn set_value(values: &mut [Value], column: Option<usize>, value: Value) {
    if let Some(c) = column {
        values[c] = value;
    }
}

fn set_double(values: &mut [Value], column: Option<usize>, number: f64) {
    set_value(values, column, Value::Double(number));
}

fn set_ref(values: &mut [Value], column: Option<usize>, id: Option<RecordId>) {
    if let Some(id) = id {
        set_value(values, column, Value::Ref(id));
    }
}

fn values_bool(values: &mut [Value], column: Option<usize>, flag: bool) {
    set_value(values, column, Value::Bool(flag));
}

/// Splits `total` over items in proportion to `weights` (largest shares first for the
/// remainder), so the counts add up exactly.
fn distribute(total: u64, weights: &[f64]) -> Vec<u64> {
    let sum: f64 = weights.iter().sum();
    if weights.is_empty() || sum <= 0.0 {
        return vec![0; weights.len()];
    }
    let mut counts: Vec<u64> = weights
        .iter()
        .map(|w| (total as f64 * w / sum).floor() as u64)
        .collect();
    let mut given: u64 = counts.iter().sum();
    let mut i = 0;
    while given < total {
        if weights[i % weights.len()] > 0.0 {
            counts[i % weights.len()] += 1;
            given += 1;
        }
        i += 1;
    }
    counts
}

#[cfg(test)]
mod tests;

/// Loads `rows` plain Account records (names, industries, cities, phones, revenue; no related
/// records) straight into the store, in transactions of 50,000: a large, uniform table for
/// benchmarks of the org and of clients. Names are `Account 0000000`, `Account 0000001`, ...
pub(crate) fn load_plain_accounts(org: &Org, rows: usize) {
    let schema = org.schema().clone();
    let (account, def) = schema.find("Account").unwrap();
    let column = |name: &str| def.field(name).unwrap().1.column().unwrap();
    let columns = [
        column("Name"),
        column("Industry"),
        column("Type"),
        column("BillingCity"),
        column("BillingState"),
        column("Phone"),
        column("Website"),
        column("AnnualRevenue"),
        column("NumberOfEmployees"),
        column("OwnerId"),
    ];
    let industries = ["Media", "Energy", "Banking", "Technology", "Retail"];
    let cities = [
        ("San Francisco", "CA"),
        ("Austin", "TX"),
        ("Boston", "MA"),
        ("Seattle", "WA"),
    ];
    let owner = org.admin();
    let mut done = 0;
    while done < rows {
        let batch = (rows - done).min(50_000);
        org.store
            .write(owner, |txn| {
                for i in done..done + batch {
                    let mut values = vec![Value::Null; def.columns];
                    let (city, state) = cities[i % cities.len()];
                    values[columns[0]] = Value::text(format!("Account {i:07}"));
                    values[columns[1]] = Value::text(industries[i % industries.len()]);
                    values[columns[2]] = Value::text("Customer - Direct");
                    values[columns[3]] = Value::text(city);
                    values[columns[4]] = Value::text(state);
                    values[columns[5]] = Value::text(format!("(415) 555-{:04}", i % 10_000));
                    values[columns[6]] = Value::text(format!("https://account{i}.example.com"));
                    values[columns[7]] = Value::Double((i % 1000) as f64 * 12_500.0);
                    values[columns[8]] = Value::Int((i % 5000) as i64);
                    values[columns[9]] = Value::Ref(owner);
                    txn.insert(account, values)
                        .map_err(|e| WriteError::Work(format!("{e:?}")))?;
                }
                Ok::<_, WriteError<String>>(())
            })
            .unwrap();
        done += batch;
    }
}
