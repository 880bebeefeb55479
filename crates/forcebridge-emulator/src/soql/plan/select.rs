//! Planning SELECT lists of record queries: the nested shape of each JSON record (parent
//! records inside their relationship member, child subqueries, TYPEOF branches, FIELDS()), the
//! flat CSV columns, and duplicate selections.

use super::*;

impl Planner<'_> {
    pub(super) fn select_item(
        &self,
        scope: &Scope,
        query: &Query,
        item: &SelectItem,
        out: &mut SelectOut<'_>,
    ) -> Planned<()> {
        match item {
            SelectItem::Expr { expr, alias, span } => {
                self.select_expr(scope, expr, alias.as_ref(), *span, out)
            }
            SelectItem::Fields { set, span } => {
                out.bulk_problems
                    .push("FIELDS() not supported in Bulk Query");
                if *set != FieldSet::Standard && query.limit.is_none_or(|l| l.value > FIELDS_LIMIT)
                {
                    return Err(frame::malformed(
                        self.text,
                        *span,
                        "The SOQL FIELDS function must have a LIMIT of at most 200",
                    ));
                }
                let def = self.schema.object(scope.object);
                for index in def.field_set(*set) {
                    let field = &def.fields[index];
                    if field.field_type.is_compound() {
                        out.bulk_problems
                            .push("Selecting compound data not supported in Bulk Query");
                    }
                    self.add_leaf(
                        out.nodes,
                        &[],
                        &[],
                        &|_| {
                            Some(OutNode::Field {
                                key: json_key(&field.name),
                                field: index,
                            })
                        },
                        scope.object,
                        &field.name,
                        *span,
                    )?;
                    out.columns.push(Column {
                        header: field.name.clone(),
                        expr: ExprPlan::Path(PathPlan {
                            hops: Vec::new(),
                            leaf: Leaf::Field(vec![(scope.object, index)]),
                            field_type: field.field_type,
                            names: vec![field.name.clone()],
                        }),
                    });
                }
                Ok(())
            }
            SelectItem::Subquery { query: sub, span } => {
                out.bulk_problems
                    .push("Aggregate Relationships not supported in Bulk Query");
                self.child_subquery(scope, query, sub, *span, out)
            }
            SelectItem::TypeOf(typeof_) => {
                out.bulk_problems.push("TYPEOF not supported in Bulk Query");
                self.type_of(scope, typeof_, out)
            }
        }
    }

    fn select_expr(
        &self,
        scope: &Scope,
        expr: &Expr,
        alias: Option<&Ident>,
        span: Span,
        out: &mut SelectOut<'_>,
    ) -> Planned<()> {
        let plan = self.expr(scope, expr, Context::Select)?;
        match &plan {
            ExprPlan::Path(path) => {
                if path.field_type.is_compound() {
                    out.bulk_problems
                        .push("Selecting compound data not supported in Bulk Query");
                }
                self.path_member(scope, path, alias, span, out, &|relative, key| {
                    Some(match &relative.leaf {
                        Leaf::Field(list) => OutNode::Field {
                            key: json_key(key),
                            field: list.first()?.1,
                        },
                        Leaf::Type => OutNode::Computed {
                            key: json_key(key),
                            name: key.to_string(),
                            expr: ExprPlan::Path(relative),
                        },
                    })
                })?;
            }
            ExprPlan::Label(path) => {
                self.path_member(scope, path, alias, span, out, &|relative, key| {
                    Some(OutNode::Computed {
                        key: json_key(key),
                        name: key.to_string(),
                        expr: ExprPlan::Label(relative),
                    })
                })?;
            }
            ExprPlan::Format(inner, spec) if matches!(inner.as_ref(), ExprPlan::Path(_)) => {
                let ExprPlan::Path(path) = inner.as_ref() else {
                    return Ok(());
                };
                let spec = *spec;
                self.path_member(scope, path, alias, span, out, &|relative, key| {
                    Some(OutNode::Computed {
                        key: json_key(key),
                        name: key.to_string(),
                        expr: ExprPlan::Format(Box::new(ExprPlan::Path(relative)), spec),
                    })
                })?;
            }
            _ => {
                // DISTANCE, FORMAT of a computed value, a date function: a computed member
                // named by its alias or `exprN`.
                let key_name = match alias {
                    Some(a) => a.name.clone(),
                    None => {
                        let name = format!("expr{}", *out.expr_count);
                        *out.expr_count += 1;
                        name
                    }
                };
                if out.nodes.iter().any(|n| n.name_matches(&key_name)) {
                    return Err(self.duplicate(span, &key_name));
                }
                out.nodes.push(OutNode::Computed {
                    key: json_key(&key_name),
                    name: key_name.clone(),
                    expr: plan.clone(),
                });
                out.columns.push(Column {
                    header: key_name,
                    expr: plan,
                });
                return Ok(());
            }
        }
        out.columns.push(Column {
            header: alias.map_or_else(
                || match &plan {
                    ExprPlan::Path(p) | ExprPlan::Label(p) => p.dotted(),
                    other => format_path(other).map_or_else(String::new, PathPlan::dotted),
                },
                |a| a.name.clone(),
            ),
            expr: plan.clone(),
        });
        Ok(())
    }

    /// Adds a member for a field path (plain, toLabel or FORMAT) at its place in the nested
    /// record shape; `make` builds the leaf from the path relative to the object it lands on.
    fn path_member(
        &self,
        scope: &Scope,
        path: &PathPlan,
        alias: Option<&Ident>,
        span: Span,
        out: &mut SelectOut<'_>,
        make: &dyn Fn(PathPlan, &str) -> Option<OutNode>,
    ) -> Planned<()> {
        let key_name = alias.map_or_else(|| path.last().to_string(), |a| a.name.clone());
        let leaf = |target: ObjectIdx| make(path.relative_to(target)?, &key_name);
        self.add_leaf(
            out.nodes,
            &path.hops,
            &path.names,
            &leaf,
            scope.object,
            &key_name,
            span,
        )
    }

    pub(super) fn duplicate(&self, span: Span, name: &str) -> ApiFailure {
        // UNVERIFIED error code: Salesforce reports the duplicate as a malformed query.
        frame::malformed(
            self.text,
            span,
            &format!("duplicate field selected: {name}"),
        )
    }

    /// Adds a leaf member to the nested record shape, creating parent members for the hops
    /// (`Account.Owner.Name` lands in `Account` → `Owner` → `Name`). Members with the same
    /// name at the same level are a duplicate selection.
    #[allow(clippy::too_many_arguments)]
    fn add_leaf(
        &self,
        nodes: &mut Vec<OutNode>,
        hops: &[Hop],
        names: &[String],
        leaf: &dyn Fn(ObjectIdx) -> Option<OutNode>,
        object: ObjectIdx,
        leaf_name: &str,
        span: Span,
    ) -> Planned<()> {
        let Some((hop, rest)) = hops.split_first() else {
            if nodes.iter().any(|n| n.name_matches(leaf_name)) {
                return Err(self.duplicate(span, leaf_name));
            }
            if let Some(node) = leaf(object) {
                nodes.push(node);
            } else {
                // A polymorphic target without the field shows it as null.
                nodes.push(OutNode::Computed {
                    key: json_key(leaf_name),
                    name: leaf_name.to_string(),
                    expr: ExprPlan::Path(PathPlan {
                        hops: Vec::new(),
                        leaf: Leaf::Field(Vec::new()),
                        field_type: FieldType::String,
                        names: vec![leaf_name.to_string()],
                    }),
                });
            }
            return Ok(());
        };
        let name = names.first().cloned().unwrap_or_default();
        let position = nodes.iter().position(|n| match n {
            OutNode::Parent {
                column,
                typeof_branch,
                ..
            } => *column == hop.column && !typeof_branch,
            _ => false,
        });
        let position = match position {
            Some(p) => p,
            None => {
                if nodes.iter().any(|n| n.name_matches(&name)) {
                    return Err(self.duplicate(span, &name));
                }
                nodes.push(OutNode::Parent {
                    key: json_key(&name),
                    name: name.clone(),
                    column: hop.column,
                    targets: hop.targets.iter().map(|&t| (t, Vec::new())).collect(),
                    typeof_branch: false,
                });
                nodes.len() - 1
            }
        };
        let OutNode::Parent { targets, .. } = &mut nodes[position] else {
            return Ok(());
        };
        for (i, (target, children)) in targets.iter_mut().enumerate() {
            let result = self.add_leaf(
                children,
                rest,
                names.get(1..).unwrap_or(&[]),
                leaf,
                *target,
                leaf_name,
                span,
            );
            // Report a duplicate once, from the first target; the others mirror it.
            if i == 0 {
                result?;
            }
        }
        Ok(())
    }

    fn type_of(&self, scope: &Scope, typeof_: &TypeOf, out: &mut SelectOut<'_>) -> Planned<()> {
        let segments = self.expand_alias(scope, &typeof_.field.segments);
        let [relationship] = segments.as_slice() else {
            return Err(frame::malformed(
                self.text,
                typeof_.field.span,
                "TYPEOF takes a polymorphic relationship of the queried object, such as What or Owner",
            ));
        };
        let def = self.schema.object(scope.object);
        let Some((_, field)) = def.relationship(&relationship.name) else {
            return Err(frame::unknown_relationship(
                self.text,
                typeof_.field.span,
                &relationship.name,
            ));
        };
        let Some(column) = field.column() else {
            return Err(frame::unknown_relationship(
                self.text,
                typeof_.field.span,
                &relationship.name,
            ));
        };
        let name = field
            .relationship_name
            .clone()
            .unwrap_or_else(|| relationship.name.clone());
        let mut targets = Vec::new();
        for target_name in &field.reference_to {
            let Some((target, target_def)) = self.schema.find(target_name) else {
                continue;
            };
            let branch = typeof_
                .whens
                .iter()
                .find(|w| w.object.is(&target_def.name))
                .map(|w| &w.fields)
                .unwrap_or(&typeof_.else_fields);
            let target_scope = Scope {
                object: target,
                self_names: vec![target_def.name.clone()],
                aliases: Vec::new(),
            };
            let mut nodes = Vec::new();
            for path in branch {
                let plan = self.path(&target_scope, path)?;
                let leaf_name = plan.last().to_string();
                let leaf = |t: ObjectIdx| -> Option<OutNode> {
                    let relative = plan.relative_to(t)?;
                    Some(match relative.leaf {
                        Leaf::Field(list) => OutNode::Field {
                            key: json_key(&leaf_name),
                            field: list.first()?.1,
                        },
                        Leaf::Type => OutNode::Computed {
                            key: json_key(&leaf_name),
                            name: leaf_name.clone(),
                            expr: ExprPlan::Path(relative),
                        },
                    })
                };
                self.add_leaf(
                    &mut nodes,
                    &plan.hops,
                    &plan.names,
                    &leaf,
                    target,
                    &leaf_name,
                    path.span,
                )?;
            }
            targets.push((target, nodes));
        }
        for when in &typeof_.whens {
            if !field.reference_to.iter().any(|t| when.object.is(t)) {
                return Err(frame::malformed(
                    self.text,
                    when.object.span,
                    &format!(
                        "{} is not a type that {} can refer to",
                        when.object.name, name
                    ),
                ));
            }
        }
        if out.nodes.iter().any(|n| n.name_matches(&name)) {
            return Err(self.duplicate(typeof_.span, &name));
        }
        out.nodes.push(OutNode::Parent {
            key: json_key(&name),
            name,
            column,
            targets,
            typeof_branch: true,
        });
        Ok(())
    }

    fn child_subquery(
        &self,
        scope: &Scope,
        parent_query: &Query,
        sub: &Query,
        span: Span,
        out: &mut SelectOut<'_>,
    ) -> Planned<()> {
        let from = &sub.from.object;
        // `FROM Contacts`, or `FROM a.Contacts` with the parent's alias or name in front.
        let relationship = match from.segments.as_slice() {
            [name] => name,
            [qualifier, name]
                if scope.self_names.iter().any(|n| qualifier.is(n))
                    || parent_query
                        .from
                        .alias
                        .as_ref()
                        .is_some_and(|a| qualifier.is(&a.name)) =>
            {
                name
            }
            _ => {
                return Err(frame::unknown_child_relationship(
                    self.text,
                    from.span,
                    &from.dotted(),
                ));
            }
        };
        let parent_def = self.schema.object(scope.object);
        let Some(rel) = parent_def.child_relationship(&relationship.name) else {
            return Err(frame::unknown_child_relationship(
                self.text,
                relationship.span,
                &relationship.name,
            ));
        };
        let child_def = self.schema.object(rel.child);
        let Some(column) = child_def.fields[rel.field].column() else {
            return Err(frame::unknown_child_relationship(
                self.text,
                relationship.span,
                &relationship.name,
            ));
        };
        let child_scope = self.scope_for(rel.child, sub, std::slice::from_ref(&rel.name));
        let plan = self.plan_in(sub, child_scope)?;
        if !matches!(plan.shape, Shape::Records { .. }) {
            return Err(frame::malformed(
                self.text,
                span,
                "Aggregate functions are not allowed in a relationship subquery",
            ));
        }
        if out.nodes.iter().any(|n| n.name_matches(&rel.name)) {
            return Err(self.duplicate(span, &rel.name));
        }
        out.nodes.push(OutNode::Children {
            key: json_key(&rel.name),
            index: out.children.len(),
        });
        out.children.push(ChildPlan {
            column,
            parent: scope.object,
            plan,
        });
        Ok(())
    }
}

/// Where planned SELECT items go.
pub(super) struct SelectOut<'o> {
    pub(super) nodes: &'o mut Vec<OutNode>,
    pub(super) columns: &'o mut Vec<Column>,
    pub(super) children: &'o mut Vec<ChildPlan>,
    pub(super) expr_count: &'o mut usize,
    pub(super) bulk_problems: &'o mut Vec<&'static str>,
}
