//! FORMULA('...') in WHERE: a small arithmetic subset (numbers, number/date/datetime fields,
//! TODAY(), NOW(), + - * / and parentheses), parsed here and resolved against the object.
//! Anything outside that subset is a MALFORMED_QUERY that says what is supported.

use super::*;

impl Planner<'_> {
    pub(super) fn formula(&self, scope: &Scope, args: &[Expr], span: Span) -> Planned<ExprPlan> {
        let [
            Expr::Literal(Literal {
                value: Lit::String(text),
                ..
            }),
        ] = args
        else {
            return Err(frame::malformed(
                self.text,
                span,
                "FORMULA takes one quoted formula",
            ));
        };
        let tokens = formula_tokens(text).ok_or_else(|| self.formula_error(span, text))?;
        let mut parser = FormulaParser {
            tokens: &tokens,
            pos: 0,
            depth: 0,
        };
        let tree = parser
            .sum()
            .filter(|_| parser.pos == tokens.len())
            .ok_or_else(|| self.formula_error(span, text))?;
        let resolved = self.resolve_formula(scope, tree, span, text)?;
        self.formula_type(&resolved)
            .ok_or_else(|| self.formula_error(span, text))?;
        Ok(ExprPlan::Formula(Box::new(resolved)))
    }

    fn formula_error(&self, span: Span, text: &str) -> ApiFailure {
        frame::malformed(
            self.text,
            span,
            &format!(
                "Invalid formula '{text}': the local org's FORMULA supports numbers, number, date and datetime fields, TODAY(), NOW(), + - * / and parentheses"
            ),
        )
    }

    fn resolve_formula(
        &self,
        scope: &Scope,
        tree: RawFormula,
        span: Span,
        text: &str,
    ) -> Planned<Formula> {
        Ok(match tree {
            RawFormula::Number(n) => Formula::Number(n),
            RawFormula::Today => Formula::Today,
            RawFormula::Now => Formula::Now,
            RawFormula::Name(name) => {
                let segments: Vec<Ident> = name.split('.').map(|s| Ident::new(s, span)).collect();
                let segments = self.expand_alias(scope, &segments);
                let path = self.path_segments(scope.object, &segments, span)?;
                if !(path.field_type.is_decimal()
                    || matches!(
                        path.field_type,
                        FieldType::Int | FieldType::Date | FieldType::DateTime
                    ))
                {
                    return Err(self.formula_error(span, text));
                }
                Formula::Field(path)
            }
            RawFormula::Negate(inner) => {
                Formula::Negate(Box::new(self.resolve_formula(scope, *inner, span, text)?))
            }
            RawFormula::Binary(op, a, b) => Formula::Binary(
                op,
                Box::new(self.resolve_formula(scope, *a, span, text)?),
                Box::new(self.resolve_formula(scope, *b, span, text)?),
            ),
        })
    }

    fn formula_type(&self, formula: &Formula) -> Option<FormulaType> {
        formula_type(formula)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum FormulaToken {
    Number(f64),
    Name(String),
    Op(char),
    Open,
    Close,
}

fn formula_tokens(text: &str) -> Option<Vec<FormulaToken>> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            tokens.push(FormulaToken::Number(text.parse().ok()?));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
            tokens.push(FormulaToken::Name(chars[start..i].iter().collect()));
        } else if matches!(c, '+' | '-' | '*' | '/') {
            tokens.push(FormulaToken::Op(c));
            i += 1;
        } else if c == '(' {
            tokens.push(FormulaToken::Open);
            i += 1;
        } else if c == ')' {
            tokens.push(FormulaToken::Close);
            i += 1;
        } else {
            return None;
        }
    }
    Some(tokens)
}

#[derive(Debug)]
enum RawFormula {
    Number(f64),
    Name(String),
    Today,
    Now,
    Negate(Box<RawFormula>),
    Binary(char, Box<RawFormula>, Box<RawFormula>),
}

struct FormulaParser<'t> {
    tokens: &'t [FormulaToken],
    pos: usize,
    depth: usize,
}

impl FormulaParser<'_> {
    fn peek(&self) -> Option<&FormulaToken> {
        self.tokens.get(self.pos)
    }

    fn sum(&mut self) -> Option<RawFormula> {
        let mut left = self.product()?;
        while let Some(FormulaToken::Op(op @ ('+' | '-'))) = self.peek().cloned() {
            self.pos += 1;
            left = RawFormula::Binary(op, Box::new(left), Box::new(self.product()?));
        }
        Some(left)
    }

    fn product(&mut self) -> Option<RawFormula> {
        let mut left = self.unary()?;
        while let Some(FormulaToken::Op(op @ ('*' | '/'))) = self.peek().cloned() {
            self.pos += 1;
            left = RawFormula::Binary(op, Box::new(left), Box::new(self.unary()?));
        }
        Some(left)
    }

    fn unary(&mut self) -> Option<RawFormula> {
        self.depth += 1;
        if self.depth > 64 {
            return None;
        }
        let result = match self.peek()?.clone() {
            FormulaToken::Op('-') => {
                self.pos += 1;
                Some(RawFormula::Negate(Box::new(self.unary()?)))
            }
            FormulaToken::Op('+') => {
                self.pos += 1;
                self.unary()
            }
            FormulaToken::Number(n) => {
                self.pos += 1;
                Some(RawFormula::Number(n))
            }
            FormulaToken::Open => {
                self.pos += 1;
                let inner = self.sum()?;
                (self.peek() == Some(&FormulaToken::Close)).then_some(())?;
                self.pos += 1;
                Some(inner)
            }
            FormulaToken::Name(name) => {
                self.pos += 1;
                if self.peek() == Some(&FormulaToken::Open) {
                    (self.tokens.get(self.pos + 1) == Some(&FormulaToken::Close)).then_some(())?;
                    self.pos += 2;
                    if name.eq_ignore_ascii_case("TODAY") {
                        Some(RawFormula::Today)
                    } else if name.eq_ignore_ascii_case("NOW") {
                        Some(RawFormula::Now)
                    } else {
                        None
                    }
                } else {
                    Some(RawFormula::Name(name))
                }
            }
            _ => None,
        };
        self.depth -= 1;
        result
    }
}

pub(super) fn formula_type(formula: &Formula) -> Option<FormulaType> {
    use FormulaType::*;
    Some(match formula {
        Formula::Number(_) => Number,
        Formula::Today => Date,
        Formula::Now => DateTime,
        Formula::Field(path) => match path.field_type {
            FieldType::Date => Date,
            FieldType::DateTime => DateTime,
            _ => Number,
        },
        Formula::Negate(inner) => match formula_type(inner)? {
            Number => Number,
            _ => return None,
        },
        Formula::Binary(op, a, b) => match (formula_type(a)?, *op, formula_type(b)?) {
            (Number, _, Number) => Number,
            (Date, '-', Date) | (DateTime, '-', DateTime) => Number,
            (Date, '+' | '-', Number) | (Number, '+', Date) => Date,
            (DateTime, '+' | '-', Number) | (Number, '+', DateTime) => DateTime,
            _ => return None,
        },
    })
}
