//! `forcebridge catalog`: extract the org's metadata with the catalog crate and write it in the
//! form asked for (object list, JSON, Markdown, Mermaid, SVG, catalog tables, or a diff).
//!
//! The command only chooses, prints and writes; extraction, rendering and the tables live in
//! `forcebridge-catalog`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use forcebridge_catalog::{Catalog, Crawl, Extract, Selection};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{CatalogArgs, GlobalArgs};
use crate::commands::data::count;
use crate::org::Org;
use crate::output::{self, Exit, Outcome, usage};

pub(crate) async fn run(global: &GlobalArgs, args: CatalogArgs) -> anyhow::Result<Outcome> {
    // Everything the user gave is checked before the org is opened.
    let selection = selection(&args)?;
    let crawl = match &args.from {
        Some(object) => Crawl::from(object.clone(), args.depth.unwrap_or(1)),
        None => Crawl::whole(),
    };
    if args.from.is_some() && !(args.mermaid || args.svg.is_some()) {
        return Err(usage(
            "--from and --depth shape a diagram: use them with --mermaid or --svg",
        ));
    }
    let target = args.to.as_deref().map(Target::parse).transpose()?;
    let old = args
        .diff
        .as_deref()
        .map(|path| read_catalog(path, "--diff"))
        .transpose()?;
    let cached = match &args.cache {
        Some(path) if path.exists() => match read_catalog(path, "--cache") {
            Ok(catalog) => Some(catalog),
            Err(e) => {
                output::stderr(&format!("warning: {e:#}; describing every object again\n"));
                None
            }
        },
        _ => None,
    };

    let org = Org::open(global).await?;
    let progress = Bar::new();
    let on_progress = |p: forcebridge_catalog::Progress| {
        progress.update(p.objects_done as u64, p.objects_total as u64)
    };
    // An earlier catalog, from --diff or --cache, lets unchanged describes be revalidated.
    let previous = old.as_ref().or(cached.as_ref());
    let extract = match previous {
        Some(previous) => Catalog::refresh(&org.client, &selection, previous, on_progress).await,
        None => Catalog::extract(&org.client, &selection, on_progress).await,
    }
    .with_context(|| format!("cataloging {}", org.label))?;
    progress.finish();
    let Extract {
        catalog, report, ..
    } = extract;

    if let Some(path) = &args.cache {
        write_file(path, &catalog.to_json(None))?;
    }
    for pattern in &report.unmatched_patterns {
        output::stderr(&format!("warning: no object matches {pattern:?}\n"));
    }
    for failure in &report.failures {
        output::stderr(&format!(
            "warning: {} left out: {}\n",
            failure.object, failure.message
        ));
    }

    let mut written = None;
    if let Some(old) = &old {
        let changes = forcebridge_catalog::diff(old, &catalog);
        let text = if args.json {
            forcebridge_catalog::diff_to_json(&changes, old, &catalog)
        } else {
            forcebridge_catalog::diff_to_text(&changes, old, &catalog)
        };
        emit(&args.output, &text)?;
    } else if args.json {
        emit(&args.output, &catalog.to_json(Some(&report)))?;
    } else if args.markdown {
        emit(&args.output, &catalog.to_markdown())?;
    } else if args.mermaid {
        emit(&args.output, &catalog.to_mermaid(&crawl)?)?;
    } else if let Some(path) = &args.svg {
        let svg = catalog.to_svg(&crawl)?;
        if path == Path::new("-") {
            output::stdout(&svg)?;
        } else {
            write_file(path, &svg)?;
            written = Some(format!("ER diagram written to {}", path.display()));
        }
    } else if let Some(target) = target {
        written = Some(target.write(&catalog).await?);
    } else {
        emit(&args.output, &object_list(&catalog))?;
    }

    let custom = catalog.objects.iter().filter(|o| o.custom).count();
    let fields: usize = catalog.objects.iter().map(|o| o.fields.len()).sum();
    let n = report.objects_selected;
    let mut summary = format!(
        "{} ({custom} custom), {}, {} from {} in {:.1} s with {}",
        count(catalog.objects.len() as u64, "object"),
        count(fields as u64, "field"),
        count(catalog.relationships().len() as u64, "relationship"),
        org.label,
        report.elapsed.as_secs_f64(),
        count(report.api_calls, "API call"),
    );
    summary.push_str(&format!(
        " (at most ceil({n}/25) + 3 = {})",
        n.div_ceil(25) + 3
    ));
    if report.objects_revalidated > 0 {
        summary.push_str(&format!(
            "; {} unchanged since the earlier catalog",
            report.objects_revalidated
        ));
    }
    output::stderr(&format!("{summary}\n"));
    if let Some(written) = written {
        output::stderr(&format!("{written}\n"));
    }
    Ok(if report.failures.is_empty() {
        Exit::Success
    } else {
        Exit::Failure
    })
}

