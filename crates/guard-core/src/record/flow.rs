//! VPC Flow Logs records: the version 2 default line and custom formats (versions 3–8)
//! given by a header line of field names. `-` means "not applicable" and becomes `None`.

use std::net::IpAddr;

use crate::error::{GuardError, clip};

mod scan;

use scan::Cursor;

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

/// Fields of the version 2 default format.
const V2_FIELDS: usize = 14;

/// A flow-log format: the ordered list of fields on each line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowFormat {
    fields: Vec<FlowField>,
    /// Whether `fields` is the version 2 default format (read by [`scan::parse_v2`]).
    v2: bool,
}

impl Default for FlowFormat {
    /// The version 2 default format (14 fields).
    fn default() -> Self {
        Self::new(FlowField::ALL.iter().copied().take(V2_FIELDS).collect())
    }
}

impl FlowFormat {
    /// A format from an explicit field list.
    pub fn new(fields: Vec<FlowField>) -> Self {
        let v2 =
            fields.len() == V2_FIELDS && fields.iter().zip(FlowField::ALL).all(|(a, b)| a == b);
        Self { fields, v2 }
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
        (!fields.is_empty()).then(|| Self::new(fields))
    }

    /// The fields in line order.
    pub fn fields(&self) -> &[FlowField] {
        &self.fields
    }

    /// Parses one data line with this format.
    pub fn parse_line<'a>(&self, line: &'a str) -> Result<FlowRecord<'a>, GuardError> {
        let mut rec = FlowRecord::default();
        self.parse_into(line, &mut rec)?;
        Ok(rec)
    }

    /// Parses one data line with this format into `rec`, every field of which is
    /// overwritten (a caller parsing many lines reuses one record instead of moving a new
    /// one out per line). On error `rec` holds no meaningful record.
    ///
    /// One pass over the line: numbers and dotted-quad addresses, nearly every field of a
    /// real line, are read while the token is scanned. A version 2 default-format line of
    /// common values is read field after field without dispatch ([`scan::parse_v2`]);
    /// anything else (other formats, `-`, IPv6, malformed values) takes the general path.
    #[inline]
    pub fn parse_into<'a>(
        &self,
        line: &'a str,
        rec: &mut FlowRecord<'a>,
    ) -> Result<(), GuardError> {
        if self.v2 && scan::parse_v2(line, rec).is_some() {
            return Ok(());
        }
        *rec = FlowRecord {
            line,
            ..FlowRecord::default()
        };
        self.parse_general(line, rec)
    }

    /// The general path of [`FlowFormat::parse_into`] (`rec` starts empty but for `line`):
    /// dispatch per field, the general setter for anything but numbers and dotted quads.
    fn parse_general<'a>(&self, line: &'a str, rec: &mut FlowRecord<'a>) -> Result<(), GuardError> {
        let mut cur = Cursor::new(line);
        let mut found = 0usize;
        for &field in &self.fields {
            if !cur.skip_ws() {
                break;
            }
            found += 1;
            match field.kind() {
                Kind::Number => match cur.number() {
                    Ok((n, tok)) => rec.set_number(field, n, tok)?,
                    Err(tok) => rec.set(field, tok)?,
                },
                Kind::Address => match cur.ipv4() {
                    Ok(a) => rec.set_address(field, IpAddr::V4(a)),
                    Err(tok) => rec.set(field, tok)?,
                },
                Kind::Text => rec.set(field, cur.token())?,
            }
        }
        if found == self.fields.len() && !cur.skip_ws() {
            return Ok(());
        }
        while cur.skip_ws() {
            cur.token();
            found += 1;
        }
        Err(GuardError::FieldCount {
            expected: self.fields.len(),
            found,
        })
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

/// How a field's value is read.
enum Kind {
    /// A decimal number.
    Number,
    /// An IP address.
    Address,
    /// Anything else.
    Text,
}

impl FlowField {
    fn kind(self) -> Kind {
        use FlowField as F;
        match self {
            F::Version
            | F::SrcPort
            | F::DstPort
            | F::Protocol
            | F::Packets
            | F::Bytes
            | F::Start
            | F::End
            | F::TcpFlags => Kind::Number,
            F::SrcAddr | F::DstAddr | F::PktSrcAddr | F::PktDstAddr => Kind::Address,
            _ => Kind::Text,
        }
    }
}

/// A decimal number (no sign: flow logs write none; leading zeros allowed, as `std`
/// allows them), checked for overflow of `u64` digit by digit and then of `T`.
#[inline]
fn num<T: TryFrom<u64>>(field: FlowField, v: &str) -> Result<T, GuardError> {
    let b = v.as_bytes();
    let mut acc: u64 = 0;
    let mut ok = !b.is_empty();
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            ok = false;
            break;
        }
        match acc
            .checked_mul(10)
            .and_then(|a| a.checked_add(u64::from(d)))
        {
            Some(a) => acc = a,
            None => {
                ok = false;
                break;
            }
        }
    }
    match ok.then(|| T::try_from(acc).ok()).flatten() {
        Some(n) => Ok(n),
        None => Err(GuardError::FieldValue {
            field: field.name(),
            value: clip(v),
        }),
    }
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
    v.parse().map_err(|_| GuardError::FieldValue {
        field: field.name(),
        value: clip(v),
    })
}

