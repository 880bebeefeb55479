//! The standard objects every org has, with the fields, picklists, relationships and key
//! prefixes of a real org (a representative subset of each object's fields, not all of them).

use super::{FieldBuilder as F, ObjectBuilder, ObjectDef};

#[cfg(test)]
/// The standard objects plus `custom` objects (from the org's schema file).
pub(crate) fn schema(custom: Vec<ObjectDef>) -> Result<super::Schema, super::SchemaError> {
    let mut objects = standard_objects();
    objects.extend(custom);
    super::Schema::new(objects)
}

/// Industries used by Account and Lead.
const INDUSTRIES: &[&str] = &[
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Other",
];

const LEAD_SOURCES: &[&str] = &[
    "Web",
    "Phone Inquiry",
    "Partner Referral",
    "Purchased List",
    "Other",
];

const RATINGS: &[&str] = &["Hot", "Warm", "Cold"];

/// Opportunity stages, in sales-process order.
pub(crate) const STAGES: &[&str] = &[
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
];

/// The standard objects, built, in the order the schema lists them.
pub(crate) fn standard_objects() -> Vec<ObjectDef> {
    vec![
        user(),
        account(),
        contact(),
        lead(),
        campaign(),
        opportunity(),
        product2(),
        pricebook2(),
        pricebook_entry(),
        opportunity_line_item(),
        case(),
        task(),
        event(),
        campaign_member(),
        organization(),
    ]
}

/// The Salesforce edition names `OrganizationType` takes.
const EDITIONS: &[&str] = &[
    "Team Edition",
    "Professional Edition",
    "Enterprise Edition",
    "Developer Edition",
    "Personal Edition",
    "Unlimited Edition",
    "Contact Manager Edition",
    "Base Edition",
];

/// The org itself: one record (the org id, `00D...`), made from the configuration at every
/// start and never written to a data directory. Salesforce supports only describe, query and
/// retrieve on it, so it can be neither created, updated nor deleted through the API. (Unlike
/// Salesforce's, this one has `IsDeleted`: every object here has the audit and deletion
/// columns.)
fn organization() -> ObjectDef {
    ObjectBuilder::new("Organization", "Organization", "Organizations", "00D")
        .not_stored()
        .flags(|f| {
            f.createable = false;
            f.updateable = false;
            f.deletable = false;
            f.undeletable = false;
            f.searchable = false;
            f.replicateable = false;
            f.triggerable = false;
            f.feed_enabled = false;
            f.layoutable = false;
        })
        .field(
            F::string("Name", "Name", 80)
                .required()
                .name_field()
                .read_only(),
        )
        .field(F::string("Division", "Division", 80).read_only())
        .address("", "")
        .field(F::phone("Phone", "Phone").read_only())
        .field(F::phone("Fax", "Fax").read_only())
        .field(F::string("PrimaryContact", "Primary Contact", 80).read_only())
        .field(
            F::picklist(
                "DefaultLocaleSidKey",
                "Locale",
                &["en_US", "en_GB", "fr_FR", "de_DE", "ja_JP"],
            )
            .required()
            .read_only(),
        )
        .field(
            F::picklist(
                "TimeZoneSidKey",
                "Time Zone",
                &[
                    "America/Los_Angeles",
                    "America/New_York",
                    "Europe/London",
                    "Europe/Paris",
                    "Asia/Tokyo",
                    "GMT",
                ],
            )
            .required()
            .read_only(),
        )
        .field(
            F::picklist(
                "LanguageLocaleKey",
                "Language",
                &["en_US", "fr", "de", "ja"],
            )
            .required()
            .read_only(),
        )
        .field(F::boolean("ReceivesInfoEmails", "Info Emails", true).read_only())
        .field(F::boolean("ReceivesAdminInfoEmails", "Info Emails Admin", true).read_only())
        .field(F::int("FiscalYearStartMonth", "Fiscal Year Starts In", 2).read_only())
        .field(
            F::boolean(
                "UsesStartDateAsFiscalYearName",
                "Fiscal Year Name by Start",
                false,
            )
            .read_only(),
        )
        .field(F::picklist("OrganizationType", "Edition", EDITIONS).read_only())
        .field(F::string("InstanceName", "Instance Name", 5).read_only())
        .field(F::boolean("IsSandbox", "Is Sandbox", false).read_only())
        .field(F::string("NamespacePrefix", "Namespace Prefix", 15).read_only())
        .field(F::datetime("TrialExpirationDate", "Trial Expiration Date").read_only())
        .field(F::boolean("IsReadOnly", "Is Read Only", false).read_only())
        .field(F::string("SignupCountryIsoCode", "Signup Country", 2).read_only())
        .build()
}

