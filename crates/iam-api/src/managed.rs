//! AWS managed policies that Portcullis provides under `arn:aws:iam::aws:policy/...`, so
//! that scripts attaching them (`AdministratorAccess`, `ReadOnlyAccess`, ...) work unchanged.

/// One built-in managed policy.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinPolicy {
    /// Name, e.g. `AdministratorAccess`.
    pub name: &'static str,
    /// Stable id.
    pub id: &'static str,
    /// What it grants.
    pub description: &'static str,
    /// The policy document.
    pub document: &'static str,
}

impl BuiltinPolicy {
    /// `arn:aws:iam::aws:policy/<name>`.
    pub fn arn(&self) -> String {
        format!("arn:aws:iam::aws:policy/{}", self.name)
    }
}

/// Every built-in managed policy.
pub const BUILTIN: &[BuiltinPolicy] = &[
    BuiltinPolicy {
        name: "AdministratorAccess",
        id: "ANPAPORTCULLISADMIN01",
        description: "Full access to every service and resource.",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    },
    BuiltinPolicy {
        name: "ReadOnlyAccess",
        id: "ANPAPORTCULLISREAD001",
        description: "Read-only access: Describe, Get and List operations of every service.",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["*:Describe*","*:Get*","*:List*","*:Lookup*"],"Resource":"*"}]}"#,
    },
    BuiltinPolicy {
        name: "IAMFullAccess",
        id: "ANPAPORTCULLISIAMFULL",
        description: "Full access to IAM.",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#,
    },
    BuiltinPolicy {
        name: "IAMReadOnlyAccess",
        id: "ANPAPORTCULLISIAMREAD",
        description: "Read-only access to IAM.",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"*"}]}"#,
    },
    BuiltinPolicy {
        name: "PowerUserAccess",
        id: "ANPAPORTCULLISPOWER01",
        description: "Full access to every service except IAM management.",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:*"],"Resource":"*"},{"Effect":"Allow","Action":["iam:GetUser","iam:ListRoles"],"Resource":"*"}]}"#,
    },
    BuiltinPolicy {
        name: "AWSKeyManagementServicePowerUser",
        id: "ANPAPORTCULLISKMSPOW1",
        description: "Create and manage KMS keys, without permission to use them for cryptography.",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:CreateAlias","kms:CreateKey","kms:DeleteAlias","kms:Describe*","kms:GenerateRandom","kms:Get*","kms:List*","kms:TagResource","kms:UntagResource","iam:ListGroups","iam:ListRoles","iam:ListUsers"],"Resource":"*"}]}"#,
    },
];

/// The built-in policy with this ARN.
pub fn find(arn: &str) -> Option<&'static BuiltinPolicy> {
    let name = arn.strip_prefix("arn:aws:iam::aws:policy/")?;
    // AWS managed policies may carry a path (`service-role/...`); ours do not.
    BUILTIN.iter().find(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_iam::policy::{Policy, PolicyKind};

    #[test]
    fn every_builtin_parses() {
        for p in BUILTIN {
            Policy::parse(p.document, PolicyKind::Identity)
                .unwrap_or_else(|e| panic!("{}: {e}", p.name));
            assert_eq!(find(&p.arn()).unwrap().name, p.name);
        }
        assert!(find("arn:aws:iam::aws:policy/Nope").is_none());
    }
}
