//! The outputs a person or a program reads: Markdown and Mermaid (snapshots), the JSON document
//! (valid against its schema, and read back whole), and the SVG picture (well-formed XML that
//! names every object and relationship it draws).

use forcebridge_catalog::{Catalog, Crawl, ErrorKind, SCHEMA_V1, Selection};
use quick_xml::events::Event;

use crate::org_files::many_objects;
use crate::support::TestOrg;

#[tokio::test]
async fn the_markdown_data_dictionary_of_a_small_org() {
    let org = TestOrg::small().await;
    let mut catalog = org.small_catalog().await;
    // Account's standard fields would drown the custom ones in the snapshot.
    catalog.objects.retain(|o| o.custom);
    insta::assert_snapshot!(catalog.to_markdown());
}

#[tokio::test]
async fn the_mermaid_diagram_of_a_small_org_and_of_a_crawl() {
    let org = TestOrg::small().await;
    let catalog = org.small_catalog().await;
    insta::assert_snapshot!(
        "mermaid_whole",
        catalog.to_mermaid(&Crawl::whole()).unwrap()
    );
    let everything = org.extract(&Selection::all()).await.catalog;
    insta::assert_snapshot!(
        "mermaid_from_task_item_depth_2",
        everything
            .to_mermaid(&Crawl::from("Task_Item__c", 2))
            .unwrap()
    );
    let error = everything
        .to_mermaid(&Crawl::from("Nope__c", 1))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        error.to_string(),
        "--from Nope__c: no object of that name in the catalog"
    );
}

#[tokio::test]
async fn the_json_document_validates_against_its_schema_and_reads_back_whole() {
    let org = TestOrg::small().await;
    let extract = org.extract(&Selection::all()).await;
    let schema: serde_json::Value = serde_json::from_str(SCHEMA_V1).unwrap();
    jsonschema::meta::validate(&schema).expect("the schema is a valid draft 2020-12 schema");
    let validator = jsonschema::validator_for(&schema).unwrap();

    for text in [
        extract.catalog.to_json(Some(&extract.report)),
        extract.catalog.to_json(None),
    ] {
        let document: serde_json::Value = serde_json::from_str(&text).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&document)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
        assert_eq!(Catalog::from_json(&text).unwrap(), extract.catalog);
    }
    let document: serde_json::Value =
        serde_json::from_str(&extract.catalog.to_json(Some(&extract.report))).unwrap();
    assert_eq!(document["extraction"]["apiCalls"], extract.report.api_calls);
    assert_eq!(
        document["relationships"].as_array().unwrap().len(),
        extract.catalog.relationships().len()
    );

    // The schema rejects what the document never holds.
    let mut broken = document.clone();
    broken["objects"][0]["fields"][0]["type"] = serde_json::json!(3);
    assert!(!validator.is_valid(&broken));

    let future = extract
        .catalog
        .to_json(None)
        .replacen("\"version\": 1", "\"version\": 2", 1);
    let error = Catalog::from_json(&future).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Document);
    assert_eq!(
        error.to_string(),
        "catalog document version 2 is not supported (this forcebridge reads version 1)"
    );
    assert_eq!(
        Catalog::from_json("[]").unwrap_err().kind(),
        ErrorKind::Document
    );
}

/// Every element's text and every attribute value of an SVG, after checking it is
/// well-formed XML.
fn svg_texts(svg: &str) -> (Vec<String>, Vec<String>) {
    let mut reader = quick_xml::Reader::from_str(svg);
    let (mut texts, mut attributes) = (Vec::new(), Vec::new());
    let mut open: Vec<String> = Vec::new();
    let attribute_values = |e: &quick_xml::events::BytesStart<'_>, out: &mut Vec<String>| {
        for a in e.attributes() {
            out.push(unescape(&a.unwrap().value));
        }
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                attribute_values(&e, &mut attributes);
                open.push(String::new());
            }
            Event::Empty(e) => attribute_values(&e, &mut attributes),
            Event::End(_) => {
                let text = open.pop().expect("an end tag closes an open element");
                if !text.is_empty() {
                    texts.push(text);
                }
            }
            Event::Text(t) => {
                if let Some(current) = open.last_mut() {
                    current.push_str(&t[..]);
                }
            }
            Event::GeneralRef(r) => {
                if let Some(current) = open.last_mut() {
                    current.push_str(&unescape(&format!("&{};", &r[..])));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(open.is_empty(), "every element is closed");
    (texts, attributes)
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn the_svg_is_well_formed_and_names_every_object_and_relationship_at_60_objects() {
    let org = TestOrg::from_org_file(&many_objects(50), 0).await;
    let catalog = org.extract(&Selection::all()).await.catalog;
    let svg = catalog.to_svg(&Crawl::whole()).unwrap();
    let (texts, attributes) = svg_texts(&svg);
    assert!(catalog.objects.len() >= 60, "{}", catalog.objects.len());
    for object in &catalog.objects {
        assert!(
            texts.iter().any(|t| t == &object.name),
            "no box for {}",
            object.name
        );
    }
    let drawn: Vec<_> = catalog
        .relationships()
        .into_iter()
        .filter(|r| !r.is_system() && catalog.object(&r.parent).is_some())
        .collect();
    assert!(drawn.len() > 60, "{}", drawn.len());
    for r in &drawn {
        let name = format!("{}.{} → {}", r.child, r.field, r.parent);
        assert!(attributes.contains(&name), "no edge {name}");
        assert!(texts.contains(&r.field), "no label {}", r.field);
    }
    // Readable: boxes do not overlap.
    let boxes = rects(&svg);
    for (i, a) in boxes.iter().enumerate() {
        for b in &boxes[i + 1..] {
            let overlap = a.0 < b.0 + b.2 && b.0 < a.0 + a.2 && a.1 < b.1 + b.3 && b.1 < a.1 + a.3;
            assert!(!overlap, "boxes overlap: {a:?} {b:?}");
        }
    }
}

/// The x, y, width and height of every object box.
fn rects(svg: &str) -> Vec<(f64, f64, f64, f64)> {
    svg.lines()
        .filter(|l| l.contains("class=\"object "))
        .map(|l| {
            let number = |name: &str| -> f64 {
                let start = l.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
                l[start..].split('"').next().unwrap().parse().unwrap()
            };
            (number("x"), number("y"), number("width"), number("height"))
        })
        .collect()
}