fn user() -> ObjectDef {
    ObjectBuilder::new("User", "User", "Users", "005")
        .flags(|f| {
            f.deletable = false;
            f.undeletable = false;
        })
        .field(
            F::string("Username", "Username", 80)
                .required()
                .unique()
                .case_sensitive(),
        )
        .person_name()
        .field(F::string("CompanyName", "Company Name", 80))
        .field(F::string("Division", "Division", 80))
        .field(F::string("Department", "Department", 80))
        .field(F::string("Title", "Title", 80))
        .address("", "")
        .field(F::email("Email", "Email").required())
        .field(F::phone("Phone", "Phone"))
        .field(F::phone("MobilePhone", "Mobile"))
        .field(F::string("Alias", "Alias", 8).required())
        .field(F::string("CommunityNickname", "Nickname", 40).required())
        .field(F::boolean("IsActive", "Active", true))
        .field(
            F::picklist(
                "TimeZoneSidKey",
                "Time Zone",
                &[
                    "America/Los_Angeles",
                    "America/New_York",
                    "Europe/London",
                    "Europe/Paris",
                    "Asia/Tokyo",
                    "GMT",
                ],
            )
            .required()
            .default_text("America/Los_Angeles"),
        )
        .field(
            F::picklist(
                "LocaleSidKey",
                "Locale",
                &["en_US", "en_GB", "fr_FR", "de_DE", "ja_JP"],
            )
            .required()
            .default_text("en_US"),
        )
        .field(
            F::picklist(
                "EmailEncodingKey",
                "Email Encoding",
                &["UTF-8", "ISO-8859-1"],
            )
            .required()
            .default_text("UTF-8"),
        )
        .field(
            F::picklist(
                "LanguageLocaleKey",
                "Language",
                &["en_US", "fr", "de", "ja"],
            )
            .required()
            .default_text("en_US"),
        )
        .field(
            F::picklist(
                "UserType",
                "User Type",
                &["Standard", "PowerPartner", "CsnOnly", "Guest"],
            )
            .read_only()
            .default_text("Standard"),
        )
        .field(F::reference(
            "ManagerId",
            "Manager ID",
            &["User"],
            "Manager",
            None,
        ))
        .field(F::datetime("LastLoginDate", "Last Login").read_only())
        .build()
}

