//! `--set KEY=VALUE` overrides: a dotted key path into the scenario document and a TOML
//! value, applied to the parsed document before validation, so an override is checked
//! exactly like the same value written in the file.

use std::fmt;
use std::str::FromStr;

/// One `KEY=VALUE` assignment.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    path: Vec<String>,
    value: toml::Value,
    text: String,
}

impl Override {
    /// Sets `path` (dot-separated keys) to `value`.
    pub fn new(path: &str, value: toml::Value) -> Self {
        Override {
            path: path.split('.').map(str::to_owned).collect(),
            text: format!("{path}={value}"),
            value,
        }
    }

    /// Writes the value into `document`, creating intermediate tables as needed.
    pub(crate) fn apply(&self, document: &mut toml::Table) -> Result<(), String> {
        let (last, parents) = self.path.split_last().expect("parsing rejects empty paths");
        let mut table = document;
        let mut depth = 0;
        while depth < parents.len() {
            let key = &parents[depth];
            let here = self.path[..=depth].join(".");
            let entry =
                table.entry(key.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
            table = match entry {
                toml::Value::Table(inner) => {
                    depth += 1;
                    inner
                }
                // An array of tables (`[[agents]]`) is entered through one element, named by
                // its `name` or its index: `agents.hpa.period`, `agents.0.period`.
                toml::Value::Array(items) => {
                    let Some(pick) = parents.get(depth + 1) else {
                        return Err(format!(
                            "`{here}` is a list: name one of its elements (by its `name` or index) before the key, as in `{here}.<name>.{last}`"
                        ));
                    };
                    let named = items.iter().position(|item| {
                        item.get("name").and_then(toml::Value::as_str) == Some(pick.as_str())
                    });
                    let index =
                        named.or_else(|| pick.parse::<usize>().ok().filter(|&i| i < items.len()));
                    let Some(index) = index else {
                        return Err(format!("`{here}` has no element named `{pick}`"));
                    };
                    depth += 2;
                    match &mut items[index] {
                        toml::Value::Table(inner) => inner,
                        other => {
                            return Err(format!(
                                "`{here}.{pick}` holds a value of type {}, not a table",
                                other.type_str()
                            ))
                        }
                    }
                }
                other => {
                    return Err(format!(
                        "`{here}` holds a value of type {}, not a table, so it has no key `{}`",
                        other.type_str(),
                        self.path[depth + 1]
                    ))
                }
            };
        }
        table.insert(last.clone(), self.value.clone());
        Ok(())
    }
}

impl FromStr for Override {
    type Err = String;

    /// Parses `KEY=VALUE`. The value is read as TOML (`16`, `0.5`, `true`, `["a", "b"]`,
    /// `{ dist = "constant", value = 0 }`); anything that is not valid TOML is taken as a
    /// plain string, so `--set classes.web.service=api` needs no quotes.
    fn from_str(text: &str) -> Result<Self, String> {
        let (key, raw) = text.split_once('=').ok_or_else(|| {
            format!("`{text}` is not KEY=VALUE (for example services.api.replicas=4)")
        })?;
        let key = key.trim();
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(format!(
                "`{key}` is not a dotted key path (for example services.api.replicas)"
            ));
        }
        let raw = raw.trim();
        let value = format!("v = {raw}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.to_owned()));
        let mut parsed = Override::new(key, value);
        parsed.text = format!("{key}={raw}");
        Ok(parsed)
    }
}

impl fmt::Display for Override {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> toml::Table {
        text.parse().unwrap()
    }

    #[test]
    fn an_element_of_an_array_of_tables_is_named_by_its_name_or_index() {
        let mut d =
            doc("[[agents]]\nname = \"a\"\nperiod = 1\n[[agents]]\nname = \"b\"\nperiod = 2\n");
        "agents.b.period=5".parse::<Override>().unwrap().apply(&mut d).unwrap();
        "agents.0.window=7".parse::<Override>().unwrap().apply(&mut d).unwrap();
        assert_eq!(d["agents"][1]["period"].as_integer(), Some(5));
        assert_eq!(d["agents"][0]["window"].as_integer(), Some(7));
        let err = "agents.c.period=5".parse::<Override>().unwrap().apply(&mut d).unwrap_err();
        assert!(err.contains("no element named `c`"), "{err}");
        let err = "agents.period=5".parse::<Override>().unwrap().apply(&mut d).unwrap_err();
        assert!(err.contains("is a list"), "{err}");
    }

    #[test]
    fn values_are_typed_as_toml_and_fall_back_to_strings() {
        let set: Override = "services.api.concurrency=16".parse().unwrap();
        let mut d = doc("[services.api]\nconcurrency = 4\n");
        set.apply(&mut d).unwrap();
        assert_eq!(d["services"]["api"]["concurrency"].as_integer(), Some(16));

        let set: Override = "classes.web.service=db".parse().unwrap();
        set.apply(&mut d).unwrap();
        assert_eq!(d["classes"]["web"]["service"].as_str(), Some("db"));

        let set: Override = "policies=[\"random\", \"round_robin\"]".parse().unwrap();
        set.apply(&mut d).unwrap();
        assert_eq!(d["policies"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn bad_assignments_are_explained() {
        assert!("novalue".parse::<Override>().unwrap_err().contains("KEY=VALUE"));
        assert!("a..b=1".parse::<Override>().unwrap_err().contains("dotted key path"));
        let set: Override = "duration.x=1".parse().unwrap();
        let err = set.apply(&mut doc("duration = 5\n")).unwrap_err();
        assert!(err.contains("`duration` holds a value of type integer, not a table"), "{err}");
    }
}
