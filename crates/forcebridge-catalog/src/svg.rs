//! The ER diagram as an SVG picture, laid out by `layout-rs` (a Rust implementation of
//! Graphviz's `dot` layered layout: rank assignment, crossing reduction, placement) and drawn
//! by a small backend here, so the picture has readable fonts, a legend and a title per box.
//!
//! The layout runs left to right (parents left of their children), which keeps a diagram of
//! dozens of objects about twice as wide as it is tall. Each relationship is an arrow from the
//! child to its parent labelled with the reference field, solid and dark red for master-detail, dashed grey
//! for lookups. Custom objects are blue, standard ones grey.

use std::fmt::Write;

use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::format::{ClipHandle, RenderBackend};
use layout::core::geometry::Point;
use layout::core::style::{LineStyleKind, StyleAttr};
use layout::std_shapes::render::get_shape_size;
use layout::std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind};
use layout::topo::layout::VisualGraph;

use crate::crawl::{Crawl, graph};
use crate::error::Result;
use crate::model::{Catalog, RelationshipKind};

const FONT_SIZE: usize = 14;
const MARGIN: f64 = 20.0;

impl Catalog {
    /// The part of the catalog `crawl` chooses as an SVG ER diagram.
    pub fn to_svg(&self, crawl: &Crawl) -> Result<String> {
        let graph = graph(self, crawl)?;
        let mut visual = VisualGraph::new(Orientation::LeftToRight);
        let mut handles = std::collections::HashMap::new();
        for object in &graph.objects {
            let mut text = object.name.clone();
            let detail = if object.label != object.name {
                format!("{}, {} fields", object.label, object.fields.len())
            } else {
                format!("{} fields", object.fields.len())
            };
            text.push('\n');
            text.push_str(&detail);
            let shape = ShapeKind::new_box(&text);
            let (line, fill) = if object.custom {
                ("#1d4ed8", "#dbeafe")
            } else {
                ("#374151", "#f3f4f6")
            };
            let look = StyleAttr::new(Color::fast(line), 2, Some(Color::fast(fill)), 6, FONT_SIZE);
            let size = get_shape_size(Orientation::LeftToRight, &shape, FONT_SIZE, false);
            let element = Element::create_with_properties(
                shape,
                look,
                Orientation::LeftToRight,
                size,
                format!(
                    "class=\"object {}\" data-object=\"{}\"",
                    if object.custom { "custom" } else { "standard" },
                    escape(&object.name)
                ),
            );
            handles.insert(object.name.as_str(), visual.add_node(element));
        }
        for edge in &graph.edges {
            let (Some(&parent), Some(&child)) = (
                handles.get(edge.parent.as_str()),
                handles.get(edge.child.as_str()),
            ) else {
                continue;
            };
            let (color, width, style) = match edge.kind {
                RelationshipKind::MasterDetail => ("#b91c1c", 2, LineStyleKind::Normal),
                RelationshipKind::Lookup => ("#6b7280", 1, LineStyleKind::Dashed),
            };
            let look = StyleAttr::new(Color::fast(color), width, None, 0, FONT_SIZE - 3);
            // Drawn from parent to child so parents rank before children; the arrowhead is at
            // the start, on the parent.
            let arrow = Arrow::with_properties(
                LineEndKind::Arrow,
                LineEndKind::None,
                style,
                &edge.field,
                &look,
                format!(
                    "class=\"relationship {}\" data-relationship=\"{}.{} → {}\"",
                    edge.kind.as_str(),
                    escape(&edge.child),
                    escape(&edge.field),
                    escape(&edge.parent)
                ),
                &None,
                &None,
            );
            visual.add_edge(arrow, parent, child);
        }
        let mut canvas = Canvas::default();
        if !graph.objects.is_empty() {
            visual.do_it(false, false, false, &mut canvas);
        }
        Ok(canvas.finish(graph.objects.len(), graph.edges.len()))
    }
}

/// Collects the drawing as SVG elements and the extent it covers.
#[derive(Default)]
struct Canvas {
    body: String,
    width: f64,
    height: f64,
    clips: usize,
}

