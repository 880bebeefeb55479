//! Planning WHERE and HAVING conditions: every operator, literals converted to the compared
//! field's type (with Salesforce's type errors), date ranges, and semi-join subqueries.

use super::*;
use crate::soql::dates::DayRange;

impl Planner<'_> {
    pub(super) fn condition(
        &self,
        scope: &Scope,
        condition: &Condition,
        mut aggregate: Option<&mut AggBuilder>,
    ) -> Planned<CondPlan> {
        Ok(match condition {
            Condition::And { operands, .. } => CondPlan::And(
                operands
                    .iter()
                    .map(|c| self.condition(scope, c, aggregate.as_deref_mut()))
                    .collect::<Planned<_>>()?,
            ),
            Condition::Or { operands, .. } => CondPlan::Or(
                operands
                    .iter()
                    .map(|c| self.condition(scope, c, aggregate.as_deref_mut()))
                    .collect::<Planned<_>>()?,
            ),
            Condition::Not { operand, .. } => {
                CondPlan::Not(Box::new(self.condition(scope, operand, aggregate)?))
            }
            Condition::Error { span } => {
                return Err(frame::malformed(self.text, *span, "unexpected token"));
            }
            Condition::Comparison(comparison) => {
                let (expr, field_type) = match aggregate {
                    Some(builder) => {
                        let expr = self.aggregate_expr(scope, &comparison.lhs, builder)?;
                        let field_type = builder.type_of(&expr);
                        (expr, field_type)
                    }
                    None => {
                        let expr = self.expr(scope, &comparison.lhs, Context::Where)?;
                        let field_type = expr_type(&expr);
                        (expr, field_type)
                    }
                };
                let name = expr_name(&expr);
                self.comparison(
                    expr,
                    field_type,
                    &name,
                    comparison.op,
                    &comparison.rhs,
                    comparison.lhs.span(),
                )?
            }
        })
    }

    fn comparison(
        &self,
        expr: ExprPlan,
        field_type: FieldType,
        name: &str,
        op: Operator,
        rhs: &Operand,
        lhs_span: Span,
    ) -> Planned<CondPlan> {
        match (op, rhs) {
            (Operator::Like, Operand::Pattern { pattern, .. }) => {
                if !(field_type.is_text() || field_type == FieldType::Combobox) {
                    return Err(frame::failure(
                        "INVALID_QUERY_FILTER_OPERATOR",
                        self.text,
                        lhs_span,
                        &if matches!(field_type, FieldType::Id | FieldType::Reference) {
                            "invalid operator on id field".to_string()
                        } else {
                            format!(
                                "invalid operator on field {name}: LIKE works on text fields only"
                            )
                        },
                    ));
                }
                Ok(CondPlan::Like {
                    expr,
                    pattern: pattern.clone(),
                })
            }
            (Operator::In | Operator::NotIn, Operand::Subquery { query, span }) => self.semi_join(
                expr,
                field_type,
                query,
                *span,
                op == Operator::NotIn,
                lhs_span,
            ),
            (Operator::In | Operator::NotIn, Operand::List { values, .. }) => {
                let negate = op == Operator::NotIn;
                let mut ranges = Vec::new();
                let mut converted = Vec::new();
                let mut has_null = false;
                for literal in values {
                    if let Some(range) = self.range_of(field_type, literal)? {
                        ranges.push(range);
                        continue;
                    }
                    match self.literal(field_type, name, literal)? {
                        Value::Null => has_null = true,
                        value => converted.push(value),
                    }
                }
                if !ranges.is_empty() {
                    let op = if negate { Op::Ne } else { Op::Eq };
                    let mut parts: Vec<CondPlan> = ranges
                        .into_iter()
                        .map(|(start, end)| CondPlan::Range {
                            expr: expr.clone(),
                            op,
                            start,
                            end,
                        })
                        .collect();
                    if !converted.is_empty() || has_null {
                        parts.push(CondPlan::In {
                            expr,
                            values: converted,
                            has_null,
                            negate,
                        });
                    }
                    return Ok(if negate {
                        CondPlan::And(parts)
                    } else {
                        CondPlan::Or(parts)
                    });
                }
                Ok(CondPlan::In {
                    expr,
                    values: converted,
                    has_null,
                    negate,
                })
            }
            (Operator::Includes | Operator::Excludes, Operand::List { values, .. }) => {
                if field_type != FieldType::Multipicklist {
                    return Err(frame::failure(
                        "INVALID_QUERY_FILTER_OPERATOR",
                        self.text,
                        lhs_span,
                        "includes or excludes operator only valid on multipicklist field",
                    ));
                }
                let mut sets = Vec::new();
                for literal in values {
                    let Lit::String(text) = &literal.value else {
                        return Err(self.wrong_type(literal.span, name, field_type));
                    };
                    sets.push(multi_values(text));
                }
                Ok(CondPlan::Includes {
                    expr,
                    sets,
                    negate: op == Operator::Excludes,
                })
            }
            (_, Operand::Value(literal)) => {
                let op = match op {
                    Operator::Eq => Op::Eq,
                    Operator::Ne => Op::Ne,
                    Operator::Lt => Op::Lt,
                    Operator::Le => Op::Le,
                    Operator::Gt => Op::Gt,
                    Operator::Ge => Op::Ge,
                    _ => {
                        return Err(frame::malformed(
                            self.text,
                            literal.span,
                            &format!(
                                "unexpected token: '{}'",
                                token_text(self.text, literal.span)
                            ),
                        ));
                    }
                };
                if let Some((start, end)) = self.range_of(field_type, literal)? {
                    return Ok(CondPlan::Range {
                        expr,
                        op,
                        start,
                        end,
                    });
                }
                let value = self.literal(field_type, name, literal)?;
                if value.is_null() {
                    return Ok(match op {
                        Op::Eq => CondPlan::IsNull {
                            expr,
                            negate: false,
                        },
                        Op::Ne => CondPlan::IsNull { expr, negate: true },
                        // An ordering against null holds for no record.
                        _ => CondPlan::Compare {
                            expr,
                            op,
                            value: Value::Null,
                        },
                    });
                }
                if field_type == FieldType::Multipicklist && matches!(op, Op::Eq | Op::Ne) {
                    let values = match &value {
                        Value::Text(t) => {
                            let mut v = multi_values(t);
                            v.sort();
                            v
                        }
                        _ => Vec::new(),
                    };
                    return Ok(CondPlan::SameSet {
                        expr,
                        values,
                        negate: op == Op::Ne,
                    });
                }
                Ok(CondPlan::Compare { expr, op, value })
            }
            (_, other) => Err(frame::malformed(
                self.text,
                other.span(),
                &format!(
                    "unexpected token: '{}'",
                    token_text(self.text, other.span())
                ),
            )),
        }
    }

    /// The range a literal stands for against a date or datetime: a relative date literal
    /// (either type), or a calendar date against a datetime (the whole UTC day). Bounds are in
    /// the field's unit: days for dates, milliseconds for datetimes.
    fn range_of(&self, field_type: FieldType, literal: &Literal) -> Planned<Option<(i64, i64)>> {
        let days = match (&literal.value, field_type) {
            (Lit::DateLiteral(relative), FieldType::Date | FieldType::DateTime) => {
                dates::literal_range(*relative, self.today).ok_or_else(|| {
                    frame::malformed(self.text, literal.span, "date literal out of range")
                })?
            }
            (Lit::Date(date), FieldType::DateTime) => {
                let day = lit_date(*date);
                DayRange {
                    start: day,
                    end: day + 1,
                }
            }
            _ => return Ok(None),
        };
        Ok(Some(if field_type == FieldType::DateTime {
            days.millis()
        } else {
            (i64::from(days.start), i64::from(days.end))
        }))
    }

    /// Converts a literal to a value of the field's type, or Salesforce's type error.
    fn literal(&self, field_type: FieldType, name: &str, literal: &Literal) -> Planned<Value> {
        let wrong = || self.wrong_type(literal.span, name, field_type);
        let textual = field_type.is_text() || field_type == FieldType::Combobox;
        Ok(match &literal.value {
            Lit::Null => Value::Null,
            Lit::String(text) => match field_type {
                _ if textual => Value::text(text.as_str()),
                FieldType::Id | FieldType::Reference => {
                    // Text that is no id, including an 18-character id whose checksum does
                    // not fit, is refused; a well-formed id of another org matches nothing.
                    match RecordId::read(text) {
                        Ok(Some(id)) => Value::Ref(id),
                        Ok(None) => Value::text(format!("foreign id {text}")),
                        Err(_) => {
                            return Err(frame::failure(
                                "INVALID_QUERY_FILTER_OPERATOR",
                                self.text,
                                literal.span,
                                &format!("invalid ID field: {text}"),
                            ));
                        }
                    }
                }
                _ => return Err(wrong()),
            },
            Lit::Number(number) => match field_type {
                FieldType::Int => match number.as_i64() {
                    Some(i) => Value::Int(i),
                    None => Value::Double(number.as_f64()),
                },
                _ if field_type.is_decimal() => Value::Double(number.as_f64()),
                _ => return Err(wrong()),
            },
            Lit::Currency { amount, .. } if field_type == FieldType::Currency => {
                Value::Double(amount.as_f64())
            }
            Lit::Boolean(b) if field_type == FieldType::Boolean => Value::Bool(*b),
            Lit::Date(date) if field_type == FieldType::Date => Value::Date(lit_date(*date)),
            Lit::DateTime(dt) if field_type == FieldType::DateTime => {
                let day = lit_date(dt.date);
                let time = lit_time(dt.time);
                Value::DateTime(
                    value::date_start_millis(day) + i64::from(time)
                        - i64::from(dt.offset_minutes) * 60_000,
                )
            }
            Lit::Time(time) if field_type == FieldType::Time => Value::Time(lit_time(*time)),
            _ => return Err(wrong()),
        })
    }

    fn wrong_type(&self, span: Span, name: &str, field_type: FieldType) -> ApiFailure {
        let (type_name, quoted) = match field_type {
            FieldType::Id | FieldType::Reference => ("id", true),
            FieldType::Int => ("integer", false),
            FieldType::Double | FieldType::Currency | FieldType::Percent => ("double", false),
            FieldType::Boolean => ("boolean", false),
            FieldType::Date => ("date", false),
            FieldType::DateTime => ("datetime", false),
            FieldType::Time => ("time", false),
            _ => ("string", true),
        };
        frame::failure(
            "INVALID_FIELD",
            self.text,
            span,
            &format!(
                "value of filter criterion for field '{name}' must be of type {type_name} and {}",
                if quoted {
                    "should be enclosed in quotes"
                } else {
                    "should not be enclosed in quotes"
                }
            ),
        )
    }

    fn semi_join(
        &self,
        expr: ExprPlan,
        field_type: FieldType,
        query: &Query,
        span: Span,
        negate: bool,
        lhs_span: Span,
    ) -> Planned<CondPlan> {
        if !matches!(field_type, FieldType::Id | FieldType::Reference) {
            return Err(frame::malformed(
                self.text,
                lhs_span,
                "The left operand of a semi join or anti-join must be an id or reference field",
            ));
        }
        let (object, _) = self.queried_object(query)?;
        let scope = self.scope_for(object, query, &[]);
        let [
            SelectItem::Expr {
                expr: Expr::Field(path),
                alias: None,
                ..
            },
        ] = query.select.as_slice()
        else {
            return Err(frame::malformed(
                self.text,
                span,
                "A semi join or anti-join subquery must select exactly one id or reference field",
            ));
        };
        let field = self.path(&scope, path)?;
        if !matches!(field.field_type, FieldType::Id | FieldType::Reference) {
            return Err(frame::malformed(
                self.text,
                path.span,
                "A semi join or anti-join subquery must select exactly one id or reference field",
            ));
        }
        let filter = match &query.where_clause {
            Some(condition) => Some(self.condition(&scope, condition, None)?),
            None => None,
        };
        let mut order = Vec::new();
        for item in &query.order_by {
            order.push(order_key(
                self.expr(&scope, &item.expr, Context::OrderBy)?,
                item,
            ));
        }
        let plan = QueryPlan {
            object,
            shape: Shape::Records {
                nodes: Vec::new(),
                columns: Vec::new(),
                children: Vec::new(),
            },
            filter,
            owner_scope: self.owner_scope(query, object),
            order,
            limit: query
                .limit
                .map(|l| usize::try_from(l.value).unwrap_or(usize::MAX)),
            offset: 0,
            all_rows: false,
            bulk_problems: Vec::new(),
        };
        Ok(CondPlan::SemiJoin {
            expr,
            query: Box::new(plan),
            field,
            negate,
            ids: OnceLock::new(),
        })
    }
}

/// The values of a multi-select picklist literal: `'a;b'` is both `a` and `b`.
fn multi_values(text: &str) -> Vec<String> {
    text.split(';')
        .map(|v| v.trim().to_lowercase())
        .filter(|v| !v.is_empty())
        .collect()
}

fn lit_date(date: forcebridge_soql::Date) -> i32 {
    value::date_from_ymd(
        i32::from(date.year()),
        u32::from(date.month()),
        u32::from(date.day()),
    )
    .unwrap_or(0)
}

fn lit_time(time: forcebridge_soql::Time) -> u32 {
    (u32::from(time.hour()) * 3600 + u32::from(time.minute()) * 60 + u32::from(time.second()))
        * 1000
        + time.nanosecond() / 1_000_000
}
