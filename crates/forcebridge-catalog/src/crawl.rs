//! Which objects and relationships a diagram shows: the whole catalog, or a crawl outward
//! from one object to a depth, so a diagram of a large org stays readable.
//!
//! Diagrams leave out the owner and audit lookups (`OwnerId`, `CreatedById`,
//! `LastModifiedById`) that tie nearly every object to `User`; the JSON, Markdown and tables
//! keep them.

use std::collections::{BTreeSet, HashMap, VecDeque};

use crate::error::{Error, Result};
use crate::model::{Catalog, Object, Relationship};

/// What part of a catalog a diagram shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Crawl {
    from: Option<(String, usize)>,
}

impl Crawl {
    /// Every object of the catalog.
    pub fn whole() -> Crawl {
        Crawl::default()
    }

    /// `object` and the objects up to `depth` relationships away from it, in either
    /// direction (parents and children).
    pub fn from(object: impl Into<String>, depth: usize) -> Crawl {
        Crawl {
            from: Some((object.into(), depth)),
        }
    }
}

/// The objects and edges a diagram draws.
#[derive(Debug)]
pub(crate) struct Graph<'c> {
    /// Sorted by name.
    pub(crate) objects: Vec<&'c Object>,
    /// Sorted; both ends among `objects`.
    pub(crate) edges: Vec<Relationship>,
}

pub(crate) fn graph<'c>(catalog: &'c Catalog, crawl: &Crawl) -> Result<Graph<'c>> {
    let edges: Vec<Relationship> = catalog
        .relationships()
        .into_iter()
        .filter(|r| !r.is_system() && catalog.object(&r.parent).is_some())
        .collect();
    let chosen: BTreeSet<String> = match &crawl.from {
        None => catalog.objects.iter().map(|o| o.name.clone()).collect(),
        Some((start, depth)) => {
            let Some(start) = catalog.object(start) else {
                return Err(Error::invalid(format!(
                    "--from {start}: no object of that name in the catalog"
                )));
            };
            let mut neighbours: HashMap<&str, Vec<&str>> = HashMap::new();
            for edge in &edges {
                neighbours
                    .entry(&edge.child)
                    .or_default()
                    .push(&edge.parent);
                neighbours
                    .entry(&edge.parent)
                    .or_default()
                    .push(&edge.child);
            }
            let mut seen = BTreeSet::from([start.name.as_str()]);
            let mut queue = VecDeque::from([(start.name.as_str(), 0)]);
            while let Some((name, distance)) = queue.pop_front() {
                if distance == *depth {
                    continue;
                }
                for next in neighbours.get(name).into_iter().flatten() {
                    if seen.insert(next) {
                        queue.push_back((next, distance + 1));
                    }
                }
            }
            seen.into_iter().map(str::to_string).collect()
        }
    };
    let objects = catalog
        .objects
        .iter()
        .filter(|o| chosen.contains(o.name.as_str()))
        .collect();
    let edges = edges
        .into_iter()
        .filter(|e| chosen.contains(e.child.as_str()) && chosen.contains(e.parent.as_str()))
        .map(|mut e| {
            // Names as the catalog spells them, so edges meet their boxes.
            if let Some(parent) = catalog.object(&e.parent) {
                e.parent = parent.name.clone();
            }
            e
        })
        .collect();
    Ok(Graph { objects, edges })
}