fn selection(args: &CatalogArgs) -> anyhow::Result<Selection> {
    let mut selection = Selection::all();
    for pattern in &args.include {
        selection = selection.include(pattern)?;
    }
    for pattern in &args.exclude {
        selection = selection.exclude(pattern)?;
    }
    if args.custom_only {
        selection = selection.custom_only();
    }
    if args.queryable_only {
        selection = selection.queryable_only();
    }
    Ok(selection)
}

/// Where `--to` writes the catalog tables.
enum Target {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Target {
    fn parse(url: &str) -> anyhow::Result<Target> {
        if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(usage("--to sqlite: needs a file: --to sqlite:catalog.db"));
            }
            return Ok(Target::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Target::Postgres(url.to_string()));
        }
        Err(usage(format!(
            "--to {url:?}: expected sqlite:PATH or a postgres:// URL"
        )))
    }

    async fn write(self, catalog: &Catalog) -> anyhow::Result<String> {
        match self {
            Target::Sqlite(path) => {
                let catalog = catalog.clone();
                let shown = path.display().to_string();
                tokio::task::spawn_blocking(move || catalog.write_sqlite(&path))
                    .await
                    .context("the SQLite writer stopped")??;
                Ok(format!("catalog tables written to SQLite database {shown}"))
            }
            Target::Postgres(url) => {
                catalog.write_postgres(&url).await?;
                Ok("catalog tables written to PostgreSQL".to_string())
            }
        }
    }
}

fn read_catalog(path: &Path, option: &str) -> anyhow::Result<Catalog> {
    let text = crate::input::file(path, option)?;
    Catalog::from_json(&text).with_context(|| format!("{option} {}", path.display()))
}

fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Writes to the --output file, or stdout.
fn emit(output_file: &Option<PathBuf>, text: &str) -> anyhow::Result<()> {
    match output_file {
        Some(path) => write_file(path, text),
        None => Ok(output::stdout(text)?),
    }
}

/// One aligned line per object: name, label, kind, fields, records.
fn object_list(catalog: &Catalog) -> String {
    let width = catalog
        .objects
        .iter()
        .map(|o| o.name.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let label_width = catalog
        .objects
        .iter()
        .map(|o| o.label.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut out = format!(
        "{:width$}  {:label_width$}  {:8}  {:>6}  {:>8}\n",
        "OBJECT", "LABEL", "KIND", "FIELDS", "RECORDS"
    );
    for o in &catalog.objects {
        out.push_str(&format!(
            "{:width$}  {:label_width$}  {:8}  {:>6}  {:>8}\n",
            o.name,
            o.label,
            if o.custom { "custom" } else { "standard" },
            o.fields.len(),
            o.record_count
                .map(|n| n.to_string())
                .unwrap_or_else(|| "-".into())
        ));
    }
    out
}

/// A bar on stderr while describes come in; nothing when stderr is not a terminal.
struct Bar(Option<ProgressBar>);

impl Bar {
    fn new() -> Bar {
        if !output::stderr_is_terminal() {
            return Bar(None);
        }
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{spinner} describing objects [{bar:30}] {pos}/{len}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Bar(Some(bar))
    }

    fn update(&self, done: u64, total: u64) {
        if let Some(bar) = &self.0 {
            bar.set_length(total);
            bar.set_position(done);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