fn account() -> ObjectDef {
    ObjectBuilder::new("Account", "Account", "Accounts", "001")
        .owned()
        .flags(|f| f.mergeable = true)
        .field(
            F::string("Name", "Account Name", 255)
                .required()
                .name_field(),
        )
        .field(F::picklist(
            "Type",
            "Account Type",
            &[
                "Prospect",
                "Customer - Direct",
                "Customer - Channel",
                "Channel Partner / Reseller",
                "Installation Partner",
                "Technology Partner",
                "Other",
            ],
        ))
        .field(F::reference(
            "ParentId",
            "Parent Account ID",
            &["Account"],
            "Parent",
            Some("ChildAccounts"),
        ))
        .address("Billing", "Billing")
        .address("Shipping", "Shipping")
        .field(F::phone("Phone", "Account Phone"))
        .field(F::phone("Fax", "Account Fax"))
        .field(F::string("AccountNumber", "Account Number", 40))
        .field(F::url("Website", "Website"))
        .field(F::string("Sic", "SIC Code", 20))
        .field(F::picklist("Industry", "Industry", INDUSTRIES))
        .field(F::currency("AnnualRevenue", "Annual Revenue", 18, 0))
        .field(F::int("NumberOfEmployees", "Employees", 8))
        .field(F::picklist(
            "Ownership",
            "Ownership",
            &["Public", "Private", "Subsidiary", "Other"],
        ))
        .field(F::string("TickerSymbol", "Ticker Symbol", 20))
        .field(F::textarea("Description", "Account Description", 32000))
        .field(F::picklist("Rating", "Account Rating", RATINGS))
        .field(F::string("Site", "Account Site", 80))
        .field(F::picklist("AccountSource", "Account Source", LEAD_SOURCES))
        .field(F::date("LastActivityDate", "Last Activity").read_only())
        .build()
}

fn contact() -> ObjectDef {
    ObjectBuilder::new("Contact", "Contact", "Contacts", "003")
        .owned()
        .flags(|f| f.mergeable = true)
        .field(F::reference(
            "AccountId",
            "Account ID",
            &["Account"],
            "Account",
            Some("Contacts"),
        ))
        .person_name()
        .address("Other", "Other")
        .address("Mailing", "Mailing")
        .field(F::phone("Phone", "Business Phone"))
        .field(F::phone("Fax", "Business Fax"))
        .field(F::phone("MobilePhone", "Mobile Phone"))
        .field(F::phone("HomePhone", "Home Phone"))
        .field(F::phone("OtherPhone", "Other Phone"))
        .field(F::phone("AssistantPhone", "Asst. Phone"))
        .field(F::reference(
            "ReportsToId",
            "Reports To ID",
            &["Contact"],
            "ReportsTo",
            None,
        ))
        .field(F::email("Email", "Email"))
        .field(F::string("Title", "Title", 128))
        .field(F::string("Department", "Department", 80))
        .field(F::string("AssistantName", "Assistant's Name", 40))
        .field(F::picklist("LeadSource", "Lead Source", LEAD_SOURCES))
        .field(F::date("Birthdate", "Birthdate"))
        .field(F::textarea("Description", "Contact Description", 32000))
        .field(F::boolean("HasOptedOutOfEmail", "Email Opt Out", false))
        .field(F::boolean("DoNotCall", "Do Not Call", false))
        .field(F::date("LastActivityDate", "Last Activity").read_only())
        .build()
}

fn lead() -> ObjectDef {
    ObjectBuilder::new("Lead", "Lead", "Leads", "00Q")
        .owned()
        .flags(|f| f.mergeable = true)
        .person_name()
        .field(F::string("Title", "Title", 128))
        .field(F::string("Company", "Company", 255).required())
        .address("", "")
        .field(F::phone("Phone", "Phone"))
        .field(F::phone("MobilePhone", "Mobile Phone"))
        .field(F::email("Email", "Email"))
        .field(F::url("Website", "Website"))
        .field(F::textarea("Description", "Description", 32000))
        .field(F::picklist("LeadSource", "Lead Source", LEAD_SOURCES))
        .field(
            F::picklist(
                "Status",
                "Status",
                &[
                    "Open - Not Contacted",
                    "Working - Contacted",
                    "Closed - Converted",
                    "Closed - Not Converted",
                ],
            )
            .required()
            .default_text("Open - Not Contacted"),
        )
        .field(F::picklist("Industry", "Industry", INDUSTRIES))
        .field(F::picklist("Rating", "Rating", RATINGS))
        .field(F::currency("AnnualRevenue", "Annual Revenue", 18, 0))
        .field(F::int("NumberOfEmployees", "Employees", 8))
        .field(F::boolean("HasOptedOutOfEmail", "Email Opt Out", false))
        .field(F::boolean("IsConverted", "Converted", false).read_only())
        .field(F::date("ConvertedDate", "Converted Date").read_only())
        .field(
            F::reference(
                "ConvertedAccountId",
                "Converted Account ID",
                &["Account"],
                "ConvertedAccount",
                None,
            )
            .read_only(),
        )
        .field(
            F::reference(
                "ConvertedContactId",
                "Converted Contact ID",
                &["Contact"],
                "ConvertedContact",
                None,
            )
            .read_only(),
        )
        .field(
            F::reference(
                "ConvertedOpportunityId",
                "Converted Opportunity ID",
                &["Opportunity"],
                "ConvertedOpportunity",
                None,
            )
            .read_only(),
        )
        .field(F::boolean("IsUnreadByOwner", "Unread By Owner", false))
        .build()
}

