//! XML bodies: a small, DOM-less view sufficient for SecLang `XML:/*` and `XML://@*`, and for simple XPath
//! evaluation over elements.
//!
//! What is kept, in document order: every element (qualified name, parent, attributes, and the range of the
//! document text that lies inside it) and the concatenated text of the root element. The text is what XPath
//! calls the string value: all descendant text and CDATA, with comments and processing instructions left out,
//! whitespace kept (libxml2 keeps blanks by default), character and predefined entity references resolved, and
//! line ends normalised to LF. Attribute values are unescaped and their literal tabs and line ends turned into
//! spaces (XML attribute-value normalisation); `xmlns` declarations are not attributes (as in XPath).
//!
//! Security: any `<!DOCTYPE ...>` is refused ([`Error::XmlDoctype`]), so no entity can be declared, expanded or
//! fetched (no XXE, no billion laughs); a reference to an undeclared entity is an error, as in libxml2. Nesting
//! deeper than [`MAX_DEPTH`] (libxml2's default limit) is an error. Documents must be well-formed: one root
//! element, matching end tags, no text outside the root.

use std::ops::Range;

use quick_xml::events::Event;
use quick_xml::reader::Reader;

use crate::error::Error;

/// The deepest element nesting accepted (libxml2's default without `XML_PARSE_HUGE`).
pub const MAX_DEPTH: usize = 256;

/// One element of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlElement {
    /// The qualified name as written (e.g. `soap:Envelope`).
    pub name: Vec<u8>,
    /// The index of the parent element in [`XmlDoc::elements`] (`None` for the root).
    pub parent: Option<usize>,
    /// The attributes (qualified name, unescaped value) in document order, without `xmlns` declarations.
    pub attributes: Vec<(Vec<u8>, Vec<u8>)>,
    /// The range of [`XmlDoc::text`] holding this element's string value.
    pub text_range: Range<usize>,
}

/// A parsed XML document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct XmlDoc {
    /// The root element's name.
    pub root_name: Vec<u8>,
    /// The XPath string value of the root element: all descendant text and CDATA, concatenated.
    pub text: Vec<u8>,
    /// Every attribute in document order as (element name, attribute name, value), values unescaped.
    pub attributes: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>,
    /// Every element in document order (the root first).
    pub elements: Vec<XmlElement>,
}

impl XmlDoc {
    /// The value of SecLang `XML:/*`: the string value of the root element.
    pub fn root_string_value(&self) -> &[u8] {
        &self.text
    }

    /// The values of SecLang `XML://@*`: every attribute value in document order.
    pub fn attribute_values(&self) -> impl Iterator<Item = &[u8]> {
        self.attributes.iter().map(|(_, _, v)| v.as_slice())
    }

    /// The string value of element `index` (all its descendant text).
    pub fn element_text(&self, index: usize) -> &[u8] {
        self.elements
            .get(index)
            .and_then(|e| self.text.get(e.text_range.clone()))
            .unwrap_or(&[])
    }
}

fn xml_err(offset: u64, message: impl Into<String>) -> Error {
    Error::Xml {
        offset,
        message: message.into(),
    }
}

/// Appends text with XML line-end normalisation (CRLF and lone CR become LF).
fn push_text(out: &mut Vec<u8>, text: &[u8]) {
    let mut prev_cr = false;
    for &b in text {
        match b {
            b'\r' => {
                out.push(b'\n');
                prev_cr = true;
                continue;
            }
            b'\n' if prev_cr => {}
            _ => out.push(b),
        }
        prev_cr = false;
    }
}

/// Resolves the reference `&name;` (`name` without `&` and `;`) to UTF-8 bytes.
fn resolve_ref(name: &[u8]) -> Option<Vec<u8>> {
    let ch = match name {
        b"lt" => '<',
        b"gt" => '>',
        b"amp" => '&',
        b"apos" => '\'',
        b"quot" => '"',
        [b'#', b'x', hex @ ..] => {
            char::from_u32(u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?)?
        }
        [b'#', dec @ ..] => char::from_u32(std::str::from_utf8(dec).ok()?.parse().ok()?)?,
        _ => return None,
    };
    let mut buf = [0u8; 4];
    Some(ch.encode_utf8(&mut buf).as_bytes().to_vec())
}