impl FlowRecord<'_> {
    /// The (source, destination) addresses of a record that logged traffic (`log-status` OK
    /// or absent), IPv4-mapped IPv6 addresses as IPv4; `None` otherwise.
    pub fn endpoints(&self) -> Option<(IpAddr, IpAddr)> {
        if self.log_status.is_some_and(|s| s != LogStatus::Ok) {
            return None;
        }
        Some((self.srcaddr?.to_canonical(), self.dstaddr?.to_canonical()))
    }
}

impl<'a> FlowRecord<'a> {
    /// Sets a numeric field read as `n` from the text `v`.
    #[inline]
    fn set_number(&mut self, field: FlowField, n: u64, v: &str) -> Result<(), GuardError> {
        fn fit<T: TryFrom<u64>>(field: FlowField, n: u64, v: &str) -> Result<T, GuardError> {
            T::try_from(n).map_err(|_| GuardError::FieldValue {
                field: field.name(),
                value: clip(v),
            })
        }
        use FlowField as F;
        match field {
            F::Version => self.version = Some(fit(field, n, v)?),
            F::SrcPort => self.srcport = Some(fit(field, n, v)?),
            F::DstPort => self.dstport = Some(fit(field, n, v)?),
            F::Protocol => self.protocol = Some(fit(field, n, v)?),
            F::Packets => self.packets = Some(n),
            F::Bytes => self.bytes = Some(n),
            F::Start => self.start = Some(n),
            F::End => self.end = Some(n),
            F::TcpFlags => self.tcp_flags = Some(fit(field, n, v)?),
            _ => {}
        }
        Ok(())
    }

    /// Sets an address field.
    #[inline]
    fn set_address(&mut self, field: FlowField, a: IpAddr) {
        use FlowField as F;
        match field {
            F::SrcAddr => self.srcaddr = Some(a),
            F::DstAddr => self.dstaddr = Some(a),
            F::PktSrcAddr => self.pkt_srcaddr = Some(a),
            F::PktDstAddr => self.pkt_dstaddr = Some(a),
            _ => {}
        }
    }

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
        assert_eq!(r.endpoints(), None);
        let ok = FlowFormat::default()
            .parse_line("2 1 eni-1 ::ffff:10.0.0.1 52.1.2.3 1 443 6 1 40 1 2 ACCEPT OK")
            .unwrap();
        assert_eq!(
            ok.endpoints(),
            Some(("10.0.0.1".parse().unwrap(), "52.1.2.3".parse().unwrap()))
        );
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
        fn tokens_agree_with_std(s in "[ \\t\\r\\n\\x0c\\x01\\x0bé€a-z0-9.-]{0,60}") {
            let mut cur = Cursor::new(&s);
            let mut ours = Vec::new();
            while cur.skip_ws() {
                ours.push(cur.token());
            }
            let std_: Vec<&str> = s.split_ascii_whitespace().collect();
            proptest::prop_assert_eq!(ours, std_);
        }

        #[test]
        fn numbers_agree_with_std(s in "[0-9]{0,22}|[0-9a+-]{0,5}") {
            let ours = num::<u64>(FlowField::Bytes, &s).ok();
            let std_ = if s.starts_with('+') { None } else { s.parse::<u64>().ok() };
            proptest::prop_assert_eq!(ours, std_);
            let ours = num::<u16>(FlowField::SrcPort, &s).ok();
            let std_ = if s.starts_with('+') { None } else { s.parse::<u16>().ok() };
            proptest::prop_assert_eq!(ours, std_);
        }

        #[test]
        fn fused_readers_agree_with_std(s in "[0-9.]{0,18}|[0-9]{0,22}|[0-9a.:-]{0,8}") {
            let mut cur = Cursor::new(&s);
            let ours = cur.ipv4().ok();
            let std_ = s.parse::<std::net::Ipv4Addr>().ok();
            proptest::prop_assert_eq!(ours, std_);
            let mut cur = Cursor::new(&s);
            let ours = cur.number().ok().map(|(n, _)| n);
            let std_ = s.parse::<u64>().ok().filter(|_| s.len() <= 19);
            proptest::prop_assert_eq!(ours, std_);
        }

        #[test]
        fn lines_parse_as_tokens_do(
            fields in proptest::collection::vec("-|[0-9]{1,6}|[0-9]{1,3}(\\.[0-9]{1,3}){3}|::1|x[a-z]{0,3}", 14..16),
            sep in "[ \\t]{1,2}",
        ) {
            // The fused reader and the general `set` path must agree on every line.
            let line = fields.join(&sep);
            let f = FlowFormat::default();
            let fast = f.parse_line(&line);
            let mut slow = FlowRecord { line: &line, ..FlowRecord::default() };
            let toks: Vec<&str> = line.split_ascii_whitespace().collect();
            let slow = if toks.len() == 14 {
                f.fields().iter().zip(&toks).try_for_each(|(fl, t)| slow.set(*fl, t)).map(|()| slow)
            } else {
                Err(GuardError::FieldCount { expected: 14, found: toks.len() })
            };
            proptest::prop_assert_eq!(fast.ok(), slow.ok());
        }

