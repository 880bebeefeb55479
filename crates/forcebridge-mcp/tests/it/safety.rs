//! Read-only mode, allow and deny lists, the API budget and the audit log.

use serde_json::json;

use crate::harness::Mcp;
use forcebridge_mcp::Policy;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_hides_write_tools_and_refuses_them() {
    let mut mcp = Mcp::start(50, |c| c.read_only = true).await;
    let names = mcp.tool_names().await;
    assert_eq!(
        names,
        [
            "query",
            "get_record",
            "describe_object",
            "search",
            "list_objects",
            "get_account_info",
            "list_contacts"
        ]
    );
    let before = mcp.org.control().record_counts();
    let text = mcp
        .tool_error(
            "create_record",
            json!({"object": "Account", "fields": {"Name": "X"}}),
        )
        .await;
    assert!(text.contains("this server is read-only"), "{text}");
    let id = mcp.ids("Account", 1).await.remove(0);
    let text = mcp
        .tool_error("delete_record", json!({"object": "Account", "id": id}))
        .await;
    assert!(text.contains("read-only"), "{text}");
    assert_eq!(before, mcp.org.control().record_counts());
    let entries = mcp.audit.entries();
    assert!(
        entries
            .iter()
            .any(|e| e["tool"] == "create_record" && e["outcome"] == "refused")
    );
}

fn policy() -> Policy {
    Policy::open()
        .allow_object("Account")
        .unwrap()
        .allow_object("Contact")
        .unwrap()
        .deny_field("Contact.Email")
        .unwrap()
        .deny_field("*.AnnualRevenue")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_and_deny_lists_hold_for_direct_reads_and_queries() {
    let mut mcp = Mcp::start(200, |c| c.policy = policy()).await;
    // Direct reads.
    let text = mcp
        .tool_error("describe_object", json!({"object": "Opportunity"}))
        .await;
    assert!(text.contains("not allowed"), "{text}");
    let describe = mcp
        .ok("describe_object", json!({"object": "Contact"}))
        .await;
    assert!(
        !describe["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "Email")
    );
    let id = mcp.ids("Contact", 1).await.remove(0);
    let record = mcp
        .ok("get_record", json!({"object": "Contact", "id": id}))
        .await;
    assert!(record["record"].get("Email").is_none() && record["record"].get("LastName").is_some());
    let text = mcp
        .tool_error(
            "get_record",
            json!({"object": "Contact", "id": id, "fields": ["Email"]}),
        )
        .await;
    assert!(text.contains("Contact.Email is not allowed"), "{text}");
    let objects = mcp.ok("list_objects", json!({})).await;
    let names: Vec<&str> = objects["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Account", "Contact"]);

    // Queries: wherever a field or object is read.
    let refused = [
        "SELECT Id FROM Opportunity",
        "SELECT Id, Email FROM Contact",
        "SELECT Id FROM Contact WHERE Email = 'a@b.c'",
        "SELECT Id FROM Contact ORDER BY Email",
        "SELECT Id, Account.AnnualRevenue FROM Contact",
        "SELECT Id, (SELECT Id FROM Opportunities) FROM Account",
        "SELECT Id, (SELECT Email FROM Contacts) FROM Account",
        "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Opportunity)",
        "SELECT FIELDS(ALL) FROM Contact LIMIT 10",
        "SELECT c.Email FROM Contact c",
    ];
    for soql in refused {
        let text = mcp.tool_error("query", json!({"soql": soql})).await;
        assert!(
            text.contains("not allowed") || text.contains("FIELDS"),
            "{soql}: {text}"
        );
    }
    let fine = mcp
        .ok("query", json!({"soql": "SELECT Id, Name, (SELECT Id, LastName FROM Contacts) FROM Account LIMIT 3"}))
        .await;
    assert_eq!(fine["rows"].as_array().unwrap().len(), 3);
    let entries = mcp.audit.entries();
    assert!(entries.iter().filter(|e| e["outcome"] == "refused").count() >= refused.len());
    // Writes follow the lists too.
    let text = mcp
        .tool_error(
            "create_record",
            json!({"object": "Contact", "fields": {"LastName": "X", "Email": "x@y.z"}}),
        )
        .await;
    assert!(text.contains("Contact.Email is not allowed"), "{text}");
    // SOSL names its objects and fields.
    let text = mcp
        .tool_error(
            "search",
            json!({"sosl": "FIND {a} RETURNING Contact(Id, Email)"}),
        )
        .await;
    assert!(text.contains("not allowed"), "{text}");
    let text = mcp.tool_error("search", json!({"sosl": "FIND {a}"})).await;
    assert!(text.contains("RETURNING"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_api_budget_is_a_clear_tool_error() {
    let mut mcp = Mcp::start(50, |c| c.limits.api_calls = Some(3)).await;
    let mut refused = None;
    for _ in 0..6 {
        let result = mcp
            .call("query", json!({"soql": "SELECT Id FROM Account LIMIT 1"}))
            .await;
        if result["isError"] == true {
            refused = Some(result["content"][0]["text"].as_str().unwrap().to_string());
            break;
        }
    }
    let text = refused.expect("the budget ran out");
    assert!(text.contains("API budget spent"), "{text}");
    assert!(text.contains("of the 3 Salesforce API calls"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_records_every_call_without_values_unless_asked() {
    let mut mcp = Mcp::start(50, |_| {}).await;
    let created = mcp
        .ok(
            "create_record",
            json!({"object": "Account", "fields": {"Name": "Audited Inc"}}),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let entries = mcp.audit.entries();
    let entry = entries
        .iter()
        .find(|e| e["tool"] == "create_record")
        .unwrap();
    assert_eq!(entry["object"], "Account");
    assert_eq!(entry["record_ids"], json!([id]));
    assert_eq!(entry["outcome"], "ok");
    assert!(entry["api_calls"].as_u64().unwrap() >= 1);
    assert!(entry["time"].as_str().unwrap().ends_with('Z'));
    assert!(entry.get("values").is_none());
    let text = serde_json::to_string(&entries).unwrap();
    assert!(!text.contains("Audited Inc"), "no field values by default");
    assert!(!text.to_lowercase().contains("token"), "no secrets");
}
