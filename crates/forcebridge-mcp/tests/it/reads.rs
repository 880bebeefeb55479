//! The read tools, caps and cursors.

use serde_json::{Value, json};

use crate::harness::Mcp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_are_listed_with_schemas_and_honest_annotations() {
    let mut mcp = Mcp::start(100, |_| {}).await;
    let response = mcp.request("tools/list", json!({})).await;
    let tools = response["result"]["tools"].as_array().unwrap();
    let summary: Vec<Value> = tools
        .iter()
        .map(|t| {
            let a = &t["annotations"];
            json!([
                t["name"],
                a["readOnlyHint"],
                a["destructiveHint"],
                a["idempotentHint"],
                a["openWorldHint"]
            ])
        })
        .collect();
    insta::assert_json_snapshot!(summary);
    for tool in tools {
        assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
        assert_eq!(tool["outputSchema"]["type"], "object", "{tool}");
        assert!(tool["title"].is_string() && tool["description"].is_string());
    }
    assert_eq!(response["result"]["cacheScope"], "private");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_returns_rows_with_a_cursor_until_the_end() {
    let mut mcp = Mcp::start(300, |_| {}).await;
    let first = mcp
        .ok(
            "query",
            json!({"soql": "SELECT Id, Name, Account.Name FROM Contact ORDER BY Id", "maxRows": 7}),
        )
        .await;
    let total = first["totalSize"].as_u64().unwrap();
    assert!(total > 14, "{first}");
    assert_eq!(first["rows"].as_array().unwrap().len(), 7);
    assert_eq!(first["limitedBy"], "rows");
    assert!(first["rows"][0].get("attributes").is_none());
    assert!(first["rows"][0]["Account"].get("attributes").is_none());
    let mut seen = 7;
    let mut cursor = first["nextCursor"].as_str().unwrap().to_string();
    let mut ids = std::collections::HashSet::new();
    loop {
        let page = mcp
            .ok("query", json!({"cursor": cursor, "maxRows": 200}))
            .await;
        for row in page["rows"].as_array().unwrap() {
            assert!(ids.insert(row["Id"].as_str().unwrap().to_string()));
        }
        seen += page["rows"].as_array().unwrap().len() as u64;
        assert_eq!(
            page["rowsBefore"].as_u64().unwrap() + page["rows"].as_array().unwrap().len() as u64,
            seen
        );
        match page["nextCursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    assert_eq!(seen, total);
    // A cursor is used once.
    let text = mcp.tool_error("query", json!({"cursor": cursor})).await;
    assert!(text.contains("unknown cursor"), "{text}");
    // The text copy is there for clients that read no structured content.
    let result = mcp
        .call("query", json!({"soql": "SELECT Id FROM Account LIMIT 2"}))
        .await;
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(text.starts_with("Rows 1-2 of 2 from Account."), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2000_row_query_answers_within_its_byte_cap() {
    let mut mcp = Mcp::start(0, |c| {
        c.limits.max_bytes = 32 * 1024;
        c.limits.max_rows = 5000;
    })
    .await;
    mcp.org.control().insert_plain_accounts(2000);
    let soql = "SELECT Id, Name, Industry, BillingCity, Phone, Website, AnnualRevenue FROM Account";
    let page = mcp
        .ok("query", json!({"soql": soql, "maxRows": 2000}))
        .await;
    assert_eq!(page["totalSize"], 2000);
    assert_eq!(page["limitedBy"], "bytes");
    assert!(
        mcp.last_response_bytes <= 32 * 1024,
        "{} bytes",
        mcp.last_response_bytes
    );
    let n = page["rows"].as_array().unwrap().len();
    assert!(n > 50 && n < 2000, "{n} rows");
    // Following the cursor reads every row, each answer within the cap.
    let mut seen = n;
    let mut cursor = page["nextCursor"].as_str().map(str::to_string);
    while let Some(c) = cursor {
        let page = mcp.ok("query", json!({"cursor": c, "maxRows": 2000})).await;
        assert!(mcp.last_response_bytes <= 32 * 1024);
        seen += page["rows"].as_array().unwrap().len();
        cursor = page["nextCursor"].as_str().map(str::to_string);
    }
    assert_eq!(seen, 2000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_soql_is_a_tool_error_with_a_code_frame_and_nothing_is_sent() {
    let mut mcp = Mcp::start(50, |_| {}).await;
    let before = mcp.org.control().record_counts();
    let text = mcp
        .tool_error("query", json!({"soql": "SELECT Id, FROM Account WHERE"}))
        .await;
    assert!(text.contains("not valid SOQL"), "{text}");
    assert!(text.contains('^'), "a code frame: {text}");
    assert_eq!(before, mcp.org.control().record_counts());
    let entries = mcp.audit.entries();
    let last = entries.last().unwrap();
    assert_eq!(last["tool"], "query");
    assert_eq!(last["outcome"], "tool_error");
    assert_eq!(last["api_calls"], 0);
    // Arguments that do not fit the schema are tool errors too.
    let text = mcp
        .tool_error("query", json!({"sql": "SELECT Id FROM Account"}))
        .await;
    assert!(text.contains("invalid arguments"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_describe_list_and_search() {
    let mut mcp = Mcp::start(200, |_| {}).await;
    let id = mcp.ids("Account", 1).await.remove(0);
    let record = mcp
        .ok("get_record", json!({"object": "Account", "id": id}))
        .await;
    assert_eq!(record["record"]["Id"], id);
    assert!(record["record"]["Name"].is_string());
    let some = mcp
        .ok(
            "get_record",
            json!({"object": "account", "id": id, "fields": ["name", "Industry"]}),
        )
        .await;
    let mut keys: Vec<&String> = some["record"].as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["Id", "Industry", "Name"]);
    let text = mcp
        .tool_error(
            "get_record",
            json!({"object": "Account", "id": id, "fields": ["Nmae"]}),
        )
        .await;
    assert!(text.contains("unknown field Nmae on Account"), "{text}");
    let text = mcp
        .tool_error(
            "get_record",
            json!({"object": "Account", "id": "001' OR Name != '"}),
        )
        .await;
    assert!(text.contains("is not a record id"), "{text}");

    let describe = mcp
        .ok("describe_object", json!({"object": "Opportunity"}))
        .await;
    let stage = describe["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "StageName")
        .unwrap();
    assert!(stage["picklist"].as_array().unwrap().len() > 3, "{stage}");
    assert_eq!(stage["required"], true);
    let account = describe["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "AccountId")
        .unwrap();
    assert_eq!(account["relationship"], "Account");
    assert_eq!(account["type"], "reference(Account)");
    let text = mcp
        .tool_error("describe_object", json!({"object": "Nope__c"}))
        .await;
    assert!(text.contains("unknown object Nope__c"), "{text}");

    let objects = mcp.ok("list_objects", json!({"filter": "opp"})).await;
    let names: Vec<&str> = objects["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Opportunity"), "{names:?}");

    let name = record["record"]["Name"]
        .as_str()
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    let hits = mcp
        .ok(
            "search",
            json!({"text": name, "objects": [{"object": "Account", "fields": ["Name"]}]}),
        )
        .await;
    assert!(hits["total"].as_u64().unwrap() >= 1, "{hits}");
    assert_eq!(hits["rows"][0]["type"], "Account");
    let hits = mcp
        .ok(
            "search",
            json!({"sosl": format!("FIND {{{name}}} IN NAME FIELDS RETURNING Account(Id, Name)")}),
        )
        .await;
    assert!(hits["total"].as_u64().unwrap() >= 1, "{hits}");
    let text = mcp
        .tool_error("search", json!({"sosl": "FIND {x RETURNING"}))
        .await;
    assert!(text.contains("not valid SOSL"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_info_and_contacts_by_account_name_and_email() {
    let mut mcp = Mcp::start(400, |_| {}).await;
    let rows = mcp
        .ok("query", json!({"soql": "SELECT AccountId, Account.Name, Email FROM Contact WHERE AccountId != null AND Email != null LIMIT 1"}))
        .await;
    let account_id = rows["rows"][0]["AccountId"].as_str().unwrap().to_string();
    let account_name = rows["rows"][0]["Account"]["Name"]
        .as_str()
        .unwrap()
        .to_string();
    let email = rows["rows"][0]["Email"].as_str().unwrap().to_string();

    let info = mcp
        .ok("get_account_info", json!({"accountId": account_id}))
        .await;
    assert_eq!(info["account"]["Id"], account_id);
    assert!(info["contacts"]["total"].as_u64().unwrap() >= 1, "{info}");
    for section in ["contacts", "openOpportunities", "recentCases"] {
        assert!(info[section]["records"].is_array(), "{section}: {info}");
        assert!(info[section]["records"].as_array().unwrap().len() <= 10);
    }
    let by_name = mcp
        .call("get_account_info", json!({"name": account_name}))
        .await;
    if by_name["isError"] != true {
        assert_eq!(by_name["structuredContent"]["account"]["Id"], account_id);
    } else {
        let text = by_name["content"][0]["text"].as_str().unwrap();
        assert!(text.contains("accounts have that name"), "{text}");
    }

    let contacts = mcp
        .ok(
            "list_contacts",
            json!({"accountId": account_id, "pageSize": 1}),
        )
        .await;
    assert_eq!(contacts["rows"].as_array().unwrap().len(), 1);
    assert_eq!(contacts["rows"][0]["AccountId"], account_id);
    if contacts["totalSize"].as_u64().unwrap() > 1 {
        let cursor = contacts["nextCursor"].as_str().unwrap();
        let next = mcp.ok("list_contacts", json!({"cursor": cursor})).await;
        assert_eq!(next["rowsBefore"], 1);
        // A list_contacts cursor is not a query cursor.
    }
    let by_email = mcp.ok("list_contacts", json!({"email": email})).await;
    assert!(
        by_email["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["Email"] == email.as_str())
    );
    // Quotes in a filter stay a value: the builder escapes them.
    let odd = mcp
        .ok("list_contacts", json!({"name": "x' OR Name != '"}))
        .await;
    assert_eq!(odd["totalSize"], 0);
}

/// The keys of a JSON object, in the order they were sent.
fn keys(row: &Value) -> Vec<&str> {
    row.as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_rows_keep_the_select_lists_order() {
    let mut mcp = Mcp::start(100, |_| {}).await;
    let result = mcp
        .call(
            "query",
            json!({"soql": "SELECT Name, Id, Account.Name, Email FROM Contact WHERE AccountId != null ORDER BY Id LIMIT 3"}),
        )
        .await;
    let rows = result["structuredContent"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{result}");
    for row in rows {
        assert_eq!(keys(row), ["Name", "Id", "Account", "Email"], "{row}");
    }
    // The text copy keeps the order too: each row's fields appear in SELECT order.
    let text = result["content"][0]["text"].as_str().unwrap();
    let copy: Value = serde_json::from_str(text.split_once('\n').unwrap().1).unwrap();
    assert_eq!(keys(&copy["rows"][0]), ["Name", "Id", "Account", "Email"]);
    let (name, id) = (text.find("\"Name\"").unwrap(), text.find("\"Id\"").unwrap());
    assert!(name < id, "{text}");

    let result = mcp
        .ok(
            "query",
            json!({"soql": "SELECT Industry, Id, Name FROM Account ORDER BY Name LIMIT 2"}),
        )
        .await;
    assert_eq!(keys(&result["rows"][0]), ["Industry", "Id", "Name"]);

    // Child records keep their subquery's order; names match whatever case was typed.
    let result = mcp
        .ok(
            "query",
            json!({"soql": "SELECT name, (SELECT LastName, Id FROM Contacts ORDER BY Id LIMIT 2), id FROM Account WHERE Id IN (SELECT AccountId FROM Contact) LIMIT 2"}),
        )
        .await;
    let row = &result["rows"][0];
    assert_eq!(keys(row), ["Name", "Contacts", "Id"], "{row}");
    assert_eq!(
        keys(&row["Contacts"]["records"][0]),
        ["LastName", "Id"],
        "{row}"
    );
}
