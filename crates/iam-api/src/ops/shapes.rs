//! XML renderings of IAM shapes (`User`, `Role`, `Policy`, `AccessKeyMetadata`, `Tag`),
//! with member names exactly as in the IAM API model.

use portcullis_http::xml::XmlWriter;
use serde_json::{Value, json};

use crate::managed::BuiltinPolicy;
use crate::model::{AccessKey, ManagedPolicy, Role, Tag, User};
use crate::query::{date, encode_policy};

/// Writes a `User` structure's members.
pub fn user(w: &mut XmlWriter, u: &User) {
    w.leaf("Path", &u.path);
    w.leaf("UserName", &u.user_name);
    w.leaf("UserId", &u.user_id);
    w.leaf("Arn", &u.arn());
    w.leaf("CreateDate", &date(u.create_date));
    if !u.tags.is_empty() {
        tags(w, &u.tags);
    }
}

/// The audit form of a user.
pub fn user_json(u: &User) -> Value {
    json!({"path": u.path, "userName": u.user_name, "userId": u.user_id, "arn": u.arn(), "createDate": date(u.create_date)})
}

/// Writes a `Role` structure's members.
pub fn role(w: &mut XmlWriter, r: &Role) {
    w.leaf("Path", &r.path);
    w.leaf("RoleName", &r.role_name);
    w.leaf("RoleId", &r.role_id);
    w.leaf("Arn", &r.arn());
    w.leaf("CreateDate", &date(r.create_date));
    w.leaf(
        "AssumeRolePolicyDocument",
        &encode_policy(&r.assume_role_policy_document),
    );
    w.leaf_opt("Description", r.description.as_deref());
    w.leaf("MaxSessionDuration", &r.max_session_duration.to_string());
    if !r.tags.is_empty() {
        tags(w, &r.tags);
    }
}

/// The audit form of a role.
pub fn role_json(r: &Role) -> Value {
    json!({"path": r.path, "roleName": r.role_name, "roleId": r.role_id, "arn": r.arn(),
        "createDate": date(r.create_date), "assumeRolePolicyDocument": r.assume_role_policy_document})
}

/// Writes a `Tags` list.
pub fn tags(w: &mut XmlWriter, tags: &[Tag]) {
    w.open("Tags");
    for t in tags {
        w.open("member");
        w.leaf("Key", &t.key);
        w.leaf("Value", &t.value);
        w.close("member");
    }
    w.close("Tags");
}

/// Writes an `AccessKeyMetadata` member.
pub fn access_key_metadata(w: &mut XmlWriter, k: &AccessKey) {
    w.open("member");
    w.leaf("UserName", &k.user_name);
    w.leaf("AccessKeyId", &k.access_key_id);
    w.leaf("Status", k.status.as_str());
    w.leaf("CreateDate", &date(k.create_date));
    w.close("member");
}

/// Writes a customer managed `Policy` structure's members.
pub fn policy(w: &mut XmlWriter, p: &ManagedPolicy) {
    w.leaf("PolicyName", &p.policy_name);
    w.leaf("PolicyId", &p.policy_id);
    w.leaf("Arn", &p.arn());
    w.leaf("Path", &p.path);
    w.leaf("DefaultVersionId", &p.default_version_id);
    w.leaf("AttachmentCount", &p.attachment_count.to_string());
    w.leaf("PermissionsBoundaryUsageCount", "0");
    w.leaf("IsAttachable", "true");
    w.leaf_opt("Description", p.description.as_deref());
    w.leaf("CreateDate", &date(p.create_date));
    w.leaf("UpdateDate", &date(p.update_date));
}

/// Writes a built-in (AWS managed) `Policy` structure's members.
pub fn builtin_policy(w: &mut XmlWriter, p: &BuiltinPolicy, attachment_count: u32) {
    w.leaf("PolicyName", p.name);
    w.leaf("PolicyId", p.id);
    w.leaf("Arn", &p.arn());
    w.leaf("Path", "/");
    w.leaf("DefaultVersionId", "v1");
    w.leaf("AttachmentCount", &attachment_count.to_string());
    w.leaf("PermissionsBoundaryUsageCount", "0");
    w.leaf("IsAttachable", "true");
    w.leaf("Description", p.description);
    w.leaf("CreateDate", "2026-01-01T00:00:00Z");
    w.leaf("UpdateDate", "2026-01-01T00:00:00Z");
}

/// The audit form of a managed policy.
pub fn policy_json(p: &ManagedPolicy) -> Value {
    json!({"policyName": p.policy_name, "policyId": p.policy_id, "arn": p.arn(), "path": p.path,
        "defaultVersionId": p.default_version_id})
}
