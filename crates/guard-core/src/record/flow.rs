//! VPC Flow Logs records: the version 2 default line and custom formats (versions 3–8)
//! given by a header line of field names. `-` means "not applicable" and becomes `None`.

use std::net::IpAddr;

use crate::error::{GuardError, clip};

macro_rules! flow_fields {
    ($($variant:ident => $name:literal,)*) => {
        /// A VPC Flow Logs field, as named in a flow-log format string.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum FlowField { $($variant,)* }

        impl FlowField {
            /// Every field, in the order of the VPC user guide.
            pub const ALL: &'static [FlowField] = &[$(FlowField::$variant,)*];

            /// The field's name in a format string (`srcaddr`, `tcp-flags`, ...).
            pub fn name(self) -> &'static str {
                match self { $(FlowField::$variant => $name,)* }
            }

            /// Looks a field up by name; accepts the `${name}` form of format strings.
            pub fn from_name(name: &str) -> Option<Self> {
                let name = name
                    .strip_prefix("${")
                    .and_then(|n| n.strip_suffix('}'))
                    .unwrap_or(name);
                match name { $($name => Some(FlowField::$variant),)* _ => None }
            }
        }
    };
}

flow_fields! {
    Version => "version",
    AccountId => "account-id",
    InterfaceId => "interface-id",
    SrcAddr => "srcaddr",
    DstAddr => "dstaddr",
    SrcPort => "srcport",
    DstPort => "dstport",
    Protocol => "protocol",
    Packets => "packets",
    Bytes => "bytes",
    Start => "start",
    End => "end",
    Action => "action",
    LogStatus => "log-status",
    VpcId => "vpc-id",
    SubnetId => "subnet-id",
    InstanceId => "instance-id",
    TcpFlags => "tcp-flags",
    Type => "type",
    PktSrcAddr => "pkt-srcaddr",
    PktDstAddr => "pkt-dstaddr",
    Region => "region",
    AzId => "az-id",
    SublocationType => "sublocation-type",
    SublocationId => "sublocation-id",
    PktSrcAwsService => "pkt-src-aws-service",
    PktDstAwsService => "pkt-dst-aws-service",
    FlowDirection => "flow-direction",
    TrafficPath => "traffic-path",
    EcsClusterArn => "ecs-cluster-arn",
    EcsClusterName => "ecs-cluster-name",
    EcsContainerInstanceArn => "ecs-container-instance-arn",
    EcsContainerInstanceId => "ecs-container-instance-id",
    EcsContainerId => "ecs-container-id",
    EcsSecondContainerId => "ecs-second-container-id",
    EcsServiceName => "ecs-service-name",
    EcsTaskDefinitionArn => "ecs-task-definition-arn",
    EcsTaskArn => "ecs-task-arn",
    EcsTaskId => "ecs-task-id",
    RejectReason => "reject-reason",
}

/// Maximum number of fields in a format (every field once).
const MAX_FIELDS: usize = 64;

/// A flow-log format: the ordered list of fields on each line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowFormat {
    fields: Vec<FlowField>,
}

impl Default for FlowFormat {
    /// The version 2 default format (14 fields).
    fn default() -> Self {
        Self {
            fields: FlowField::ALL.iter().copied().take(14).collect(),
        }
    }
}

impl FlowFormat {
    /// A format from an explicit field list.
    pub fn new(fields: Vec<FlowField>) -> Self {
        Self { fields }
    }

    /// Parses a header line / format string (`version account-id ...` or
    /// `${version} ${account-id} ...`). `None` unless every token is a known field name.
    pub fn parse_header(line: &str) -> Option<Self> {
        let mut fields = Vec::new();
        for tok in line.split_ascii_whitespace() {
            if fields.len() >= MAX_FIELDS {
                return None;
            }
            fields.push(FlowField::from_name(tok)?);
        }
        (!fields.is_empty()).then_some(Self { fields })
    }

    /// The fields in line order.
    pub fn fields(&self) -> &[FlowField] {
        &self.fields
    }