fn campaign() -> ObjectDef {
    ObjectBuilder::new("Campaign", "Campaign", "Campaigns", "701")
        .owned()
        .field(F::string("Name", "Name", 80).required().name_field())
        .field(F::reference(
            "ParentId",
            "Parent Campaign ID",
            &["Campaign"],
            "Parent",
            Some("ChildCampaigns"),
        ))
        .field(F::picklist(
            "Type",
            "Type",
            &[
                "Conference",
                "Webinar",
                "Trade Show",
                "Public Relations",
                "Partners",
                "Referral Program",
                "Advertisement",
                "Banner Ads",
                "Direct Mail",
                "Email",
                "Telemarketing",
                "Other",
            ],
        ))
        .field(F::picklist(
            "Status",
            "Status",
            &["Planned", "In Progress", "Completed", "Aborted"],
        ))
        .field(F::date("StartDate", "Start Date"))
        .field(F::date("EndDate", "End Date"))
        .field(F::currency(
            "ExpectedRevenue",
            "Expected Revenue in Campaign",
            18,
            0,
        ))
        .field(F::currency(
            "BudgetedCost",
            "Budgeted Cost in Campaign",
            18,
            0,
        ))
        .field(F::currency("ActualCost", "Actual Cost in Campaign", 18, 0))
        .field(F::percent(
            "ExpectedResponse",
            "Expected Response (%)",
            10,
            2,
        ))
        .field(F::double("NumberSent", "Num Sent in Campaign", 18, 0))
        .field(F::boolean("IsActive", "Active", false))
        .field(F::textarea("Description", "Description", 32000))
        .field(F::int("NumberOfLeads", "Leads in Campaign", 9).read_only())
        .field(F::int("NumberOfContacts", "Contacts in Campaign", 9).read_only())
        .field(F::int("NumberOfOpportunities", "Opportunities in Campaign", 9).read_only())
        .build()
}

fn opportunity() -> ObjectDef {
    ObjectBuilder::new("Opportunity", "Opportunity", "Opportunities", "006")
        .owned()
        .field(F::reference(
            "AccountId",
            "Account ID",
            &["Account"],
            "Account",
            Some("Opportunities"),
        ))
        .field(F::string("Name", "Name", 120).required().name_field())
        .field(F::textarea("Description", "Description", 32000))
        .field(
            F::picklist("StageName", "Stage", STAGES)
                .required()
                .restricted(),
        )
        .field(F::currency("Amount", "Amount", 18, 2))
        .field(F::percent("Probability", "Probability (%)", 3, 0))
        .field(F::currency("ExpectedRevenue", "Expected Amount", 18, 2).calculated())
        .field(F::double("TotalOpportunityQuantity", "Quantity", 18, 2))
        .field(F::date("CloseDate", "Close Date").required())
        .field(F::picklist(
            "Type",
            "Opportunity Type",
            &[
                "Existing Customer - Upgrade",
                "Existing Customer - Replacement",
                "Existing Customer - Downgrade",
                "New Customer",
            ],
        ))
        .field(F::string("NextStep", "Next Step", 255))
        .field(F::picklist("LeadSource", "Lead Source", LEAD_SOURCES))
        .field(F::boolean("IsClosed", "Closed", false).read_only())
        .field(F::boolean("IsWon", "Won", false).read_only())
        .field(F::picklist(
            "ForecastCategoryName",
            "Forecast Category",
            &["Omitted", "Pipeline", "Best Case", "Commit", "Closed"],
        ))
        .field(F::reference(
            "CampaignId",
            "Campaign ID",
            &["Campaign"],
            "Campaign",
            Some("Opportunities"),
        ))
        .field(F::boolean("HasOpportunityLineItem", "Has Line Item", false).read_only())
        .field(F::reference(
            "Pricebook2Id",
            "Price Book ID",
            &["Pricebook2"],
            "Pricebook2",
            Some("Opportunities"),
        ))
        .field(F::date("LastActivityDate", "Last Activity").read_only())
        .field(F::int("FiscalQuarter", "Fiscal Quarter", 1).read_only())
        .field(F::int("FiscalYear", "Fiscal Year", 4).read_only())
        .build()
}

