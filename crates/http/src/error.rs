//! AWS errors and how each protocol renders them.

use bytes::Bytes;
use http::{HeaderValue, StatusCode};

use crate::service::Reply;
use crate::xml::XmlWriter;

/// The wire protocol of a service, which decides how requests name operations and how
/// errors are rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// AWS Query: form-encoded `Action=...`, XML replies (IAM, STS).
    Query {
        /// The XML namespace of the service's replies.
        xmlns: &'static str,
    },
    /// AWS JSON 1.0/1.1: `X-Amz-Target: <prefix>.<Op>` (KMS, WAFv2, CloudTrail).
    Json {
        /// The target prefix, e.g. `TrentService`.
        target_prefix: &'static str,
        /// `application/x-amz-json-1.1` or `-1.0`.
        content_type: &'static str,
    },
    /// REST-JSON: method + path (GuardDuty, Inspector2).
    RestJson,
}

impl Protocol {
    /// Guesses the protocol from a request before its service is known, so that early
    /// errors (no credentials, unknown service) come back in a shape the client parses.
    pub fn guess(headers: &http::HeaderMap) -> Protocol {
        let ct = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if headers.contains_key("x-amz-target") || ct.starts_with("application/x-amz-json") {
            Protocol::Json {
                target_prefix: "",
                content_type: "application/x-amz-json-1.1",
            }
        } else if ct.starts_with("application/json") {
            Protocol::RestJson
        } else {
            Protocol::Query {
                xmlns: "https://iam.amazonaws.com/doc/2010-05-08/",
            }
        }
    }

    /// Whether this protocol names errors in the JSON style (`...Exception`).
    pub fn is_json(self) -> bool {
        !matches!(self, Protocol::Query { .. })
    }
}

/// An error as an AWS client sees it: an HTTP status, a code and a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AwsError {
    /// HTTP status.
    pub status: StatusCode,
    /// The AWS error code (`NoSuchEntity`, `AccessDeniedException`, ...).
    pub code: String,
    /// Human-readable text.
    pub message: String,
    /// Whether the client (`Sender`) or the server (`Receiver`) is at fault.
    pub sender_fault: bool,
    /// Further members of the JSON error body the model defines for this error (WAF's `Field`, `Parameter`,
    /// `Reason`); not rendered in the XML protocols.
    pub members: serde_json::Map<String, serde_json::Value>,
}

impl AwsError {
    /// A client error (4xx, `Sender`).
    pub fn client(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            sender_fault: true,
            members: serde_json::Map::new(),
        }
    }

    /// Adds a member to the JSON error body.
    pub fn with_member(mut self, name: &str, value: impl Into<serde_json::Value>) -> Self {
        self.members.insert(name.to_owned(), value.into());
        self
    }

    /// A 400 client error.
    pub fn bad_request(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::client(StatusCode::BAD_REQUEST, code, message)
    }

    /// A 500 with a generic message; the cause belongs in the server log, not the reply.
    pub fn internal() -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "InternalFailure".into(),
            message: "The request processing has failed because of an unknown error.".into(),
            sender_fault: false,
            members: serde_json::Map::new(),
        }
    }

    /// A 503: a dependency (the store) is unavailable.
    pub fn unavailable() -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "ServiceUnavailable".into(),
            message: "The request has failed due to a temporary failure of the server.".into(),
            sender_fault: false,
            members: serde_json::Map::new(),
        }
    }

    /// Renders the error in the given protocol.
    pub fn render(&self, protocol: Protocol, request_id: &str) -> Reply {
        match protocol {
            Protocol::Query { xmlns } => {
                let mut w = XmlWriter::new();
                w.open_ns("ErrorResponse", xmlns);
                w.open("Error");
                w.leaf(
                    "Type",
                    if self.sender_fault {
                        "Sender"
                    } else {
                        "Receiver"
                    },
                );
                w.leaf("Code", &self.code);
                w.leaf("Message", &self.message);
                w.close("Error");
                w.leaf("RequestId", request_id);
                w.close("ErrorResponse");
                Reply::new(self.status, "text/xml", Bytes::from(w.finish()))
            }
            Protocol::Json { content_type, .. } => {
                let mut body = self.members.clone();
                body.insert("__type".into(), self.code.clone().into());
                body.insert("message".into(), self.message.clone().into());
                let body = serde_json::Value::Object(body);
                let mut r = Reply::new(self.status, content_type, Bytes::from(body.to_string()));
                if let Ok(v) = HeaderValue::from_str(&self.code) {
                    r.headers.insert("x-amzn-errortype", v);
                }
                r
            }
            Protocol::RestJson => {
                let mut body = self.members.clone();
                body.insert("__type".into(), self.code.clone().into());
                body.insert("message".into(), self.message.clone().into());
                body.insert("Message".into(), self.message.clone().into());
                let body = serde_json::Value::Object(body);
                let mut r = Reply::new(
                    self.status,
                    "application/json",
                    Bytes::from(body.to_string()),
                );
                if let Ok(v) = HeaderValue::from_str(&self.code) {
                    r.headers.insert("x-amzn-errortype", v);
                }
                r
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_errors_are_error_response_xml() {
        let e = AwsError::bad_request("NoSuchEntity", "The user with name bob cannot be found.");
        let r = e.render(
            Protocol::Query {
                xmlns: "https://iam.amazonaws.com/doc/2010-05-08/",
            },
            "rid-1",
        );
        let body = String::from_utf8(r.body.to_vec()).unwrap();
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(body.contains("<Code>NoSuchEntity</Code>"));
        assert!(body.contains("<Type>Sender</Type>"));
        assert!(body.contains("<RequestId>rid-1</RequestId>"));
    }

    #[test]
    fn json_errors_carry_type_and_header() {
        let e = AwsError::bad_request("NotFoundException", "Key 'x' does not exist");
        let r = e.render(
            Protocol::Json {
                target_prefix: "TrentService",
                content_type: "application/x-amz-json-1.1",
            },
            "rid",
        );
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["__type"], "NotFoundException");
        assert_eq!(r.headers["x-amzn-errortype"], "NotFoundException");
    }

    #[test]
    fn guesses_protocol() {
        let mut h = http::HeaderMap::new();
        assert!(matches!(Protocol::guess(&h), Protocol::Query { .. }));
        h.insert(
            "x-amz-target",
            HeaderValue::from_static("TrentService.ListKeys"),
        );
        assert!(Protocol::guess(&h).is_json());
    }
}