    /// Parses one data line with this format.
    pub fn parse_line<'a>(&self, line: &'a str) -> Result<FlowRecord<'a>, GuardError> {
        let mut rec = FlowRecord {
            line,
            ..FlowRecord::default()
        };
        let mut found = 0usize;
        let mut toks = line.split_ascii_whitespace();
        for &field in &self.fields {
            let Some(tok) = toks.next() else {
                break;
            };
            found += 1;
            rec.set(field, tok)?;
        }
        found += toks.count();
        if found != self.fields.len() {
            return Err(GuardError::FieldCount {
                expected: self.fields.len(),
                found,
            });
        }
        Ok(rec)
    }

    /// The raw text of `field` on `line` (which must be a line of this format).
    pub fn field<'a>(&self, line: &'a str, field: FlowField) -> Option<&'a str> {
        let pos = self.fields.iter().position(|f| *f == field)?;
        line.split_ascii_whitespace().nth(pos).filter(|v| *v != "-")
    }
}

/// `action` of a flow record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowAction {
    /// Traffic accepted by security groups and network ACLs.
    Accept,
    /// Traffic rejected.
    Reject,
}

/// `log-status` of a flow record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStatus {
    /// Data logged normally.
    Ok,
    /// No traffic during the capture window.
    NoData,
    /// Records were skipped during the capture window.
    SkipData,
}

/// One flow record. Absent (`-`) or unselected fields are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct FlowRecord<'a> {
    /// The whole line.
    pub line: &'a str,
    pub version: Option<u8>,
    pub account_id: Option<&'a str>,
    pub interface_id: Option<&'a str>,
    pub srcaddr: Option<IpAddr>,
    pub dstaddr: Option<IpAddr>,
    pub srcport: Option<u16>,
    pub dstport: Option<u16>,
    /// IANA protocol number (1 ICMP, 6 TCP, 17 UDP).
    pub protocol: Option<u8>,
    pub packets: Option<u64>,
    pub bytes: Option<u64>,
    /// Unix seconds.
    pub start: Option<u64>,
    /// Unix seconds.
    pub end: Option<u64>,
    pub action: Option<FlowAction>,
    pub log_status: Option<LogStatus>,
    pub vpc_id: Option<&'a str>,
    pub subnet_id: Option<&'a str>,
    pub instance_id: Option<&'a str>,
    /// Bitwise OR of TCP flags seen (FIN 1, SYN 2, RST 4, SYN-ACK 18).
    pub tcp_flags: Option<u16>,
    pub pkt_srcaddr: Option<IpAddr>,
    pub pkt_dstaddr: Option<IpAddr>,
    pub region: Option<&'a str>,
    /// `ingress` / `egress`.
    pub flow_direction: Option<&'a str>,
    pub reject_reason: Option<&'a str>,
}

fn num<T: std::str::FromStr>(field: FlowField, v: &str) -> Result<T, GuardError> {
    v.parse().map_err(|_| GuardError::FieldValue {
        field: field.name(),
        value: clip(v),
    })
}

/// Parses an address; dotted-quad IPv4 (the common case) by hand, the rest by `std`.
fn ip(field: FlowField, v: &str) -> Result<IpAddr, GuardError> {
    let b = v.as_bytes();
    if b.len() <= 15 && b.iter().all(|c| c.is_ascii_digit() || *c == b'.') {
        let mut octets = [0u8; 4];
        let mut idx = 0usize;
        let mut acc: u16 = 0;
        let mut digits = 0u8;
        let mut ok = true;
        for &c in b {
            if c == b'.' {
                if digits == 0 || idx >= 3 {
                    ok = false;
                    break;
                }
                if let Some(o) = octets.get_mut(idx) {
                    *o = u8::try_from(acc).unwrap_or(0);
                }
                idx += 1;
                acc = 0;
                digits = 0;
            } else {
                // Leading zeros are rejected, as `std` does.
                if digits > 0 && acc == 0 {
                    ok = false;
                    break;
                }
                acc = acc * 10 + u16::from(c - b'0');
                digits += 1;
                if acc > 255 {
                    ok = false;
                    break;
                }
            }
        }
        if ok && digits > 0 && idx == 3 {
            if let Some(o) = octets.get_mut(3) {
                *o = u8::try_from(acc).unwrap_or(0);
            }
            return Ok(IpAddr::from(octets));
        }
        return Err(GuardError::FieldValue {
            field: field.name(),
            value: clip(v),
        });
    }
    num(field, v)
}

