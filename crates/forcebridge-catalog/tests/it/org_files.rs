//! Org files generated for the tests and the benchmark: many custom objects that reference
//! each other and the standard objects the way a real org's do.

/// An org file with `n` custom objects `Obj001__c` ... in chains of five: the first of each
/// chain looks up Account, each next one is a master-detail child of the one before, every
/// third one also looks up Contact, and every seventh one looks up itself. Each has a
/// picklist, a currency, a date and a text field.
pub(crate) fn many_objects(n: usize) -> String {
    let mut out = String::new();
    for i in 1..=n {
        let name = format!("Obj{i:03}__c");
        out.push_str(&format!(
            "[[objects]]\nname = \"{name}\"\nlabel = \"Object {i}\"\nplural_label = \"Objects {i}\"\nfields = [\n"
        ));
        if (i - 1) % 5 == 0 {
            out.push_str(&format!(
                "  {{ name = \"Account__c\", type = \"reference\", reference_to = \"Account\", relationship_name = \"Account__r\", child_relationship_name = \"Obj{i:03}s__r\" }},\n"
            ));
        } else {
            let parent = format!("Obj{:03}__c", i - 1);
            out.push_str(&format!(
                "  {{ name = \"Parent__c\", type = \"reference\", reference_to = \"{parent}\", relationship_name = \"Parent__r\", child_relationship_name = \"Children{i:03}__r\", cascade_delete = true, required = true }},\n"
            ));
        }
        if i % 3 == 0 {
            out.push_str(&format!(
                "  {{ name = \"Contact__c\", type = \"reference\", reference_to = \"Contact\", relationship_name = \"Contact__r\", child_relationship_name = \"Obj{i:03}s__r\" }},\n"
            ));
        }
        if i % 7 == 0 {
            out.push_str(&format!(
                "  {{ name = \"Previous__c\", type = \"reference\", reference_to = \"{name}\", relationship_name = \"Previous__r\", child_relationship_name = \"Next{i:03}__r\" }},\n"
            ));
        }
        out.push_str(
            "  { name = \"Status__c\", type = \"picklist\", values = [\"New\", \"Open\", \"Closed\"] },\n  { name = \"Amount__c\", type = \"currency\", precision = 18, scale = 2 },\n  { name = \"Due__c\", type = \"date\" },\n  { name = \"Note__c\", type = \"string\", length = 120 },\n]\n\n",
        );
    }
    out
}