fn product2() -> ObjectDef {
    ObjectBuilder::new("Product2", "Product", "Products", "01t")
        .field(
            F::string("Name", "Product Name", 255)
                .required()
                .name_field(),
        )
        .field(F::string("ProductCode", "Product Code", 255))
        .field(F::textarea("Description", "Product Description", 4000))
        .field(F::boolean("IsActive", "Active", false))
        .field(F::picklist(
            "Family",
            "Product Family",
            &["Hardware", "Software", "Services", "None"],
        ))
        .field(F::string(
            "QuantityUnitOfMeasure",
            "Quantity Unit Of Measure",
            255,
        ))
        .field(F::string("StockKeepingUnit", "Product SKU", 180))
        .field(F::string("ExternalId", "External ID", 255).external_id())
        .build()
}

fn pricebook2() -> ObjectDef {
    ObjectBuilder::new("Pricebook2", "Price Book", "Price Books", "01s")
        .field(
            F::string("Name", "Price Book Name", 255)
                .required()
                .name_field(),
        )
        .field(F::boolean("IsActive", "Active", false))
        .field(F::boolean("IsStandard", "Is Standard Price Book", false).read_only())
        .field(F::textarea("Description", "Description", 255))
        .build()
}

fn pricebook_entry() -> ObjectDef {
    ObjectBuilder::new(
        "PricebookEntry",
        "Price Book Entry",
        "Price Book Entries",
        "01u",
    )
    .flags(|f| f.undeletable = false)
    .field(
        F::string("Name", "Product Name", 255)
            .read_only()
            .name_field(),
    )
    .field(
        F::reference(
            "Pricebook2Id",
            "Price Book ID",
            &["Pricebook2"],
            "Pricebook2",
            Some("PricebookEntries"),
        )
        .required()
        .create_only(),
    )
    .field(
        F::reference(
            "Product2Id",
            "Product ID",
            &["Product2"],
            "Product2",
            Some("PricebookEntries"),
        )
        .required()
        .create_only(),
    )
    .field(F::currency("UnitPrice", "List Price", 18, 2).required())
    .field(F::boolean("IsActive", "Active", false))
    .field(F::boolean("UseStandardPrice", "Use Standard Price", false))
    .field(F::string("ProductCode", "Product Code", 255).read_only())
    .build()
}

