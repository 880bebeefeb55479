//! Planning aggregate queries: GROUP BY items (ROLLUP, CUBE), aggregate calls, GROUPING(),
//! the `exprN` names of unaliased columns, and what HAVING and ORDER BY may refer to.

use super::*;

impl Planner<'_> {
    pub(super) fn aggregate(
        &self,
        scope: &Scope,
        query: &Query,
    ) -> Planned<(AggPlan, Vec<OrderKey>)> {
        let mut builder = AggBuilder::default();
        if let Some(group_by) = &query.group_by {
            for item in &group_by.items {
                let plan = self.expr(scope, item, Context::GroupBy)?;
                if !matches!(plan, ExprPlan::Path(_) | ExprPlan::DateFn(..)) {
                    return Err(frame::malformed(
                        self.text,
                        item.span(),
                        "GROUP BY takes fields and date functions",
                    ));
                }
                let field_type = expr_type(&plan);
                builder.keys.push((canonical(&plan), plan, field_type));
            }
        }
        let mut columns = Vec::new();
        let mut expr_count = 0usize;
        for item in &query.select {
            let SelectItem::Expr { expr, alias, span } = item else {
                return Err(frame::malformed(
                    self.text,
                    item.span(),
                    "Aggregate queries select fields and aggregate functions only",
                ));
            };
            let source = self.aggregate_expr(scope, expr, &mut builder)?;
            let name = match (alias, &source, expr) {
                (Some(alias), _, _) => alias.name.clone(),
                (None, ExprPlan::Group(i), Expr::Field(_)) => match &builder.keys[*i].1 {
                    ExprPlan::Path(p) => p.last().to_string(),
                    _ => String::new(),
                },
                _ => {
                    let name = format!("expr{expr_count}");
                    expr_count += 1;
                    name
                }
            };
            if columns
                .iter()
                .any(|c: &AggColumn| c.name.eq_ignore_ascii_case(&name))
            {
                return Err(self.duplicate(*span, &name));
            }
            columns.push(AggColumn {
                key: json_key(&name),
                name,
                source,
            });
        }
        builder.aliases = columns
            .iter()
            .map(|c| (c.name.clone(), c.source.clone()))
            .collect();
        let having = match &query.having {
            Some(condition) => Some(self.condition(scope, condition, Some(&mut builder))?),
            None => None,
        };
        let mut order = Vec::new();
        for item in &query.order_by {
            let expr = self.aggregate_expr(scope, &item.expr, &mut builder)?;
            order.push(order_key(expr, item));
        }
        let kind = query
            .group_by
            .as_ref()
            .map_or(GroupByKind::Plain, |g| g.kind);
        Ok((
            AggPlan {
                kind,
                keys: builder.keys.into_iter().map(|(_, plan, _)| plan).collect(),
                aggregates: builder
                    .aggregates
                    .into_iter()
                    .map(|(_, spec, _)| spec)
                    .collect(),
                columns,
                having,
            },
            order,
        ))
    }

    /// An expression in an aggregate query: an aggregate call, GROUPING(), an alias of a
    /// selected column, or something that is grouped by.
    pub(super) fn aggregate_expr(
        &self,
        scope: &Scope,
        expr: &Expr,
        builder: &mut AggBuilder,
    ) -> Planned<ExprPlan> {
        if let Expr::Field(path) = expr
            && let [single] = path.segments.as_slice()
            && let Some((_, source)) = builder.aliases.iter().find(|(alias, _)| single.is(alias))
        {
            return Ok(source.clone());
        }
        if let Expr::Call(call) = expr {
            match call.function.kind() {
                FunctionKind::Aggregate => {
                    let arg = match call.args.as_slice() {
                        [] if call.function == Function::Count => None,
                        [arg] => Some(self.expr(scope, arg, Context::Select)?),
                        _ => {
                            return Err(frame::malformed(
                                self.text,
                                call.span,
                                &format!("{} takes one field", call.function.name()),
                            ));
                        }
                    };
                    let arg_type = arg.as_ref().map(expr_type);
                    if let Some(arg_type) = arg_type {
                        let numeric = arg_type.is_decimal() || arg_type == FieldType::Int;
                        let ok = match call.function {
                            Function::Sum | Function::Avg => numeric,
                            Function::Min | Function::Max => {
                                !matches!(arg_type, FieldType::Boolean) && !arg_type.is_compound()
                            }
                            _ => !arg_type.is_compound(),
                        };
                        if !ok {
                            let name = arg.as_ref().map(expr_name).unwrap_or_default();
                            return Err(frame::failure(
                                "INVALID_FIELD",
                                self.text,
                                call.span,
                                &format!(
                                    "field {name} does not support aggregate operator {}",
                                    call.function.name()
                                ),
                            ));
                        }
                    }
                    let key = format!(
                        "{}({})",
                        call.function.name().to_ascii_lowercase(),
                        arg.as_ref().map(canonical).unwrap_or_default()
                    );
                    let field_type = match call.function {
                        Function::Count | Function::CountDistinct => FieldType::Int,
                        Function::Sum | Function::Avg => FieldType::Double,
                        _ => arg_type.unwrap_or(FieldType::Double),
                    };
                    let index = match builder.aggregates.iter().position(|(k, _, _)| *k == key) {
                        Some(i) => i,
                        None => {
                            builder.aggregates.push((
                                key,
                                AggSpec {
                                    function: call.function,
                                    arg,
                                },
                                field_type,
                            ));
                            builder.aggregates.len() - 1
                        }
                    };
                    return Ok(ExprPlan::Agg(index));
                }
                FunctionKind::Grouping => {
                    let [arg] = call.args.as_slice() else {
                        return Err(frame::malformed(
                            self.text,
                            call.span,
                            "GROUPING takes one field",
                        ));
                    };
                    let inner = self.expr(scope, arg, Context::Select)?;
                    let key = canonical(&inner);
                    return match builder.keys.iter().position(|(k, _, _)| *k == key) {
                        Some(i) => Ok(ExprPlan::Grouping(i)),
                        None => Err(frame::malformed(
                            self.text,
                            call.span,
                            &format!(
                                "GROUPING needs a field of the GROUP BY clause: {}",
                                expr_name(&inner)
                            ),
                        )),
                    };
                }
                _ => {}
            }
        }
        let plan = self.expr(scope, expr, Context::Select)?;
        let key = canonical(&plan);
        match builder.keys.iter().position(|(k, _, _)| *k == key) {
            Some(i) => Ok(ExprPlan::Group(i)),
            None => Err(frame::malformed(
                self.text,
                expr.span(),
                &format!("Field must be grouped or aggregated: {}", expr_name(&plan)),
            )),
        }
    }
}

/// The grouped expressions and aggregate calls of an aggregate query, collected while planning
/// its SELECT list, HAVING and ORDER BY.
#[derive(Debug, Default)]
pub(super) struct AggBuilder {
    keys: Vec<(String, ExprPlan, FieldType)>,
    aggregates: Vec<(String, AggSpec, FieldType)>,
    aliases: Vec<(String, ExprPlan)>,
}

impl AggBuilder {
    pub(super) fn type_of(&self, expr: &ExprPlan) -> FieldType {
        match expr {
            ExprPlan::Group(i) => self.keys.get(*i).map_or(FieldType::String, |k| k.2),
            ExprPlan::Agg(i) => self.aggregates.get(*i).map_or(FieldType::Double, |a| a.2),
            ExprPlan::Grouping(_) => FieldType::Int,
            other => expr_type(other),
        }
    }
}
