//! The sales objects of a generated org: accounts with their contacts, opportunities (and line
//! items), cases; leads; campaign members; tasks and events linked to people and records.

use std::collections::HashSet;

use rand::RngExt;

use super::words::{self, CITIES};
use super::{
    AccountInfo, DAY, Generator, PersonInfo, START_MILLIS, Times, columns, distribute, set,
    set_double, set_ref, set_value, values_bool,
};
use crate::ids::RecordId;
use crate::value::{self, Value};

/// The anchor as a date (days since the epoch).
fn anchor_day() -> i32 {
    value::date_of_millis(super::ANCHOR_MILLIS)
}

/// Rounds to `scale` decimal places, as a save of a field with that scale does.
pub(super) fn round_to(number: f64, scale: i32) -> f64 {
    let factor = 10f64.powi(scale);
    (number * factor).round() / factor
}

/// Picks from `(item, weight)` pairs.
fn weighted<'w>(generator: &mut Generator<'_, '_>, items: &[(&'w str, u32)]) -> &'w str {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut roll = generator.rng.random_range(0..total.max(1));
    for (item, weight) in items {
        if roll < *weight {
            return item;
        }
        roll -= weight;
    }
    items.first().map_or("", |(item, _)| item)
}

/// A company name and its web domain. `i` walks a permutation of the word combinations, so
/// names repeat only after 55,296 companies (then a city is added).
fn company(offset: u64, i: u64) -> (String, String) {
    let (first, second, third) = (
        words::COMPANY_FIRST,
        words::COMPANY_SECOND,
        words::COMPANY_THIRD,
    );
    let combinations = (first.len() * second.len() * third.len()) as u64;
    // 7919 is prime and does not divide the number of combinations, so this is a permutation.
    let index = (i.wrapping_mul(7919).wrapping_add(offset)) % combinations;
    let round = i / combinations;
    let a = first[(index % first.len() as u64) as usize];
    let b = second[(index / first.len() as u64 % second.len() as u64) as usize];
    let c = third[(index / (first.len() * second.len()) as u64) as usize % third.len()];
    let suffix = words::COMPANY_SUFFIXES[(index % words::COMPANY_SUFFIXES.len() as u64) as usize];
    let mut name = if suffix.is_empty() {
        format!("{a} {b} {c}")
    } else {
        format!("{a} {b} {c} {suffix}")
    };
    let mut domain = format!("{a}{b}{c}").to_ascii_lowercase();
    if round > 0 {
        let city = CITIES[(round as usize - 1) % CITIES.len()].city;
        name.push(' ');
        name.push_str(city);
        domain.push_str(&city.replace(' ', "").to_ascii_lowercase());
    }
    (name, format!("{domain}.com"))
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

impl Generator<'_, '_> {
    pub(super) fn accounts(&mut self, n: u64) {
        let schema = self.schema.clone();
        let object = self.objects.account;
        let def = schema.object(object);
        let [
            name,
            kind,
            parent,
            b_street,
            b_city,
            b_state,
            b_postal,
            b_country,
            s_street,
            s_city,
            s_state,
            s_postal,
            s_country,
            phone,
            fax,
            number,
            website,
            sic,
            industry,
            revenue,
            employees,
            ownership,
            ticker,
            description,
            rating,
            site,
            source,
        ] = columns(
            def,
            [
                "Name",
                "Type",
                "ParentId",
                "BillingStreet",
                "BillingCity",
                "BillingState",
                "BillingPostalCode",
                "BillingCountry",
                "ShippingStreet",
                "ShippingCity",
                "ShippingState",
                "ShippingPostalCode",
                "ShippingCountry",
                "Phone",
                "Fax",
                "AccountNumber",
                "Website",
                "Sic",
                "Industry",
                "AnnualRevenue",
                "NumberOfEmployees",
                "Ownership",
                "TickerSymbol",
                "Description",
                "Rating",
                "Site",
                "AccountSource",
            ],
        );
        let industries = picklist_values(def, "Industry");
        let sources = picklist_values(def, "AccountSource");
        let offset = self.rng.random_range(0..1_000_000u64);
        for i in 0..n {
            let times = self.times(i, n, START_MILLIS + DAY);
            let owner = self.owner();
            let (company_name, domain) = company(offset, i);
            let city = self.rng.random_range(0..CITIES.len());
            let place = CITIES[city];
            let street = format!(
                "{} {} {}",
                self.rng.random_range(1..9_999),
                self.pick(words::STREETS),
                self.pick(words::STREET_KINDS)
            );
            let postal = format!("{}{:02}", place.postal, self.rng.random_range(0..100));
            let id = self.emit_with(object, times, owner, |g| {
                let mut values = vec![Value::Null; def.columns];
                set(&mut values, name, company_name.as_str());
                let kind_text = weighted(
                    g,
                    &[
                        ("Customer - Direct", 35),
                        ("Customer - Channel", 10),
                        ("Prospect", 35),
                        ("Channel Partner / Reseller", 8),
                        ("Technology Partner", 5),
                        ("Installation Partner", 3),
                        ("Other", 4),
                    ],
                );
                set(&mut values, kind, kind_text);
                if g.accounts.len() > 10 && g.chance(0.05) {
                    let candidate = &g.accounts[g.rng.random_range(0..g.accounts.len())];
                    if candidate.created <= times.created {
                        set_ref(&mut values, parent, Some(candidate.id));
                    }
                }
                set(&mut values, b_street, street.as_str());
                set(&mut values, b_city, place.city);
                set(&mut values, b_state, place.state);
                set(&mut values, b_postal, postal.as_str());
                set(&mut values, b_country, place.country);
                if g.chance(0.7) {
                    set(&mut values, s_street, street.as_str());
                    set(&mut values, s_city, place.city);
                    set(&mut values, s_state, place.state);
                    set(&mut values, s_postal, postal.as_str());
                    set(&mut values, s_country, place.country);
                }
                let phone_text = g.phone(city);
                set(&mut values, phone, phone_text);
                if g.chance(0.3) {
                    let fax_text = g.phone(city);
                    set(&mut values, fax, fax_text);
                }
                set(&mut values, number, format!("ACC-{:07}", i + 1));
                set(&mut values, website, format!("https://www.{domain}"));
                set(
                    &mut values,
                    sic,
                    format!("{:04}", g.rng.random_range(100..9_999)),
                );
                if !industries.is_empty() {
                    let industry_text = industries[g.rng.random_range(0..industries.len())];
                    set(&mut values, industry, industry_text);
                }
                let headcount = g.amount(5.0, 50_000.0, 1.0);
                set_value(&mut values, employees, Value::Int(headcount as i64));
                let per_head = g.rng.random_range(80_000.0..350_000.0);
                set_double(
                    &mut values,
                    revenue,
                    (headcount * per_head / 1000.0).round() * 1000.0,
                );
                let public = headcount > 5_000.0 && g.chance(0.6);
                set(
                    &mut values,
                    ownership,
                    if public {
                        "Public"
                    } else {
                        weighted(g, &[("Private", 80), ("Subsidiary", 12), ("Other", 8)])
                    },
                );
                if public {
                    let symbol: String = company_name
                        .chars()
                        .filter(char::is_ascii_alphabetic)
                        .take(4)
                        .collect::<String>()
                        .to_ascii_uppercase();
                    set(&mut values, ticker, symbol);
                }
                if g.chance(0.2) {
                    set(
                        &mut values,
                        description,
                        format!("Company based in {}", place.city),
                    );
                }
                if g.chance(0.7) {
                    let rating_text = g.pick(&["Hot", "Warm", "Cold"]);
                    set(&mut values, rating, rating_text);
                }
                if g.chance(0.2) {
                    set(&mut values, site, "Headquarters");
                }
                if !sources.is_empty() && g.chance(0.8) {
                    let source_text = sources[g.rng.random_range(0..sources.len())];
                    set(&mut values, source, source_text);
                }
                values
            });
            if let Some(id) = id {
                self.accounts.push(AccountInfo {
                    id,
                    created: times.created,
                    owner,
                    name: company_name.into(),
                    domain: domain.into(),
                    city,
                    street: street.into(),
                    postal: postal.into(),
                    first_contact: 0,
                    n_contacts: 0,
                    last_opportunity: None,
                    last_case: None,
                });
            }
        }
    }

    pub(super) fn contacts(&mut self, n: u64) {
        if self.accounts.is_empty() {
            return;
        }
        let schema = self.schema.clone();
        let object = self.objects.contact;
        let def = schema.object(object);
        let [
            account_id,
            salutation,
            first_name,
            last_name,
            street,
            city,
            state,
            postal,
            country,
            phone,
            mobile,
            reports_to,
            email,
            title,
            department,
            source,
            birthdate,
            opted_out,
            do_not_call,
        ] = columns(
            def,
            [
                "AccountId",
                "Salutation",
                "FirstName",
                "LastName",
                "MailingStreet",
                "MailingCity",
                "MailingState",
                "MailingPostalCode",
                "MailingCountry",
                "Phone",
                "MobilePhone",
                "ReportsToId",
                "Email",
                "Title",
                "Department",
                "LeadSource",
                "Birthdate",
                "HasOptedOutOfEmail",
                "DoNotCall",
            ],
        );
        let sources = picklist_values(def, "LeadSource");
        let weights: Vec<f64> = (0..self.accounts.len())
            .map(|_| self.rng.random_range(0.3..1.7))
            .collect();
        let counts = distribute(n, &weights);
        let mut i = 0u64;
        for (account_index, &count) in counts.iter().enumerate() {
            let first_contact = self.contacts.len();
            for k in 0..count {
                let account = &self.accounts[account_index];
                let (account_record, account_created, owner) =
                    (account.id, account.created, account.owner);
                let domain = account.domain.clone();
                let account_city = account.city;
                let place = CITIES[account_city];
                let (account_street, account_postal) =
                    (account.street.clone(), account.postal.clone());
                let times = self.times(i, n, account_created);
                i += 1;
                let boss = (k > 0 && self.chance(0.4))
                    .then(|| self.contacts.get(first_contact))
                    .flatten()
                    .filter(|c| c.created <= times.created)
                    .map(|c| c.id);
                let id = self.emit_with(object, times, owner, |g| {
                    let first = g.pick(words::FIRST_NAMES);
                    let last = g.pick(words::LAST_NAMES);
                    let mut values = vec![Value::Null; def.columns];
                    set_ref(&mut values, account_id, Some(account_record));
                    if g.chance(0.4) {
                        let s = g.pick(&["Mr.", "Ms.", "Mrs.", "Dr."]);
                        set(&mut values, salutation, s);
                    }
                    set(&mut values, first_name, first);
                    set(&mut values, last_name, last);
                    set(&mut values, street, &*account_street);
                    set(&mut values, city, place.city);
                    set(&mut values, state, place.state);
                    set(&mut values, postal, &*account_postal);
                    set(&mut values, country, place.country);
                    let phone_text = g.phone(account_city);
                    set(&mut values, phone, phone_text);
                    if g.chance(0.5) {
                        let mobile_text = g.phone(account_city);
                        set(&mut values, mobile, mobile_text);
                    }
                    set_ref(&mut values, reports_to, boss);
                    set(
                        &mut values,
                        email,
                        format!("{first}.{last}@{domain}").to_ascii_lowercase(),
                    );
                    let title_text = g.pick(words::TITLES);
                    set(&mut values, title, title_text);
                    let department_text = g.pick(words::DEPARTMENTS);
                    set(&mut values, department, department_text);
                    if !sources.is_empty() && g.chance(0.7) {
                        let s = sources[g.rng.random_range(0..sources.len())];
                        set(&mut values, source, s);
                    }
                    if g.chance(0.15) {
                        let born = value::date_from_ymd(1960, 1, 1).unwrap_or(0)
                            + g.rng.random_range(0..40 * 365);
                        set_value(&mut values, birthdate, Value::Date(born));
                    }
                    let opted = g.chance(0.08);
                    values_bool(&mut values, opted_out, opted);
                    let no_calls = g.chance(0.04);
                    values_bool(&mut values, do_not_call, no_calls);
                    values
                });
                if let Some(id) = id {
                    self.contacts.push(PersonInfo {
                        id,
                        created: times.created,
                        account: Some(account_index),
                        owner,
                    });
                }
            }
            let account = &mut self.accounts[account_index];
            account.first_contact = first_contact;
            account.n_contacts = self.contacts.len() - first_contact;
        }
    }

    pub(super) fn leads(&mut self, n: u64) {
        let schema = self.schema.clone();
        let object = self.objects.lead;
        let def = schema.object(object);
        let [
            first_name,
            last_name,
            title,
            company_column,
            street,
            city,
            state,
            postal,
            country,
            phone,
            email,
            website,
            source,
            status,
            industry,
            rating,
            revenue,
            employees,
            opted_out,
        ] = columns(
            def,
            [
                "FirstName",
                "LastName",
                "Title",
                "Company",
                "Street",
                "City",
                "State",
                "PostalCode",
                "Country",
                "Phone",
                "Email",
                "Website",
                "LeadSource",
                "Status",
                "Industry",
                "Rating",
                "AnnualRevenue",
                "NumberOfEmployees",
                "HasOptedOutOfEmail",
            ],
        );
        let sources = picklist_values(def, "LeadSource");
        let industries = picklist_values(def, "Industry");
        let offset = self.rng.random_range(0..1_000_000u64);
        for i in 0..n {
            let times = self.times(i, n, START_MILLIS + DAY);
            let owner = self.owner();
            let (company_name, domain) = company(offset, i.wrapping_mul(3));
            let id = self.emit_with(object, times, owner, |g| {
                let first = g.pick(words::FIRST_NAMES);
                let last = g.pick(words::LAST_NAMES);
                let city_index = g.rng.random_range(0..CITIES.len());
                let place = CITIES[city_index];
                let mut values = vec![Value::Null; def.columns];
                set(&mut values, first_name, first);
                set(&mut values, last_name, last);
                let title_text = g.pick(words::TITLES);
                set(&mut values, title, title_text);
                set(&mut values, company_column, company_name.as_str());
                let street_text = format!(
                    "{} {} {}",
                    g.rng.random_range(1..9_999),
                    g.pick(words::STREETS),
                    g.pick(words::STREET_KINDS)
                );
                set(&mut values, street, street_text);
                set(&mut values, city, place.city);
                set(&mut values, state, place.state);
                let postal_text = format!("{}{:02}", place.postal, g.rng.random_range(0..100));
                set(&mut values, postal, postal_text);
                set(&mut values, country, place.country);
                let phone_text = g.phone(city_index);
                set(&mut values, phone, phone_text);
                set(
                    &mut values,
                    email,
                    format!("{first}.{last}@{domain}").to_ascii_lowercase(),
                );
                if g.chance(0.6) {
                    set(&mut values, website, format!("https://www.{domain}"));
                }
                if !sources.is_empty() {
                    let s = sources[g.rng.random_range(0..sources.len())];
                    set(&mut values, source, s);
                }
                let status_text = weighted(
                    g,
                    &[
                        ("Open - Not Contacted", 30),
                        ("Working - Contacted", 35),
                        ("Closed - Not Converted", 35),
                    ],
                );
                set(&mut values, status, status_text);
                if !industries.is_empty() && g.chance(0.8) {
                    let s = industries[g.rng.random_range(0..industries.len())];
                    set(&mut values, industry, s);
                }
                if g.chance(0.6) {
                    let r = g.pick(&["Hot", "Warm", "Cold"]);
                    set(&mut values, rating, r);
                }
                let headcount = g.amount(1.0, 20_000.0, 1.0);
                set_value(&mut values, employees, Value::Int(headcount as i64));
                if g.chance(0.5) {
                    let per_head = g.rng.random_range(60_000.0..300_000.0);
                    set_double(
                        &mut values,
                        revenue,
                        (headcount * per_head / 1000.0).round() * 1000.0,
                    );
                }
                let opted = g.chance(0.05);
                values_bool(&mut values, opted_out, opted);
                values
            });
            if let Some(id) = id {
                self.leads.push(PersonInfo {
                    id,
                    created: times.created,
                    account: None,
                    owner,
                });
            }
        }
    }

    pub(super) fn opportunities(&mut self, n: u64, line_items: u64) {
        if self.accounts.is_empty() {
            return;
        }
        let schema = self.schema.clone();
        let object = self.objects.opportunity;
        let def = schema.object(object);
        let [
            account_id,
            name,
            stage,
            amount,
            close_date,
            kind,
            next_step,
            source,
            campaign,
            pricebook,
            has_items,
        ] = columns(
            def,
            [
                "AccountId",
                "Name",
                "StageName",
                "Amount",
                "CloseDate",
                "Type",
                "NextStep",
                "LeadSource",
                "CampaignId",
                "Pricebook2Id",
                "HasOpportunityLineItem",
            ],
        );
        let sources = picklist_values(def, "LeadSource");
        let weights: Vec<f64> = (0..self.accounts.len())
            .map(|_| self.rng.random_range(0.2..1.8))
            .collect();
        let counts = distribute(n, &weights);
        let item_weights: Vec<f64> = (0..n)
            .map(|_| {
                if self.products.is_empty() || self.rng.random_bool(0.4) {
                    0.0
                } else {
                    self.rng.random_range(0.5..3.0)
                }
            })
            .collect();
        let item_counts = distribute(line_items, &item_weights);
        let open_stages: &[(&str, u32)] = &[
            ("Prospecting", 25),
            ("Qualification", 20),
            ("Needs Analysis", 15),
            ("Value Proposition", 12),
            ("Id. Decision Makers", 8),
            ("Perception Analysis", 6),
            ("Proposal/Price Quote", 8),
            ("Negotiation/Review", 6),
        ];
        let mut i = 0u64;
        for (account_index, &count) in counts.iter().enumerate() {
            for k in 0..count {
                let account = &self.accounts[account_index];
                let (account_record, account_created, owner) =
                    (account.id, account.created, account.owner);
                let account_name = account.name.clone();
                let times = self.times(i, n, account_created);
                let items = item_counts.get(i as usize).copied().unwrap_or(0);
                i += 1;
                let campaign_id = if self.campaigns.is_empty() || !self.chance(0.2) {
                    None
                } else {
                    let c = &self.campaigns[self.rng.random_range(0..self.campaigns.len())];
                    (c.created <= times.created).then_some(c.id)
                };
                let pricebook_id = if items > 0 {
                    self.standard_pricebook
                } else {
                    None
                };
                let id = self.emit_with(object, times, owner, |g| {
                    let created_day = value::date_of_millis(times.created);
                    let close_day = created_day + g.rng.random_range(14..180);
                    let stage_text = if close_day < anchor_day() {
                        if g.chance(0.55) {
                            "Closed Won"
                        } else {
                            "Closed Lost"
                        }
                    } else {
                        weighted(g, open_stages)
                    };
                    let deal = g.pick(words::DEAL_WORDS);
                    let mut values = vec![Value::Null; def.columns];
                    set_ref(&mut values, account_id, Some(account_record));
                    set(
                        &mut values,
                        name,
                        truncate(&format!("{account_name} - {deal}"), 120),
                    );
                    set(&mut values, stage, stage_text);
                    if items == 0 {
                        let money = g.amount(5_000.0, 500_000.0, 100.0);
                        set_double(&mut values, amount, money);
                    }
                    set_value(&mut values, close_date, Value::Date(close_day));
                    let kind_text = if k == 0 {
                        "New Customer"
                    } else {
                        weighted(
                            g,
                            &[
                                ("Existing Customer - Upgrade", 50),
                                ("Existing Customer - Replacement", 30),
                                ("Existing Customer - Downgrade", 20),
                            ],
                        )
                    };
                    set(&mut values, kind, kind_text);
                    if !stage_text.starts_with("Closed") {
                        let step = g.pick(words::NEXT_STEPS);
                        set(&mut values, next_step, step);
                    }
                    if !sources.is_empty() && g.chance(0.7) {
                        let s = sources[g.rng.random_range(0..sources.len())];
                        set(&mut values, source, s);
                    }
                    set_ref(&mut values, campaign, campaign_id);
                    set_ref(&mut values, pricebook, pricebook_id);
                    values
                });
                let Some(id) = id else { continue };
                self.accounts[account_index].last_opportunity = Some(id);
                if items > 0 && pricebook_id.is_some() {
                    self.line_items(id, items, times, owner, amount, has_items);
                }
            }
        }
    }

    /// Adds `count` line items (distinct products) to an opportunity, then stores its Amount as
    /// the sum of their totals, as a real org rolls them up.
    fn line_items(
        &mut self,
        opportunity: RecordId,
        count: u64,
        times: Times,
        owner: RecordId,
        amount_column: Option<usize>,
        has_items_column: Option<usize>,
    ) {
        let schema = self.schema.clone();
        let object = self.objects.line_item;
        let def = schema.object(object);
        let [
            opportunity_id,
            entry,
            quantity,
            unit_price,
            service_date,
            total_price,
        ] = columns(
            def,
            [
                "OpportunityId",
                "PricebookEntryId",
                "Quantity",
                "UnitPrice",
                "ServiceDate",
                "TotalPrice",
            ],
        );
        let Some((opp_object, _, opp_row)) = self.txn.data().find(&schema, opportunity) else {
            return;
        };
        let close = schema
            .object(opp_object)
            .field("CloseDate")
            .and_then(|(_, f)| f.column())
            .map(|c| opp_row[c].clone())
            .unwrap_or(Value::Null);
        let first_product = self.rng.random_range(0..self.products.len());
        let step = 1 + self.rng.random_range(0..3usize);
        let mut total = 0.0;
        let mut stored = 0;
        let mut last = None;
        for j in 0..count.min(self.products.len() as u64) {
            let product = &self.products[(first_product + j as usize * step) % self.products.len()];
            let (entry_id, list_price) = (product.standard_entry, product.list_price);
            let mut values = vec![Value::Null; def.columns];
            set_ref(&mut values, opportunity_id, Some(opportunity));
            set_ref(&mut values, entry, Some(entry_id));
            let units = f64::from(self.rng.random_range(1..=20u32));
            set_double(&mut values, quantity, units);
            if self.chance(0.5) {
                let discount = [0.05, 0.1, 0.15][self.rng.random_range(0..3)];
                set_double(
                    &mut values,
                    unit_price,
                    round_to(list_price * (1.0 - discount), 2),
                );
            }
            set_value(&mut values, service_date, close.clone());
            // The roll-up changes the opportunity, so its validation rules decide whether the
            // item may be added, as they would on a save: the item's total is derived first.
            let mut preview = values.clone();
            let next_slot = self.txn.data().table(object).slot_count();
            crate::dml::derive(self.txn, object, next_slot, &mut preview);
            let item_total = total_price.and_then(|c| preview[c].as_f64()).unwrap_or(0.0);
            let Some(rolled_up) = self.rolled_up(
                opportunity,
                total + item_total,
                amount_column,
                has_items_column,
            ) else {
                break;
            };
            if self.emit(object, values, times, owner).is_none() {
                continue;
            }
            total += item_total;
            stored += 1;
            last = Some(rolled_up);
        }
        if stored > 0
            && let Some(values) = last
        {
            self.restore(opp_object, opportunity, values);
        }
    }

    /// The opportunity's values with `total` as its Amount (derived again), or `None` when a
    /// validation rule refuses them.
    fn rolled_up(
        &self,
        opportunity: RecordId,
        total: f64,
        amount_column: Option<usize>,
        has_items_column: Option<usize>,
    ) -> Option<Vec<Value>> {
        let (object, slot, row) = self.txn.data().find(&self.schema, opportunity)?;
        let mut values = row.to_vec();
        set_double(&mut values, amount_column, round_to(total, 2));
        values_bool(&mut values, has_items_column, true);
        crate::dml::derive(self.txn, object, slot, &mut values);
        let def = self.schema.object(object);
        (!self.breaks_a_rule(def, object, slot, &values)).then_some(values)
    }

    pub(super) fn cases(&mut self, n: u64) {
        if self.accounts.is_empty() {
            return;
        }
        let schema = self.schema.clone();
        let object = self.objects.case;
        let def = schema.object(object);
        let [
            contact_id,
            account_id,
            kind,
            status,
            reason,
            origin,
            subject,
            priority,
            description,
            closed_date,
            escalated,
        ] = columns(
            def,
            [
                "ContactId",
                "AccountId",
                "Type",
                "Status",
                "Reason",
                "Origin",
                "Subject",
                "Priority",
                "Description",
                "ClosedDate",
                "IsEscalated",
            ],
        );
        let weights: Vec<f64> = (0..self.accounts.len())
            .map(|_| self.rng.random_range(0.1..1.9))
            .collect();
        let counts = distribute(n, &weights);
        let mut i = 0u64;
        for (account_index, &count) in counts.iter().enumerate() {
            for _ in 0..count {
                let account = &self.accounts[account_index];
                let (account_record, mut not_before, owner) =
                    (account.id, account.created, account.owner);
                let (first_contact, n_contacts) = (account.first_contact, account.n_contacts);
                let contact = if n_contacts > 0 {
                    let c = &self.contacts[first_contact + self.rng.random_range(0..n_contacts)];
                    not_before = not_before.max(c.created);
                    Some(c.id)
                } else {
                    None
                };
                let times = self.times(i, n, not_before);
                i += 1;
                let id = self.emit_with(object, times, owner, |g| {
                    let age = super::ANCHOR_MILLIS - times.created;
                    let status_text = if age > 60 * DAY && g.chance(0.85) {
                        "Closed"
                    } else {
                        weighted(
                            g,
                            &[
                                ("New", 35),
                                ("Working", 35),
                                ("Escalated", 10),
                                ("Closed", 20),
                            ],
                        )
                    };
                    let subject_text = g.pick(words::CASE_SUBJECTS);
                    let mut values = vec![Value::Null; def.columns];
                    set_ref(&mut values, account_id, Some(account_record));
                    set_ref(&mut values, contact_id, contact);
                    let kind_text = g.pick(&[
                        "Mechanical",
                        "Electrical",
                        "Electronic",
                        "Structural",
                        "Other",
                    ]);
                    set(&mut values, kind, kind_text);
                    set(&mut values, status, status_text);
                    let reason_text = g.pick(&[
                        "Installation",
                        "Equipment Complexity",
                        "Performance",
                        "Breakdown",
                        "Equipment Design",
                        "Feedback",
                        "Other",
                    ]);
                    set(&mut values, reason, reason_text);
                    let origin_text = weighted(g, &[("Phone", 40), ("Email", 40), ("Web", 20)]);
                    set(&mut values, origin, origin_text);
                    set(&mut values, subject, subject_text);
                    let priority_text = weighted(g, &[("High", 20), ("Medium", 55), ("Low", 25)]);
                    set(&mut values, priority, priority_text);
                    if g.chance(0.5) {
                        set(
                            &mut values,
                            description,
                            format!("Customer reports: {}.", subject_text.to_lowercase()),
                        );
                    }
                    if status_text == "Closed" {
                        set_value(&mut values, closed_date, Value::DateTime(times.modified));
                    }
                    values_bool(&mut values, escalated, status_text == "Escalated");
                    values
                });
                if let Some(id) = id {
                    self.accounts[account_index].last_case = Some(id);
                }
            }
        }
    }

    pub(super) fn campaign_members(&mut self, n: u64) {
        if self.campaigns.is_empty() || (self.contacts.is_empty() && self.leads.is_empty()) {
            return;
        }
        let schema = self.schema.clone();
        let object = self.objects.campaign_member;
        let def = schema.object(object);
        let [campaign_id, lead_id, contact_id, status] =
            columns(def, ["CampaignId", "LeadId", "ContactId", "Status"]);
        let mut taken: HashSet<(usize, RecordId)> = HashSet::new();
        for i in 0..n {
            let mut chosen = None;
            for _ in 0..5 {
                let campaign = self.rng.random_range(0..self.campaigns.len());
                let use_contact =
                    !self.contacts.is_empty() && (self.leads.is_empty() || self.chance(0.6));
                let person = if use_contact {
                    &self.contacts[self.rng.random_range(0..self.contacts.len())]
                } else {
                    &self.leads[self.rng.random_range(0..self.leads.len())]
                };
                if taken.insert((campaign, person.id)) {
                    chosen = Some((campaign, person.id, person.created, use_contact));
                    break;
                }
            }
            let Some((campaign, person, person_created, is_contact)) = chosen else {
                continue;
            };
            let campaign_info = &self.campaigns[campaign];
            let (campaign_record, creator) = (campaign_info.id, campaign_info.owner);
            let times = self.times(i, n, campaign_info.created.max(person_created));
            self.emit_with(object, times, creator, |g| {
                let mut values = vec![Value::Null; def.columns];
                set_ref(&mut values, campaign_id, Some(campaign_record));
                if is_contact {
                    set_ref(&mut values, contact_id, Some(person));
                } else {
                    set_ref(&mut values, lead_id, Some(person));
                }
                let status_text = weighted(
                    g,
                    &[
                        ("Planned", 15),
                        ("Sent", 45),
                        ("Received", 15),
                        ("Responded", 25),
                    ],
                );
                set(&mut values, status, status_text);
                values
            });
        }
    }

    /// A person an activity is with, what it is about, the earliest it can be created, and
    /// who owns it.
    fn activity_target(&mut self) -> Option<(RecordId, Option<RecordId>, i64, RecordId)> {
        let use_contact = !self.contacts.is_empty() && (self.leads.is_empty() || self.chance(0.7));
        if use_contact {
            let contact = &self.contacts[self.rng.random_range(0..self.contacts.len())];
            let (who, mut not_before, owner) = (contact.id, contact.created, contact.owner);
            let account = contact.account.and_then(|a| self.accounts.get(a));
            let roll: f64 = self.rng.random_range(0.0..1.0);
            let what = match account {
                Some(a) if roll < 0.5 => Some(a.id),
                Some(a) if roll < 0.7 => a.last_opportunity,
                Some(a) if roll < 0.85 => a.last_case,
                _ => None,
            };
            if let Some(what) = what {
                not_before = not_before.max(self.created_of(what));
            }
            Some((who, what, not_before, owner))
        } else if !self.leads.is_empty() {
            let lead = &self.leads[self.rng.random_range(0..self.leads.len())];
            // Salesforce does not let a task with a lead be about another record.
            Some((lead.id, None, lead.created, lead.owner))
        } else {
            None
        }
    }

    pub(super) fn tasks(&mut self, n: u64) {
        let schema = self.schema.clone();
        let object = self.objects.task;
        let def = schema.object(object);
        let [
            who_id,
            what_id,
            subject,
            activity_date,
            status,
            priority,
            description,
            kind,
            duration,
            subtype,
        ] = columns(
            def,
            [
                "WhoId",
                "WhatId",
                "Subject",
                "ActivityDate",
                "Status",
                "Priority",
                "Description",
                "Type",
                "CallDurationInSeconds",
                "TaskSubtype",
            ],
        );
        for i in 0..n {
            let Some((who, what, not_before, owner)) = self.activity_target() else {
                return;
            };
            let times = self.times(i, n, not_before);
            self.emit_with(object, times, owner, |g| {
                let (subject_text, kind_text, subtype_text) =
                    words::TASK_SUBJECTS[g.rng.random_range(0..words::TASK_SUBJECTS.len())];
                let due = value::date_of_millis(times.created) + g.rng.random_range(0..14);
                let status_text = if due < anchor_day() - 7 {
                    if g.chance(0.9) {
                        "Completed"
                    } else {
                        "Deferred"
                    }
                } else {
                    weighted(
                        g,
                        &[
                            ("Not Started", 40),
                            ("In Progress", 25),
                            ("Waiting on someone else", 10),
                            ("Completed", 25),
                        ],
                    )
                };
                let mut values = vec![Value::Null; def.columns];
                set_ref(&mut values, who_id, Some(who));
                set_ref(&mut values, what_id, what);
                set(&mut values, subject, subject_text);
                set_value(&mut values, activity_date, Value::Date(due));
                set(&mut values, status, status_text);
                let priority_text = weighted(g, &[("High", 15), ("Normal", 70), ("Low", 15)]);
                set(&mut values, priority, priority_text);
                set(&mut values, kind, kind_text);
                set(&mut values, subtype, subtype_text);
                if subtype_text == "Call" && status_text == "Completed" {
                    let seconds = g.rng.random_range(30..1_800);
                    set_value(&mut values, duration, Value::Int(seconds));
                }
                if g.chance(0.3) {
                    let note = g.pick(&[
                        "Left a voicemail",
                        "Discussed pricing and next steps",
                        "Sent the requested documents",
                        "Agreed to follow up next week",
                        "Confirmed the meeting time",
                    ]);
                    set(&mut values, description, note);
                }
                values
            });
        }
    }

    pub(super) fn events(&mut self, n: u64) {
        let schema = self.schema.clone();
        let object = self.objects.event;
        let def = schema.object(object);
        let [
            who_id,
            what_id,
            subject,
            location,
            all_day,
            activity_date_time,
            activity_date,
            duration,
            start,
            end,
            description,
            kind,
            show_as,
        ] = columns(
            def,
            [
                "WhoId",
                "WhatId",
                "Subject",
                "Location",
                "IsAllDayEvent",
                "ActivityDateTime",
                "ActivityDate",
                "DurationInMinutes",
                "StartDateTime",
                "EndDateTime",
                "Description",
                "Type",
                "ShowAs",
            ],
        );
        for i in 0..n {
            let Some((who, what, not_before, owner)) = self.activity_target() else {
                return;
            };
            let times = self.times(i, n, not_before);
            self.emit_with(object, times, owner, |g| {
                let (subject_text, kind_text) =
                    words::EVENT_SUBJECTS[g.rng.random_range(0..words::EVENT_SUBJECTS.len())];
                let day = value::date_of_millis(times.created) + g.rng.random_range(1..30);
                let quarter_hours = g.rng.random_range(8 * 4..17 * 4u32);
                let starts = value::date_start_millis(day) + i64::from(quarter_hours) * 900_000;
                let minutes = *[30i64, 60, 60, 90, 120]
                    .get(g.rng.random_range(0..5))
                    .unwrap_or(&60);
                let mut values = vec![Value::Null; def.columns];
                set_ref(&mut values, who_id, Some(who));
                set_ref(&mut values, what_id, what);
                set(&mut values, subject, subject_text);
                let place = g.pick(words::EVENT_LOCATIONS);
                set(&mut values, location, place);
                values_bool(&mut values, all_day, false);
                set_value(&mut values, activity_date_time, Value::DateTime(starts));
                set_value(&mut values, activity_date, Value::Date(day));
                set_value(&mut values, duration, Value::Int(minutes));
                set_value(&mut values, start, Value::DateTime(starts));
                set_value(&mut values, end, Value::DateTime(starts + minutes * 60_000));
                set(&mut values, kind, kind_text);
                set(&mut values, show_as, "Busy");
                if g.chance(0.2) {
                    set(
                        &mut values,
                        description,
                        format!("{subject_text} ({place})"),
                    );
                }
                values
            });
        }
    }
}

/// The values of a picklist field (empty when the object lacks it).
fn picklist_values<'d>(def: &'d crate::schema::ObjectDef, field: &str) -> Vec<&'d str> {
    def.field(field)
        .map(|(_, f)| f.picklist.iter().map(|p| p.value.as_str()).collect())
        .unwrap_or_default()
}
