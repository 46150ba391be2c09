//! CloudWatch Logs' filter patterns, the term forms: `a b` (both), `"a phrase"`, `?a ?b` (either),
//! `-a` (not). Matching is case-sensitive, as CloudWatch's is. JSON and space-delimited patterns
//! (`{ $.x = 1 }`, `[ip, user, ...]`) are refused as invalid here.

use crate::LogsError;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pattern {
    all: Vec<String>,
    any: Vec<String>,
    none: Vec<String>,
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, LogsError> {
        let text = text.trim();
        if text.starts_with('{') || text.starts_with('[') {
            return Err(LogsError::InvalidParameter(
                "Invalid filter pattern: lambkin supports term patterns (terms, \"phrases\", ?either, -not), not JSON or space-delimited ones".into(),
            ));
        }
        let mut pattern = Pattern::default();
        let mut rest = text;
        while !rest.is_empty() {
            let (prefix, body) = match rest.as_bytes()[0] {
                b'?' => (Some('?'), &rest[1..]),
                b'-' if rest.len() > 1 => (Some('-'), &rest[1..]),
                _ => (None, rest),
            };
            let (term, after) = if let Some(quoted) = body.strip_prefix('"') {
                let end = quoted.find('"').ok_or_else(|| {
                    LogsError::InvalidParameter("Invalid filter pattern: unterminated quote".into())
                })?;
                (&quoted[..end], &quoted[end + 1..])
            } else {
                let end = body.find(char::is_whitespace).unwrap_or(body.len());
                (&body[..end], &body[end..])
            };
            if !term.is_empty() {
                let list = match prefix {
                    Some('?') => &mut pattern.any,
                    Some('-') => &mut pattern.none,
                    _ => &mut pattern.all,
                };
                list.push(term.to_string());
            }
            rest = after.trim_start();
        }
        Ok(pattern)
    }

    pub fn matches(&self, message: &str) -> bool {
        self.all.iter().all(|t| message.contains(t.as_str()))
            && (self.any.is_empty() || self.any.iter().any(|t| message.contains(t.as_str())))
            && !self.none.iter().any(|t| message.contains(t.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, message: &str) -> bool {
        Pattern::parse(pattern).expect("pattern").matches(message)
    }

    #[test]
    fn the_term_forms() {
        assert!(m("", "anything"));
        assert!(m("ERROR timeout", "ERROR: a timeout"));
        assert!(!m("ERROR timeout", "ERROR only"));
        assert!(!m("error", "ERROR"), "case-sensitive");
        assert!(m("\"took too long\"", "it took too long"));
        assert!(!m("\"took too long\"", "too long it took"));
        assert!(m("?WARN ?ERROR", "an ERROR"));
        assert!(!m("?WARN ?ERROR", "INFO"));
        assert!(m("ERROR -retry", "ERROR final"));
        assert!(!m("ERROR -retry", "ERROR will retry"));
        assert!(m("-", "a dash is a term: -"));
    }

    #[test]
    fn json_patterns_and_open_quotes_are_invalid() {
        assert!(Pattern::parse("{ $.level = \"ERROR\" }").is_err());
        assert!(Pattern::parse("\"open").is_err());
    }
}
