//! Just enough XML for S3's answers: a small element tree, and escaping for the one body we send.
//!
//! Handles the prolog, comments, CDATA, attributes (skipped), namespace
//! prefixes (dropped) and the five named entities plus numeric references;
//! refuses DOCTYPE (no entity expansion) and anything nested deeper than
//! [`MAX_DEPTH`].

/// How deep elements may nest; S3's answers need four.
pub const MAX_DEPTH: usize = 32;

/// An element: its local name, child elements, and its text (all text directly inside it, joined).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Element {
    /// The name without any namespace prefix.
    pub name: String,
    /// Child elements in order.
    pub children: Vec<Element>,
    /// The text directly inside the element, entities decoded.
    pub text: String,
}

impl Element {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child named `name`.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of the first child named `name`.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }
}

/// What is wrong with a document, and at which byte where that helps.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("unclosed <? at byte {at}")]
    UnclosedProcessing { at: usize },
    #[error("unclosed comment at byte {at}")]
    UnclosedComment { at: usize },
    #[error("unclosed CDATA at byte {at}")]
    UnclosedCdata { at: usize },
    #[error("CDATA outside the root at byte {at}")]
    CdataOutsideRoot { at: usize },
    #[error("DOCTYPE or declaration at byte {at} not supported")]
    Declaration { at: usize },
    #[error("unclosed end tag at byte {at}")]
    UnclosedEndTag { at: usize },
    #[error("stray </{name}> at byte {at}")]
    StrayEndTag { name: String, at: usize },
    #[error("</{name}> closes <{open}> at byte {at}")]
    Mismatched {
        name: String,
        open: String,
        at: usize,
    },
    #[error("unclosed tag at byte {at}")]
    UnclosedTag { at: usize },
    #[error("a tag without a name at byte {at}")]
    NoName { at: usize },
    #[error("a second root element at byte {at}")]
    SecondRoot { at: usize },
    #[error("elements nested deeper than {MAX_DEPTH}")]
    TooDeep,
    #[error("text outside the root at byte {at}")]
    TextOutsideRoot { at: usize },
    #[error("<{name}> is never closed")]
    NeverClosed { name: String },
    #[error("no element")]
    NoElement,
    #[error("unterminated entity in {raw:?}")]
    UnterminatedEntity { raw: String },
    #[error("unknown entity &{entity};")]
    UnknownEntity { entity: String },
}

/// Parses a document into its root element; the error says what is wrong and at which byte.
pub fn parse(text: &str) -> Result<Element, XmlError> {
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut rest = text.strip_prefix('\u{feff}').unwrap_or(text);
    let at = |rest: &str| text.len() - rest.len();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<?") {
            rest = skip_past(after, "?>").ok_or(XmlError::UnclosedProcessing { at: at(rest) })?;
        } else if let Some(after) = rest.strip_prefix("<!--") {
            rest = skip_past(after, "-->").ok_or(XmlError::UnclosedComment { at: at(rest) })?;
        } else if let Some(after) = rest.strip_prefix("<![CDATA[") {
            let end = after
                .find("]]>")
                .ok_or(XmlError::UnclosedCdata { at: at(rest) })?;
            let (data, tail) = after.split_at(end);
            match stack.last_mut() {
                Some(open) => open.text.push_str(data),
                None => return Err(XmlError::CdataOutsideRoot { at: at(rest) }),
            }
            rest = tail.get(3..).unwrap_or_default();
        } else if rest.starts_with("<!") {
            return Err(XmlError::Declaration { at: at(rest) });
        } else if let Some(after) = rest.strip_prefix("</") {
            let end = after
                .find('>')
                .ok_or(XmlError::UnclosedEndTag { at: at(rest) })?;
            let name = local_name(after.get(..end).unwrap_or_default().trim());
            let Some(element) = stack.pop() else {
                return Err(XmlError::StrayEndTag {
                    name: name.to_owned(),
                    at: at(rest),
                });
            };
            if element.name != name {
                return Err(XmlError::Mismatched {
                    name: name.to_owned(),
                    open: element.name,
                    at: at(rest),
                });
            }
            close(element, &mut stack, &mut root, at(rest))?;
            rest = after.get(end + 1..).unwrap_or_default();
        } else if let Some(after) = rest.strip_prefix('<') {
            let end = tag_end(after).ok_or(XmlError::UnclosedTag { at: at(rest) })?;
            let inside = after.get(..end).unwrap_or_default();
            let self_closing = inside.ends_with('/');
            let inside = inside.strip_suffix('/').unwrap_or(inside);
            let name_end = inside
                .find(|c: char| c.is_whitespace())
                .unwrap_or(inside.len());
            let name = local_name(inside.get(..name_end).unwrap_or_default());
            if name.is_empty() {
                return Err(XmlError::NoName { at: at(rest) });
            }
            if root.is_some() && stack.is_empty() {
                return Err(XmlError::SecondRoot { at: at(rest) });
            }
            let element = Element {
                name: name.to_owned(),
                ..Element::default()
            };
            if self_closing {
                close(element, &mut stack, &mut root, at(rest))?;
            } else {
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooDeep);
                }
                stack.push(element);
            }
            rest = after.get(end + 1..).unwrap_or_default();
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            let (raw, tail) = rest.split_at(end);
            match stack.last_mut() {
                Some(open) => open.text.push_str(&unescape(raw)?),
                None if raw.trim().is_empty() => {}
                None => return Err(XmlError::TextOutsideRoot { at: at(rest) }),
            }
            rest = tail;
        }
    }
    if let Some(open) = stack.last() {
        return Err(XmlError::NeverClosed {
            name: open.name.clone(),
        });
    }
    root.ok_or(XmlError::NoElement)
}