impl Canvas {
    fn grow(&mut self, point: Point) {
        self.width = self.width.max(point.x);
        self.height = self.height.max(point.y);
    }

    fn finish(mut self, objects: usize, relationships: usize) -> String {
        let legend_y = self.height + 30.0;
        let legend = format!(
            "<g class=\"legend\" font-size=\"12\">\
<rect x=\"{x}\" y=\"{y0}\" width=\"16\" height=\"12\" rx=\"3\" fill=\"#dbeafe\" stroke=\"#1d4ed8\"/>\
<text x=\"{tx}\" y=\"{y1}\">custom object</text>\
<rect x=\"{x2}\" y=\"{y0}\" width=\"16\" height=\"12\" rx=\"3\" fill=\"#f3f4f6\" stroke=\"#374151\"/>\
<text x=\"{tx2}\" y=\"{y1}\">standard object</text>\
<line x1=\"{x3}\" y1=\"{ym}\" x2=\"{x3e}\" y2=\"{ym}\" stroke=\"#b91c1c\" stroke-width=\"2\"/>\
<text x=\"{tx3}\" y=\"{y1}\">master-detail</text>\
<line x1=\"{x4}\" y1=\"{ym}\" x2=\"{x4e}\" y2=\"{ym}\" stroke=\"#6b7280\" stroke-dasharray=\"5,5\"/>\
<text x=\"{tx4}\" y=\"{y1}\">lookup (arrow to the parent, labelled with the field)</text>\
<text x=\"{x}\" y=\"{y2}\">{objects} objects, {relationships} relationships (owner and audit lookups left out)</text></g>\n",
            x = MARGIN,
            y0 = legend_y - 10.0,
            y1 = legend_y,
            ym = legend_y - 4.0,
            y2 = legend_y + 20.0,
            tx = MARGIN + 22.0,
            x2 = MARGIN + 130.0,
            tx2 = MARGIN + 152.0,
            x3 = MARGIN + 270.0,
            x3e = MARGIN + 300.0,
            tx3 = MARGIN + 306.0,
            x4 = MARGIN + 410.0,
            x4e = MARGIN + 440.0,
            tx4 = MARGIN + 446.0,
        );
        let width = (self.width + MARGIN).max(800.0).ceil();
        let height = (legend_y + 30.0).ceil();
        let mut out = String::new();
        let _ = write!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
font-family=\"Helvetica, Arial, sans-serif\">\n\
<title>Entity-relationship diagram</title>\n\
<defs><marker id=\"parent\" markerWidth=\"10\" markerHeight=\"8\" refX=\"1\" refY=\"4\" orient=\"auto\">\
<polygon points=\"10 0, 10 8, 0 4\" fill=\"context-stroke\"/></marker></defs>\n\
<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        );
        out.push_str(&self.body);
        out.push_str(&legend);
        self.body.clear();
        out.push_str("</svg>\n");
        out
    }
}

impl RenderBackend for Canvas {
    fn draw_rect(
        &mut self,
        xy: Point,
        size: Point,
        look: &StyleAttr,
        properties: Option<String>,
        _clip: Option<ClipHandle>,
    ) {
        self.grow(Point::new(xy.x + size.x, xy.y + size.y));
        let fill = look
            .fill_color
            .map(|c| web(&c))
            .unwrap_or_else(|| "none".into());
        let title = properties
            .as_deref()
            .and_then(|p| p.split("data-object=\"").nth(1))
            .and_then(|rest| rest.split('"').next())
            .map(|name| format!("<title>{name}</title>"))
            .unwrap_or_default();
        let _ = writeln!(
            self.body,
            "<g {}>{title}<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"{}\" fill=\"{fill}\" stroke=\"{}\" stroke-width=\"{}\"/></g>",
            properties.unwrap_or_default(),
            xy.x,
            xy.y,
            size.x,
            size.y,
            look.rounded,
            web(&look.line_color),
            look.line_width
        );
    }

    fn draw_line(
        &mut self,
        start: Point,
        stop: Point,
        look: &StyleAttr,
        properties: Option<String>,
    ) {
        self.grow(start);
        self.grow(stop);
        let _ = writeln!(
            self.body,
            "<line {} x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{}\" stroke-width=\"{}\"/>",
            properties.unwrap_or_default(),
            start.x,
            start.y,
            stop.x,
            stop.y,
            web(&look.line_color),
            look.line_width
        );
    }

