//! Typed records of the three foundational sources, borrowing from the decoded input
//! where that is cheap (strings without escapes, raw JSON sub-documents).

mod cloudtrail;
mod dns;
mod flow;

pub use cloudtrail::{CloudTrailRecord, SessionIssuer, UserIdentity};
pub use dns::{ResolverAnswer, ResolverRecord, ResolverSrcIds};
pub use flow::{FlowAction, FlowField, FlowFormat, FlowRecord, LogStatus};

/// One decoded record of any source.
// Flow records are the hot path (millions per second): kept inline, not boxed, to avoid an
// allocation per line; the rarer JSON records are boxed instead.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Record<'a> {
    /// A CloudTrail event.
    CloudTrail(Box<CloudTrailRecord<'a>>),
    /// A VPC Flow Logs record.
    Flow(FlowRecord<'a>),
    /// A Route 53 Resolver query-log record.
    Dns(Box<ResolverRecord<'a>>),
}