impl<'a> FlowRecord<'a> {
    fn set(&mut self, field: FlowField, v: &'a str) -> Result<(), GuardError> {
        if v == "-" {
            return Ok(());
        }
        use FlowField as F;
        match field {
            F::Version => self.version = Some(num(field, v)?),
            F::AccountId => self.account_id = Some(v),
            F::InterfaceId => self.interface_id = Some(v),
            F::SrcAddr => self.srcaddr = Some(ip(field, v)?),
            F::DstAddr => self.dstaddr = Some(ip(field, v)?),
            F::SrcPort => self.srcport = Some(num(field, v)?),
            F::DstPort => self.dstport = Some(num(field, v)?),
            F::Protocol => self.protocol = Some(num(field, v)?),
            F::Packets => self.packets = Some(num(field, v)?),
            F::Bytes => self.bytes = Some(num(field, v)?),
            F::Start => self.start = Some(num(field, v)?),
            F::End => self.end = Some(num(field, v)?),
            F::Action => {
                self.action = Some(match v {
                    "ACCEPT" => FlowAction::Accept,
                    "REJECT" => FlowAction::Reject,
                    _ => {
                        return Err(GuardError::FieldValue {
                            field: field.name(),
                            value: clip(v),
                        });
                    }
                })
            }
            F::LogStatus => {
                self.log_status = Some(match v {
                    "OK" => LogStatus::Ok,
                    "NODATA" => LogStatus::NoData,
                    "SKIPDATA" => LogStatus::SkipData,
                    _ => {
                        return Err(GuardError::FieldValue {
                            field: field.name(),
                            value: clip(v),
                        });
                    }
                })
            }
            F::VpcId => self.vpc_id = Some(v),
            F::SubnetId => self.subnet_id = Some(v),
            F::InstanceId => self.instance_id = Some(v),
            F::TcpFlags => self.tcp_flags = Some(num(field, v)?),
            F::PktSrcAddr => self.pkt_srcaddr = Some(ip(field, v)?),
            F::PktDstAddr => self.pkt_dstaddr = Some(ip(field, v)?),
            F::Region => self.region = Some(v),
            F::FlowDirection => self.flow_direction = Some(v),
            F::RejectReason => self.reject_reason = Some(v),
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_line() {
        let f = FlowFormat::default();
        let r = f
            .parse_line("2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK")
            .unwrap();
        assert_eq!(r.dstport, Some(22));
        assert_eq!(r.srcaddr, Some("172.31.16.139".parse().unwrap()));
        assert_eq!(r.action, Some(FlowAction::Accept));
        assert_eq!(r.bytes, Some(4249));
        assert_eq!(
            f.field(r.line, FlowField::InterfaceId),
            Some("eni-1235b8ca123456789")
        );
    }

    #[test]
    fn nodata_line_has_dashes() {
        let r = FlowFormat::default()
            .parse_line("2 123456789010 eni-1 - - - - - - - 1431280876 1431280934 - NODATA")
            .unwrap();
        assert_eq!(r.log_status, Some(LogStatus::NoData));
        assert_eq!(r.srcaddr, None);
        assert_eq!(r.action, None);
    }

    #[test]
    fn bad_values_and_counts() {
        let f = FlowFormat::default();
        assert!(matches!(
            f.parse_line("2 1 eni 1.2.3.4 5.6.7.8 99999 22 6 1 1 1 1 ACCEPT OK"),
            Err(GuardError::FieldValue {
                field: "srcport",
                ..
            })
        ));
        assert!(matches!(
            f.parse_line("2 1 eni 1.2.3.4"),
            Err(GuardError::FieldCount {
                expected: 14,
                found: 4
            })
        ));
        assert!(matches!(
            f.parse_line("2 1 eni 1.2.3.4 5.6.7.8 1 22 6 1 1 1 1 MAYBE OK"),
            Err(GuardError::FieldValue {
                field: "action",
                ..
            })
        ));
    }

    proptest::proptest! {
        #[test]
        fn ipv4_parser_agrees_with_std(s in "[0-9.]{0,16}") {
            let ours = ip(FlowField::SrcAddr, &s).ok();
            let std_ = s.parse::<IpAddr>().ok();
            proptest::prop_assert_eq!(ours, std_);
        }
    }

    #[test]
    fn header_forms() {
        let h = FlowFormat::parse_header("${version} ${srcaddr} tcp-flags").unwrap();
        assert_eq!(
            h.fields(),
            &[FlowField::Version, FlowField::SrcAddr, FlowField::TcpFlags]
        );
        assert!(FlowFormat::parse_header("version srcaddr bogus").is_none());
        assert!(FlowFormat::parse_header("2 123 eni").is_none());
    }
}