fn close(
    element: Element,
    stack: &mut [Element],
    root: &mut Option<Element>,
    at: usize,
) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None if root.is_none() => *root = Some(element),
        None => return Err(XmlError::SecondRoot { at }),
    }
    Ok(())
}

fn skip_past<'a>(text: &'a str, end: &str) -> Option<&'a str> {
    let at = text.find(end)?;
    text.get(at + end.len()..)
}

/// Where the tag ends (`>`), skipping quoted attribute values.
fn tag_end(text: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some(i),
            (None, '<') => return None,
            (None, _) => {}
        }
    }
    None
}

fn local_name(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

/// Decodes `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;`, `&#N;` and `&#xN;`.
pub fn unescape(raw: &str) -> Result<String, XmlError> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp).unwrap_or_default());
        let after = rest.get(amp + 1..).unwrap_or_default();
        let semi =
            after
                .find(';')
                .filter(|&s| s <= 10)
                .ok_or_else(|| XmlError::UnterminatedEntity {
                    raw: raw.to_owned(),
                })?;
        let entity = after.get(..semi).unwrap_or_default();
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(h) = entity.strip_prefix("#x").or(entity.strip_prefix("#X"))
                {
                    u32::from_str_radix(h, 16).ok()
                } else if let Some(d) = entity.strip_prefix('#') {
                    d.parse().ok()
                } else {
                    None
                };
                code.and_then(char::from_u32)
                    .ok_or_else(|| XmlError::UnknownEntity {
                        entity: entity.to_owned(),
                    })?
            }
        };
        out.push(c);
        rest = after.get(semi + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    Ok(out)
}

/// Escapes text for an element's content.
pub fn escape(text: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_list_page() {
        let doc = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>p/</Prefix>
  <KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>
  <Contents><Key>p/a &amp; b&lt;c&#x3e;&#233;</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified>
    <ETag>&quot;abc&quot;</ETag><Size>12</Size><Owner><ID>x</ID></Owner><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key><![CDATA[p/<raw>]]></Key><Size>0</Size></Contents>
  <NextContinuationToken>tok/en+=</NextContinuationToken><StartAfter/>
</ListBucketResult>"#;
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "ListBucketResult");
        assert_eq!(root.child_text("IsTruncated"), Some("true"));
        assert_eq!(root.child_text("NextContinuationToken"), Some("tok/en+="));
        assert_eq!(root.child_text("StartAfter"), Some(""));
        let keys: Vec<(&str, &str)> = root
            .children_named("Contents")
            .map(|c| (c.child_text("Key").unwrap(), c.child_text("Size").unwrap()))
            .collect();
        assert_eq!(keys, [("p/a & b<c>é", "12"), ("p/<raw>", "0")]);
        assert_eq!(
            root.child("Contents").unwrap().child_text("ETag"),
            Some("\"abc\"")
        );
    }

    #[test]
    fn parses_an_error_with_prefixes_attributes_and_comments() {
        let doc = "<!-- hi --><s3:Error a='1>2' b=\"x\"><Code>NoSuchBucket</Code>\
                   <Message>The specified bucket does not exist</Message></s3:Error>\n";
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "Error");
        assert_eq!(root.child_text("Code"), Some("NoSuchBucket"));
    }

    #[test]
    fn refuses_malformed_documents() {
        for bad in [
            "",
            "just text",
            "<a>",
            "<a></b>",
            "</a>",
            "<a/><b/>",
            "<a>&bogus;</a>",
            "<a>&amp</a>",
            "<!DOCTYPE x [<!ENTITY e \"boom\">]><a>&e;</a>",
            "<a attr='unclosed></a>",
            "<>",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
        for (bad, message) in [
            ("<a></b>", "</b> closes <a> at byte 3"),
            ("<a>&bogus;</a>", "unknown entity &bogus;"),
            ("<a>&amp</a>", "unterminated entity in \"&amp\""),
            (
                "<!DOCTYPE x><a/>",
                "DOCTYPE or declaration at byte 0 not supported",
            ),
            ("", "no element"),
        ] {
            assert_eq!(parse(bad).unwrap_err().to_string(), message, "{bad:?}");
        }
    }

    #[test]
    fn refuses_deep_nesting() {
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert!(parse(&deep).is_err());
        let ok = "<a>".repeat(MAX_DEPTH) + &"</a>".repeat(MAX_DEPTH);
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn escape_and_unescape_round_trip() {
        let text = r#"a&b<c>"d"'e' é"#;
        assert_eq!(unescape(&escape(text)).unwrap(), text);
        assert_eq!(escape("\"etag\""), "&quot;etag&quot;");
    }
}