fn opportunity_line_item() -> ObjectDef {
    ObjectBuilder::new(
        "OpportunityLineItem",
        "Opportunity Product",
        "Opportunity Product",
        "00k",
    )
    .flags(|f| {
        f.undeletable = false;
        f.searchable = false;
    })
    .field(
        F::reference(
            "OpportunityId",
            "Opportunity ID",
            &["Opportunity"],
            "Opportunity",
            Some("OpportunityLineItems"),
        )
        .required()
        .create_only()
        .cascade_delete(),
    )
    .field(
        F::string("Name", "Opportunity Product Name", 376)
            .read_only()
            .name_field(),
    )
    .field(
        F::reference(
            "PricebookEntryId",
            "Price Book Entry ID",
            &["PricebookEntry"],
            "PricebookEntry",
            Some("OpportunityLineItems"),
        )
        .create_only(),
    )
    .field(
        F::reference(
            "Product2Id",
            "Product ID",
            &["Product2"],
            "Product2",
            Some("OpportunityLineItems"),
        )
        .create_only(),
    )
    .field(F::string("ProductCode", "Product Code", 255).read_only())
    .field(F::double("Quantity", "Quantity", 12, 2).required())
    .field(F::currency("UnitPrice", "Sales Price", 18, 2))
    .field(F::currency("TotalPrice", "Total Price", 18, 2))
    .field(F::currency("ListPrice", "List Price", 18, 2).read_only())
    .field(F::percent("Discount", "Discount", 5, 2))
    .field(F::date("ServiceDate", "Date"))
    .field(F::string("Description", "Line Description", 255))
    .build()
}

fn case() -> ObjectDef {
    ObjectBuilder::new("Case", "Case", "Cases", "500")
        .owned()
        .field(
            F::string("CaseNumber", "Case Number", 30)
                .auto_number()
                .name_field(),
        )
        .field(F::reference(
            "ContactId",
            "Contact ID",
            &["Contact"],
            "Contact",
            Some("Cases"),
        ))
        .field(F::reference(
            "AccountId",
            "Account ID",
            &["Account"],
            "Account",
            Some("Cases"),
        ))
        .field(F::reference(
            "ParentId",
            "Parent Case ID",
            &["Case"],
            "Parent",
            Some("Cases"),
        ))
        .field(F::string("SuppliedName", "Web Name", 80))
        .field(F::email("SuppliedEmail", "Web Email"))
        .field(F::phone("SuppliedPhone", "Web Phone"))
        .field(F::string("SuppliedCompany", "Web Company", 80))
        .field(F::picklist(
            "Type",
            "Case Type",
            &[
                "Mechanical",
                "Electrical",
                "Electronic",
                "Structural",
                "Other",
            ],
        ))
        .field(
            F::picklist(
                "Status",
                "Status",
                &["New", "Working", "Escalated", "Closed"],
            )
            .required()
            .default_text("New"),
        )
        .field(F::picklist(
            "Reason",
            "Case Reason",
            &[
                "Installation",
                "Equipment Complexity",
                "Performance",
                "Breakdown",
                "Equipment Design",
                "Feedback",
                "Other",
            ],
        ))
        .field(F::picklist(
            "Origin",
            "Case Origin",
            &["Phone", "Email", "Web"],
        ))
        .field(F::string("Subject", "Subject", 255))
        .field(
            F::picklist("Priority", "Priority", &["High", "Medium", "Low"]).default_text("Medium"),
        )
        .field(F::textarea("Description", "Description", 32000))
        .field(F::boolean("IsClosed", "Closed", false).read_only())
        .field(F::datetime("ClosedDate", "Closed Date").read_only())
        .field(F::boolean("IsEscalated", "Escalated", false))
        .build()
}

/// Objects a task or event can be about (`WhatId`).
const WHAT_TARGETS: &[&str] = &["Account", "Opportunity", "Case", "Campaign"];
/// People a task or event can be with (`WhoId`).
const WHO_TARGETS: &[&str] = &["Contact", "Lead"];

