//! The write tools: validation against describe, preview then confirm, bulk operations.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Mcp, client_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_are_checked_against_describe_before_sending() {
    let mut mcp = Mcp::start(50, |_| {}).await;
    let sent_before = mcp.audit.entries().len();
    let text = mcp
        .tool_error(
            "create_record",
            json!({"object": "Opportunity", "fields": {"Nme": "x", "StageName": "Dreaming", "IsClosed": true, "Amount": "lots"}}),
        )
        .await;
    for expected in [
        "unknown field Nme on Opportunity",
        "\"Dreaming\" is not a value of Opportunity.StageName",
        "Opportunity.IsClosed cannot be set on create",
        "Opportunity.Amount expects",
        "missing required field Opportunity.Name",
        "missing required field Opportunity.CloseDate",
    ] {
        assert!(text.contains(expected), "{expected:?} in {text}");
    }
    assert!(text.contains("was not sent"), "{text}");
    let entries = mcp.audit.entries();
    assert_eq!(entries.len(), sent_before + 1);
    assert_eq!(
        entries.last().unwrap()["api_calls"].as_u64().unwrap(),
        1,
        "only the describe"
    );

    let lead = mcp
        .ok("create_lead", json!({"lastName": "Lovelace", "company": "Analytical Engines", "email": "ada@example.com"}))
        .await;
    assert_eq!(lead["status"], "created");
    let id = lead["id"].as_str().unwrap();
    let read = mcp
        .ok(
            "get_record",
            json!({"object": "Lead", "id": id, "fields": ["LastName", "Company"]}),
        )
        .await;
    assert_eq!(read["record"]["Company"], "Analytical Engines");
    let text = mcp
        .tool_error(
            "create_lead",
            json!({"lastName": "X", "company": "Y", "status": "Sleeping"}),
        )
        .await;
    assert!(text.contains("is not a value of Lead.Status"), "{text}");
    // The generic tool leaves an unrestricted picklist to the org.
    let lead = mcp
        .ok("create_record", json!({"object": "Lead", "fields": {"LastName": "X", "Company": "Y", "Status": "Sleeping"}}))
        .await;
    assert_eq!(lead["status"], "created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_is_previewed_then_confirmed_once() {
    let mut mcp = Mcp::start(100, |_| {}).await;
    let id = mcp.ids("Account", 1).await.remove(0);
    let before = mcp
        .ok(
            "get_record",
            json!({"object": "Account", "id": id, "fields": ["Name", "Phone"]}),
        )
        .await;
    let args = json!({"object": "Account", "id": id, "fields": {"Phone": "+1 555 0100"}});
    let preview = mcp.ok("update_record", args.clone()).await;
    assert_eq!(preview["status"], "preview");
    assert_eq!(preview["changes"][0]["field"], "Phone");
    assert_eq!(preview["changes"][0]["old"], before["record"]["Phone"]);
    assert_eq!(preview["changes"][0]["new"], "+1 555 0100");
    let handle = preview["confirm"].as_str().unwrap().to_string();
    // Nothing changed yet.
    let still = mcp
        .ok(
            "get_record",
            json!({"object": "Account", "id": id, "fields": ["Phone"]}),
        )
        .await;
    assert_eq!(still["record"]["Phone"], before["record"]["Phone"]);
    // The handle is bound to this change: another change is refused (and uses it up).
    let mut other = args.clone();
    other["fields"]["Phone"] = json!("+1 555 9999");
    other["confirm"] = json!(handle);
    let text = mcp.tool_error("update_record", other).await;
    assert!(text.contains("different change"), "{text}");
    let mut confirmed = args.clone();
    confirmed["confirm"] = json!(handle);
    let text = mcp.tool_error("update_record", confirmed.clone()).await;
    assert!(text.contains("unknown confirm handle"), "{text}");
    // A fresh preview, confirmed once.
    let preview = mcp.ok("update_record", args.clone()).await;
    confirmed["confirm"] = preview["confirm"].clone();
    let done = mcp.ok("update_record", confirmed.clone()).await;
    assert_eq!(done["status"], "updated");
    let after = mcp
        .ok(
            "get_record",
            json!({"object": "Account", "id": id, "fields": ["Phone"]}),
        )
        .await;
    assert_eq!(after["record"]["Phone"], "+1 555 0100");
    // Reused: refused.
    let text = mcp.tool_error("update_record", confirmed).await;
    assert!(text.contains("unknown confirm handle"), "{text}");
    let outcomes: Vec<Value> = mcp
        .audit
        .entries()
        .into_iter()
        .filter(|e| e["tool"] == "update_record")
        .map(|e| e["outcome"].clone())
        .collect();
    assert_eq!(
        outcomes,
        [
            "preview",
            "tool_error",
            "tool_error",
            "preview",
            "ok",
            "tool_error"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_confirm_handle_is_refused() {
    let mut mcp = Mcp::start(50, |c| c.confirm_ttl = Duration::from_millis(300)).await;
    let id = mcp.ids("Account", 1).await.remove(0);
    let preview = mcp
        .ok("delete_record", json!({"object": "Account", "id": id}))
        .await;
    assert_eq!(preview["status"], "preview");
    assert_eq!(preview["record"]["Id"], id);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let text = mcp
        .tool_error(
            "delete_record",
            json!({"object": "Account", "id": id, "confirm": preview["confirm"]}),
        )
        .await;
    assert!(text.contains("expired"), "{text}");
    let still = mcp
        .ok(
            "get_record",
            json!({"object": "Account", "id": id, "fields": ["Name"]}),
        )
        .await;
    assert_eq!(still["record"]["Id"], id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_and_update_opportunity_with_the_stage_checked() {
    let mut mcp = Mcp::start(200, |_| {}).await;
    let id = mcp.ids("Opportunity", 1).await.remove(0);
    let text = mcp
        .tool_error(
            "update_opportunity",
            json!({"id": id, "stage": "Victory Lap"}),
        )
        .await;
    assert!(
        text.contains("\"Victory Lap\" is not a value of Opportunity.StageName"),
        "{text}"
    );
    assert!(
        text.contains("Closed Won"),
        "the allowed stages are listed: {text}"
    );
    let args = json!({"id": id, "stage": "Closed Won", "amount": 12345.0});
    let preview = mcp.ok("update_opportunity", args.clone()).await;
    assert_eq!(preview["changes"].as_array().unwrap().len(), 2);
    let mut confirmed = args;
    confirmed["confirm"] = preview["confirm"].clone();
    mcp.ok("update_opportunity", confirmed).await;
    let read = mcp
        .ok(
            "get_record",
            json!({"object": "Opportunity", "id": id, "fields": ["StageName", "Amount"]}),
        )
        .await;
    assert_eq!(read["record"]["StageName"], "Closed Won");

    let lead = mcp
        .ok(
            "create_record",
            json!({"object": "Lead", "fields": {"LastName": "Gone", "Company": "Soon"}}),
        )
        .await;
    let lead_id = lead["id"].as_str().unwrap();
    let preview = mcp
        .ok("delete_record", json!({"object": "Lead", "id": lead_id}))
        .await;
    mcp.ok(
        "delete_record",
        json!({"object": "Lead", "id": lead_id, "confirm": preview["confirm"]}),
    )
    .await;
    let text = mcp
        .tool_error("get_record", json!({"object": "Lead", "id": lead_id}))
        .await;
    assert!(text.contains("no Lead with id"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_operations_through_collections_give_a_result_per_record() {
    let mut mcp = Mcp::start(50, |_| {}).await;
    let records: Vec<Value> = (0..450)
        .map(|i| json!({"LastName": format!("Bulk {i}"), "Company": "Bulkco"}))
        .collect();
    let mut args = json!({"object": "Lead", "operation": "create", "records": records});
    let preview = mcp.ok("bulk_operations", args.clone()).await;
    assert_eq!(preview["status"], "preview");
    assert_eq!(preview["via"], "collections");
    assert_eq!(preview["records"], 450);
    args["confirm"] = preview["confirm"].clone();
    let done = mcp
        .call_with_meta(
            "bulk_operations",
            args,
            Some(json!({"progressToken": "p1"})),
        )
        .await;
    let done = &done["structuredContent"];
    assert_eq!(done["succeeded"], 450, "{done}");
    assert_eq!(done["failed"], 0);
    let progress: Vec<f64> = mcp
        .notifications
        .iter()
        .filter(|n| n["method"] == "notifications/progress" && n["params"]["progressToken"] == "p1")
        .map(|n| n["params"]["progress"].as_f64().unwrap())
        .collect();
    assert_eq!(progress, [0.0, 200.0, 400.0, 450.0]);
    // Invalid records are reported by index, and nothing is sent.
    let text = mcp
        .tool_error(
            "bulk_operations",
            json!({"object": "Lead", "operation": "update", "records": [{"LastName": "No id"}, {"Id": "00Q000000000000AAA", "Bogus__c": 1}]}),
        )
        .await;
    assert!(
        text.contains("records[0]: an update needs the record's Id"),
        "{text}"
    );
    assert!(
        text.contains("records[1]: unknown field Bogus__c"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_10000_record_bulk_update_reports_progress() {
    let mut mcp = Mcp::start(0, |_| {}).await;
    mcp.org.control().insert_plain_accounts(10_000);
    let mut ids = Vec::new();
    let mut page = mcp
        .ok(
            "query",
            json!({"soql": "SELECT Id FROM Account", "maxRows": 200}),
        )
        .await;
    loop {
        ids.extend(
            page["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["Id"].as_str().unwrap().to_string()),
        );
        let Some(cursor) = page["nextCursor"].as_str().map(str::to_string) else {
            break;
        };
        page = mcp
            .ok("query", json!({"cursor": cursor, "maxRows": 200}))
            .await;
    }
    assert_eq!(ids.len(), 10_000);
    let records: Vec<Value> = ids
        .iter()
        .map(|id| json!({"Id": id, "Rating": "Hot"}))
        .collect();
    let mut args = json!({"object": "Account", "operation": "update", "records": records});
    let preview = mcp.ok("bulk_operations", args.clone()).await;
    assert_eq!(preview["via"], "bulk");
    assert_eq!(preview["sample"].as_array().unwrap().len(), 3);
    assert!(
        preview["sample"][0]["Rating"].get("old").is_some(),
        "{}",
        preview["sample"]
    );
    args["confirm"] = preview["confirm"].clone();
    let done = mcp
        .call_with_meta("bulk_operations", args, Some(json!({"progressToken": 7})))
        .await;
    let done = &done["structuredContent"];
    assert_eq!(done["succeeded"], 10_000, "{done}");
    assert!(!done["jobs"].as_array().unwrap().is_empty());
    assert!(
        done["omittedResults"].as_u64().unwrap() > 0,
        "results are cut to the byte cap"
    );
    let progress: Vec<f64> = mcp
        .notifications
        .iter()
        .filter(|n| n["method"] == "notifications/progress" && n["params"]["progressToken"] == 7)
        .map(|n| n["params"]["progress"].as_f64().unwrap())
        .collect();
    assert!(progress.len() >= 2, "{progress:?}");
    assert!(progress.windows(2).all(|w| w[0] < w[1]), "{progress:?}");
    assert_eq!(*progress.last().unwrap(), 10_000.0);
    let hot = mcp
        .ok(
            "query",
            json!({"soql": "SELECT COUNT() FROM Account WHERE Rating = 'Hot'"}),
        )
        .await;
    assert_eq!(hot["totalSize"], 10_000);
}

/// The Phone of an account, read through the server.
async fn phone(mcp: &mut Mcp, id: &str) -> Value {
    let read = mcp
        .ok(
            "get_record",
            json!({"object": "Account", "id": id, "fields": ["Phone"]}),
        )
        .await;
    read["record"]["Phone"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_2026_07_28_the_user_approves_through_input_required() {
    let mut mcp = Mcp::start_2026(50, json!({"elicitation": {"form": {}}}), |_| {}).await;
    let id = mcp.ids("Account", 1).await.remove(0);
    let before = phone(&mut mcp, &id).await;
    let args = json!({"object": "Account", "id": id, "fields": {"Phone": "+1 555 0142"}});

    // The call asks the user instead of answering; nothing is changed yet.
    let asked = mcp.call("update_record", args.clone()).await;
    assert_eq!(asked["resultType"], "input_required", "{asked}");
    let ask = &asked["inputRequests"]["approve_change"];
    assert_eq!(ask["method"], "elicitation/create", "{asked}");
    assert_eq!(ask["params"]["mode"], "form", "{asked}");
    let message = ask["params"]["message"].as_str().unwrap();
    assert!(message.contains("+1 555 0142"), "{message}");
    assert!(
        message.contains(before.as_str().unwrap()),
        "the old value is shown: {message}"
    );
    let state = asked["requestState"].as_str().unwrap().to_string();
    assert!(
        !state.contains("fbc_"),
        "the handle is not readable in the state: {state}"
    );
    assert_eq!(phone(&mut mcp, &id).await, before);

    // The state is bound to exactly these arguments: other ones are refused.
    let mut other = args.clone();
    other["fields"]["Phone"] = json!("+1 555 0666");
    let approve = json!({"approve_change": {"action": "accept", "content": {"approve": true}}});
    let mut retry = json!({"name": "update_record", "arguments": other, "requestState": state, "inputResponses": approve});
    let refused = mcp.request("tools/call", retry.clone()).await;
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    // So is a state that was tampered with.
    retry["arguments"] = args.clone();
    retry["requestState"] = json!(format!("{}x", &state[..state.len() - 1]));
    let refused = mcp.request("tools/call", retry.clone()).await;
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    assert_eq!(phone(&mut mcp, &id).await, before);

    // The user's yes makes the change, once.
    retry["requestState"] = json!(state);
    let done = mcp.request("tools/call", retry.clone()).await;
    assert_eq!(
        done["result"]["structuredContent"]["status"], "updated",
        "{done}"
    );
    assert_eq!(phone(&mut mcp, &id).await, "+1 555 0142");
    let again = mcp.request("tools/call", retry).await;
    assert_eq!(
        again["result"]["isError"], true,
        "a state is used once: {again}"
    );

    // A no changes nothing, and spends the handle.
    let args = json!({"object": "Account", "id": id, "fields": {"Phone": "+1 555 0199"}});
    let asked = mcp.call("update_record", args.clone()).await;
    let state = asked["requestState"].clone();
    let no = json!({"approve_change": {"action": "decline"}});
    let declined = mcp
        .request("tools/call", json!({"name": "update_record", "arguments": args, "requestState": state, "inputResponses": no}))
        .await;
    let text = declined["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("declined"), "{declined}");
    let late = mcp
        .request("tools/call", json!({"name": "update_record", "arguments": args, "requestState": state, "inputResponses": approve}))
        .await;
    assert_eq!(late["result"]["isError"], true, "{late}");
    assert_eq!(phone(&mut mcp, &id).await, "+1 555 0142");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_2026_07_28_without_elicitation_the_confirm_handle_is_the_way() {
    let mut mcp = Mcp::start_2026(50, json!({}), |_| {}).await;
    let id = mcp.ids("Account", 1).await.remove(0);
    let args = json!({"object": "Account", "id": id, "fields": {"Phone": "+1 555 0143"}});
    let preview = mcp.ok("update_record", args.clone()).await;
    assert_eq!(preview["status"], "preview", "{preview}");
    let mut confirmed = args;
    confirmed["confirm"] = preview["confirm"].clone();
    let done = mcp.ok("update_record", confirmed).await;
    assert_eq!(done["status"], "updated");
    assert_eq!(phone(&mut mcp, &id).await, "+1 555 0143");
}

/// The states of the org's ingest jobs.
async fn job_states(client: &forcebridge_client::Client) -> Vec<String> {
    use futures_util::TryStreamExt;
    let jobs: Vec<_> = client
        .bulk()
        .ingest_jobs()
        .stream()
        .try_collect()
        .await
        .unwrap();
    jobs.into_iter().map(|j| j.info.state).collect()
}

/// Starts a confirmed bulk update of 40 accounts through Bulk API 2.0 with the org slowed
/// down, and returns once its job exists on the org (still uploading), with the request id.
async fn start_slow_bulk_update(mcp: &mut Mcp, meta: Value) -> (u64, Value) {
    let ids = mcp.ids("Account", 40).await;
    assert_eq!(ids.len(), 40);
    let records: Vec<Value> = ids
        .iter()
        .map(|id| json!({"Id": id, "Rating": "Cold"}))
        .collect();
    let mut args = json!({"object": "Account", "operation": "update", "records": records});
    let preview = mcp.ok("bulk_operations", args.clone()).await;
    assert_eq!(preview["via"], "bulk", "{preview}");
    args["confirm"] = preview["confirm"].clone();
    mcp.org.set_faults(forcebridge_emulator::FaultConfig {
        latency: Duration::from_millis(400),
        scope: forcebridge_emulator::FaultScope::Path("/jobs/ingest".into()),
        ..forcebridge_emulator::FaultConfig::none()
    });
    let id = mcp
        .start_request(
            "tools/call",
            json!({"name": "bulk_operations", "arguments": args, "_meta": meta}),
        )
        .await;
    let client = client_of(&mcp.org);
    for _ in 0..100 {
        if !job_states(&client).await.is_empty() {
            return (id, args);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no Bulk API 2.0 job was opened");
}

/// Waits until the org's one ingest job is aborted, and checks that no record was changed.
async fn assert_job_aborted(mcp: &mut Mcp) {
    let client = client_of(&mcp.org);
    let mut states = Vec::new();
    for _ in 0..100 {
        states = job_states(&client).await;
        if states.iter().all(|s| s == "Aborted") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(states, ["Aborted"]);
    mcp.org
        .set_faults(forcebridge_emulator::FaultConfig::none());
    let cold = mcp
        .ok(
            "query",
            json!({"soql": "SELECT COUNT() FROM Account WHERE Rating = 'Cold'"}),
        )
        .await;
    assert_eq!(
        cold["totalSize"], 0,
        "no row of the aborted job was processed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_bulk_operation_aborts_its_job_on_the_org() {
    let mut mcp = Mcp::start(0, |c| c.limits.bulk_threshold = 10).await;
    mcp.org.control().insert_plain_accounts(40);
    let (id, _) = start_slow_bulk_update(&mut mcp, json!({"progressToken": 3})).await;
    mcp.send(
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": id, "reason": "the user changed their mind"}}),
    )
    .await;
    assert_job_aborted(&mut mcp).await;
    // The cancelled call has its audit line.
    let entries = mcp.audit.entries();
    let line = entries
        .iter()
        .find(|e| e["tool"] == "bulk_operations" && e["outcome"] == "cancelled")
        .unwrap_or_else(|| panic!("no audit line for the cancelled call: {entries:?}"));
    assert_eq!(line["object"], "Account", "{line}");
}

const TASKS: &str = "io.modelcontextprotocol/tasks";

/// Polls `tasks/get` until the task leaves `working`; returns its last state.
async fn settled_task(mcp: &mut Mcp, task_id: &str) -> Value {
    for _ in 0..200 {
        let got = mcp.request("tasks/get", json!({"taskId": task_id})).await;
        let task = got["result"].clone();
        assert!(task.is_object(), "{got}");
        if task["status"] != "working" {
            return task;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("task {task_id} is still working");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_tasks_extension_a_confirmed_bulk_operation_runs_as_a_task() {
    let caps = json!({"extensions": {TASKS: {}}});
    let mut mcp = Mcp::start_2026(0, caps, |c| c.limits.bulk_threshold = 10).await;
    mcp.org.control().insert_plain_accounts(25);
    let ids = mcp.ids("Account", 25).await;
    let records: Vec<Value> = ids
        .iter()
        .map(|id| json!({"Id": id, "Rating": "Warm"}))
        .collect();
    let mut args = json!({"object": "Account", "operation": "update", "records": records});
    // The preview answers at once, as without tasks.
    let preview = mcp.ok("bulk_operations", args.clone()).await;
    assert_eq!(preview["status"], "preview");
    args["confirm"] = preview["confirm"].clone();
    let created = mcp.call("bulk_operations", args).await;
    assert_eq!(created["resultType"], "task", "{created}");
    let task_id = created["taskId"].as_str().unwrap().to_string();
    let task = settled_task(&mut mcp, &task_id).await;
    assert_eq!(task["status"], "completed", "{task}");
    let done = &task["result"]["structuredContent"];
    assert_eq!(done["via"], "bulk", "{task}");
    assert_eq!(done["succeeded"], 25, "{task}");
    let warm = mcp
        .ok(
            "query",
            json!({"soql": "SELECT COUNT() FROM Account WHERE Rating = 'Warm'"}),
        )
        .await;
    assert_eq!(warm["totalSize"], 25);
    // An unknown task is a protocol error.
    let unknown = mcp.request("tasks/get", json!({"taskId": "nope"})).await;
    assert!(unknown.get("error").is_some(), "{unknown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_bulk_task_aborts_its_job_on_the_org() {
    let caps = json!({"extensions": {TASKS: {}}});
    let mut mcp = Mcp::start_2026(0, caps, |c| c.limits.bulk_threshold = 10).await;
    mcp.org.control().insert_plain_accounts(40);
    let (id, _) = start_slow_bulk_update(&mut mcp, json!({})).await;
    // The call answered at once with its task; reading the next answer moves it (unread so
    // far) into `notifications`.
    let unknown = mcp.request("tasks/get", json!({"taskId": "none"})).await;
    assert!(unknown.get("error").is_some());
    let answer = mcp
        .notifications
        .iter()
        .find(|m| m["id"] == json!(id))
        .cloned()
        .expect("the call answered with its task");
    let task_id = answer["result"]["taskId"].as_str().unwrap().to_string();
    let cancelled = mcp
        .request("tasks/cancel", json!({"taskId": task_id}))
        .await;
    assert!(cancelled.get("error").is_none(), "{cancelled}");
    let task = settled_task(&mut mcp, &task_id).await;
    assert_eq!(task["status"], "cancelled", "{task}");
    assert_job_aborted(&mut mcp).await;
}