        #[test]
        fn v2_fast_path_agrees_with_general_path(
            fields in proptest::collection::vec(
                "-|[0-9]{1,6}|0[0-9]{1,3}|[0-9]{18,21}|[0-9]{1,3}(\\.[0-9]{1,3}){3}|::1|ACCEPT|REJECT|OK|NODATA|SKIPDATA|x[a-z]{0,3}",
                13..16,
            ),
            sep in "[ \\t]{1,2}|\\x0c|\\x01",
            lead in "[ ]{0,1}",
            trail in "[ \\r]{0,1}",
        ) {
            // The version 2 reader must give what the per-field dispatch gives, or defer to it.
            let line = format!("{lead}{}{trail}", fields.join(&sep));
            let f = FlowFormat::default();
            let mut general = FlowRecord { line: &line, ..FlowRecord::default() };
            let general = f.parse_general(&line, &mut general).map(|()| general);
            proptest::prop_assert_eq!(f.parse_line(&line), general);
        }

        #[test]
        fn v2_lines_of_mostly_common_values_agree(
            a in ("[0-9]{1,3}", "[0-9]{12}|-", "eni-[0-9a-f]{1,17}|-", "[0-9]{1,3}(\\.[0-9]{1,3}){3}|::1", "[0-9]{1,3}(\\.[0-9]{1,3}){3}", "[0-9]{1,5}|-", "[0-9]{1,6}"),
            b in ("[0-9]{1,3}", "[0-9]{1,4}|-", "[0-9]{1,20}", "[0-9]{10}", "[0-9]{10}", "ACCEPT|REJECT|ACCEPTED|-", "OK|NODATA|SKIPDATA|O"),
        ) {
            let line = [a.0, a.1, a.2, a.3, a.4, a.5, a.6, b.0, b.1, b.2, b.3, b.4, b.5, b.6].join(" ");
            let f = FlowFormat::default();
            let mut general = FlowRecord { line: &line, ..FlowRecord::default() };
            let general = f.parse_general(&line, &mut general).map(|()| general);
            proptest::prop_assert_eq!(f.parse_line(&line), general);
        }

        #[test]
        fn ipv4_parser_agrees_with_std(s in "[0-9.]{0,16}") {
            let ours = ip(FlowField::SrcAddr, &s).ok();
            let std_ = s.parse::<IpAddr>().ok();
            proptest::prop_assert_eq!(ours, std_);
        }
    }

    #[test]
    fn v2_format_is_recognised_and_fast_lines_match_general() {
        assert!(FlowFormat::default().v2);
        assert!(FlowFormat::new(FlowField::ALL[..14].to_vec()).v2);
        assert!(!FlowFormat::new(FlowField::ALL[..15].to_vec()).v2);
        let h = FlowFormat::parse_header(
            "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status",
        )
        .unwrap();
        assert!(h.v2);
        assert_eq!(h, FlowFormat::default());
        let f = FlowFormat::default();
        for line in [
            "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
            "\t2  1 eni 1.2.3.4 5.6.7.8 1 2 17 1 1 1 1 REJECT SKIPDATA \r",
            "2 1 eni 1.2.3.4 5.6.7.8 1 2 256 1 1 1 1 REJECT OK",
            "2 1 eni 1.2.3.4 5.6.7.8 1 2 6 1 1 1 1 REJECT OK extra",
            "2 1 eni 1.2.3.4 5.6.7.8 1 2 6 1 1 1 1 REJECT",
            "2 1 eni 1.2.3.04 5.6.7.8 1 2 6 1 1 1 1 REJECT OK",
            "2 1 - 1.2.3.4 5.6.7.8 1 2 6 1 1 1 1 REJECT OK",
        ] {
            let mut general = FlowRecord {
                line,
                ..FlowRecord::default()
            };
            let general = f.parse_general(line, &mut general).map(|()| general);
            assert_eq!(f.parse_line(line), general, "{line}");
        }
        // A reused record is fully overwritten: nothing of a v5 line survives a v2 one.
        let v5 = FlowFormat::parse_header("version vpc-id srcaddr dstaddr tcp-flags").unwrap();
        let mut rec = FlowRecord::default();
        v5.parse_into("5 vpc-1 1.2.3.4 5.6.7.8 2", &mut rec)
            .unwrap();
        assert_eq!(rec.tcp_flags, Some(2));
        let line = "2 1 eni 1.2.3.4 5.6.7.8 1 2 6 1 1 1 1 REJECT OK";
        f.parse_into(line, &mut rec).unwrap();
        assert_eq!(rec, f.parse_line(line).unwrap());
        assert_eq!((rec.vpc_id, rec.tcp_flags), (None, None));
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