fn task() -> ObjectDef {
    ObjectBuilder::new("Task", "Task", "Tasks", "00T")
        .owned()
        .field(F::reference(
            "WhoId",
            "Name ID",
            WHO_TARGETS,
            "Who",
            Some("Tasks"),
        ))
        .field(F::reference(
            "WhatId",
            "Related To ID",
            WHAT_TARGETS,
            "What",
            Some("Tasks"),
        ))
        .field(
            F::picklist(
                "Subject",
                "Subject",
                &["Call", "Send Letter", "Send Quote", "Other"],
            )
            .field_type(super::FieldType::Combobox)
            .name_field(),
        )
        .field(F::date("ActivityDate", "Due Date Only"))
        .field(
            F::picklist(
                "Status",
                "Status",
                &[
                    "Not Started",
                    "In Progress",
                    "Completed",
                    "Waiting on someone else",
                    "Deferred",
                ],
            )
            .required()
            .default_text("Not Started"),
        )
        .field(
            F::picklist("Priority", "Priority", &["High", "Normal", "Low"])
                .required()
                .default_text("Normal"),
        )
        .field(F::boolean("IsHighPriority", "High Priority", false).read_only())
        .field(F::textarea("Description", "Description", 32000))
        .field(F::picklist(
            "Type",
            "Type",
            &["Call", "Email", "Meeting", "Other"],
        ))
        .field(F::boolean("IsClosed", "Closed", false).read_only())
        .field(F::int("CallDurationInSeconds", "Call Duration", 8))
        .field(
            F::picklist(
                "TaskSubtype",
                "Task Subtype",
                &["Task", "Email", "ListEmail", "Cadence", "Call"],
            )
            .create_only(),
        )
        .build()
}

fn event() -> ObjectDef {
    ObjectBuilder::new("Event", "Event", "Events", "00U")
        .owned()
        .field(F::reference(
            "WhoId",
            "Name ID",
            WHO_TARGETS,
            "Who",
            Some("Events"),
        ))
        .field(F::reference(
            "WhatId",
            "Related To ID",
            WHAT_TARGETS,
            "What",
            Some("Events"),
        ))
        .field(
            F::picklist(
                "Subject",
                "Subject",
                &["Call", "Email", "Meeting", "Send Letter/Quote", "Other"],
            )
            .field_type(super::FieldType::Combobox)
            .name_field(),
        )
        .field(F::string("Location", "Location", 255))
        .field(F::boolean("IsAllDayEvent", "All-Day Event", false))
        .field(F::datetime("ActivityDateTime", "Due Date Time"))
        .field(F::date("ActivityDate", "Due Date Only"))
        .field(F::int("DurationInMinutes", "Duration", 8))
        .field(F::datetime("StartDateTime", "Start Date Time"))
        .field(F::datetime("EndDateTime", "End Date Time"))
        .field(F::textarea("Description", "Description", 32000))
        .field(F::picklist(
            "Type",
            "Type",
            &["Call", "Email", "Meeting", "Other"],
        ))
        .field(
            F::picklist("ShowAs", "Show Time As", &["Busy", "OutOfOffice", "Free"])
                .default_text("Busy"),
        )
        .build()
}

fn campaign_member() -> ObjectDef {
    ObjectBuilder::new(
        "CampaignMember",
        "Campaign Member",
        "Campaign Members",
        "00v",
    )
    .flags(|f| {
        f.undeletable = false;
        f.hard_deletes = true;
    })
    .field(
        F::reference(
            "CampaignId",
            "Campaign ID",
            &["Campaign"],
            "Campaign",
            Some("CampaignMembers"),
        )
        .required()
        .create_only(),
    )
    .field(
        F::reference(
            "LeadId",
            "Lead ID",
            &["Lead"],
            "Lead",
            Some("CampaignMembers"),
        )
        .create_only(),
    )
    .field(
        F::reference(
            "ContactId",
            "Contact ID",
            &["Contact"],
            "Contact",
            Some("CampaignMembers"),
        )
        .create_only(),
    )
    .field(
        F::picklist(
            "Status",
            "Status",
            &["Planned", "Sent", "Received", "Responded"],
        )
        .default_text("Sent"),
    )
    .field(F::boolean("HasResponded", "Responded", false).read_only())
    .field(F::date("FirstRespondedDate", "First Responded Date").read_only())
    .build()
}
