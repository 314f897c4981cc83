//! Sans-I/O: the AWS WAFv2 data model (web ACLs, rule groups, statements), parsed, validated and rendered exactly as the AWS API does, with capacity (WCU) computation.