    fn draw_circle(
        &mut self,
        xy: Point,
        size: Point,
        look: &StyleAttr,
        properties: Option<String>,
    ) {
        self.grow(Point::new(xy.x + size.x / 2.0, xy.y + size.y / 2.0));
        let _ = writeln!(
            self.body,
            "<ellipse {} cx=\"{:.1}\" cy=\"{:.1}\" rx=\"{:.1}\" ry=\"{:.1}\" fill=\"none\" stroke=\"{}\"/>",
            properties.unwrap_or_default(),
            xy.x,
            xy.y,
            size.x / 2.0,
            size.y / 2.0,
            web(&look.line_color)
        );
    }

    fn draw_text(&mut self, xy: Point, text: &str, look: &StyleAttr) {
        let lines: Vec<&str> = text.lines().collect();
        let line_height = look.font_size as f64 * 1.2;
        let top = xy.y - line_height * (lines.len() as f64 - 1.0) / 2.0;
        for (i, line) in lines.iter().enumerate() {
            // A box's first line is the object's name.
            let weight = if i == 0 && lines.len() > 1 {
                " font-weight=\"bold\""
            } else {
                ""
            };
            let size = if i > 0 {
                look.font_size.saturating_sub(3)
            } else {
                look.font_size
            };
            let _ = writeln!(
                self.body,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"{size}\"{weight} text-anchor=\"middle\" dominant-baseline=\"middle\" fill=\"#111827\">{}</text>",
                xy.x,
                top + line_height * i as f64,
                escape(line)
            );
        }
    }

    fn draw_arrow(
        &mut self,
        path: &[(Point, Point)],
        dashed: bool,
        head: (bool, bool),
        look: &StyleAttr,
        properties: Option<String>,
        text: &str,
    ) {
        if path.len() < 2 {
            return;
        }
        for (point, control) in path {
            self.grow(*point);
            self.grow(*control);
        }
        let mut d = format!(
            "M {:.1} {:.1} C {:.1} {:.1}, {:.1} {:.1}, {:.1} {:.1}",
            path[0].0.x,
            path[0].0.y,
            path[0].1.x,
            path[0].1.y,
            path[1].0.x,
            path[1].0.y,
            path[1].1.x,
            path[1].1.y
        );
        for (point, control) in &path[2..] {
            let _ = write!(
                d,
                " S {:.1} {:.1}, {:.1} {:.1}",
                point.x, point.y, control.x, control.y
            );
        }
        let dash = if dashed {
            " stroke-dasharray=\"5,5\""
        } else {
            ""
        };
        let start = if head.0 {
            " marker-start=\"url(#parent)\""
        } else {
            ""
        };
        let end = if head.1 {
            " marker-end=\"url(#parent)\""
        } else {
            ""
        };
        let title = properties
            .as_deref()
            .and_then(|p| p.split("data-relationship=\"").nth(1))
            .and_then(|rest| rest.split('"').next())
            .map(|name| format!("<title>{name}</title>"))
            .unwrap_or_default();
        let _ = writeln!(
            self.body,
            "<g {}>{title}<path d=\"{d}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"{dash}{start}{end}/></g>",
            properties.unwrap_or_default(),
            web(&look.line_color),
            look.line_width
        );
        if !text.is_empty() {
            let middle = path[path.len() / 2].0;
            let _ = writeln!(
                self.body,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"{}\" text-anchor=\"middle\" fill=\"#374151\">{}</text>",
                middle.x,
                middle.y,
                look.font_size,
                escape(text)
            );
        }
    }

    fn create_clip(&mut self, _xy: Point, _size: Point, _rounded_px: usize) -> ClipHandle {
        self.clips += 1;
        self.clips
    }
}

/// `#rrggbb` (dropping layout-rs's alpha byte, which every colour here has at ff).
fn web(color: &Color) -> String {
    color.to_web_color().chars().take(7).collect()
}

/// Text safe inside an XML element or a quoted attribute.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}