/// Unescapes and normalises an attribute value.
fn attribute_value(raw: &[u8], offset: u64) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        match b {
            b'&' => {
                let rest = raw.get(i + 1..).unwrap_or(&[]);
                let end = rest
                    .iter()
                    .position(|&c| c == b';')
                    .ok_or_else(|| xml_err(offset, "unterminated entity reference in attribute"))?;
                let name = rest.get(..end).unwrap_or(&[]);
                let resolved = resolve_ref(name).ok_or_else(|| {
                    xml_err(
                        offset,
                        format!("Entity '{}' not defined", String::from_utf8_lossy(name)),
                    )
                })?;
                out.extend_from_slice(&resolved);
                i += end + 2;
            }
            b'<' => return Err(xml_err(offset, "'<' in attribute value")),
            b'\t' | b'\n' | b'\r' => {
                if !(b == b'\n' && i > 0 && raw.get(i - 1) == Some(&b'\r')) {
                    out.push(b' ');
                }
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Parses an XML body (see the module docs for what is accepted and kept).
pub fn parse(body: &[u8]) -> Result<XmlDoc, Error> {
    let mut reader = Reader::from_reader(body);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.check_comments = true;
    config.trim_text(false);

    let mut doc = XmlDoc::default();
    let mut open: Vec<usize> = Vec::new();
    let mut root_done = false;
    loop {
        let pos = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| xml_err(reader.error_position(), e.to_string()))?;
        let in_root = !open.is_empty();
        match event {
            Event::DocType(_) => return Err(Error::XmlDoctype),
            Event::Start(ref start) | Event::Empty(ref start) => {
                if !in_root && root_done {
                    return Err(xml_err(pos, "Extra content at the end of the document"));
                }
                if open.len() >= MAX_DEPTH {
                    return Err(Error::XmlDepth { limit: MAX_DEPTH });
                }
                let name = start.name().as_ref().to_vec();
                let mut attributes = Vec::new();
                for attr in start.attributes().with_checks(true) {
                    let attr = attr.map_err(|e| xml_err(pos, e.to_string()))?;
                    let key = attr.key.as_ref();
                    let value = attribute_value(&attr.value, pos)?;
                    if key == b"xmlns" || key.starts_with(b"xmlns:") {
                        continue;
                    }
                    doc.attributes
                        .push((name.clone(), key.to_vec(), value.clone()));
                    attributes.push((key.to_vec(), value));
                }
                if doc.elements.is_empty() {
                    doc.root_name = name.clone();
                }
                let index = doc.elements.len();
                let start_text = doc.text.len();
                doc.elements.push(XmlElement {
                    name,
                    parent: open.last().copied(),
                    attributes,
                    text_range: start_text..start_text,
                });
                if matches!(event, Event::Start(_)) {
                    open.push(index);
                } else if open.is_empty() {
                    root_done = true;
                }
            }
            Event::End(_) => {
                let Some(index) = open.pop() else {
                    return Err(xml_err(pos, "unexpected end tag"));
                };
                let end = doc.text.len();
                if let Some(el) = doc.elements.get_mut(index) {
                    el.text_range.end = end;
                }
                if open.is_empty() {
                    root_done = true;
                }
            }
            Event::Text(text) => {
                if in_root {
                    push_text(&mut doc.text, &text);
                } else if !text.iter().all(u8::is_ascii_whitespace) {
                    return Err(xml_err(
                        pos,
                        "Start tag expected or content outside the root element",
                    ));
                }
            }
            Event::CData(cdata) => {
                if !in_root {
                    return Err(xml_err(pos, "CDATA outside the root element"));
                }
                push_text(&mut doc.text, &cdata);
            }
            Event::GeneralRef(r) => {
                if !in_root {
                    return Err(xml_err(pos, "reference outside the root element"));
                }
                let resolved = resolve_ref(&r).ok_or_else(|| {
                    xml_err(
                        pos,
                        format!("Entity '{}' not defined", String::from_utf8_lossy(&r)),
                    )
                })?;
                doc.text.extend_from_slice(&resolved);
            }
            Event::Comment(_) | Event::PI(_) | Event::Decl(_) => {}
            Event::Eof => break,
        }
    }
    if !open.is_empty() {
        return Err(xml_err(reader.buffer_position(), "Premature end of data"));
    }
    if doc.elements.is_empty() {
        return Err(xml_err(0, "Document is empty"));
    }
    Ok(doc)
}

#[cfg(test)]
mod tests;
