//! The IAM and STS services as the listener sees them: Query protocol dispatch.

use std::sync::Arc;

use portcullis_http::{ApiOutcome, ApiRequest, AwsError, AwsService, Protocol};

use crate::authz::Authorizer;
use crate::error::IamError;
use crate::ops::{self, Ctx};
use crate::query::Params;
use crate::repo::Repo;
use crate::sealing::Sealer;

/// IAM's XML namespace.
pub const IAM_XMLNS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
/// STS's XML namespace.
pub const STS_XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// State shared by IAM and STS.
#[derive(Debug, Clone)]
pub struct Shared {
    /// Entities.
    pub repo: Repo,
    /// Policy decisions.
    pub authz: Authorizer,
    /// Seals secrets.
    pub root: Arc<dyn Sealer>,
}

/// The IAM service (`iam` signing name).
#[derive(Debug, Clone)]
pub struct IamService(pub Shared);

/// The STS service (`sts` signing name).
#[derive(Debug, Clone)]
pub struct StsService(pub Shared);

impl Shared {
    /// State over a repo and root key.
    pub fn new(repo: Repo, root: Arc<dyn Sealer>) -> Self {
        Self {
            authz: Authorizer::new(repo.clone()),
            repo,
            root,
        }
    }
}

async fn run(shared: &Shared, req: ApiRequest, xmlns: &'static str, sts: bool) -> ApiOutcome {
    let params = Params(req.query_params());
    let Some(action) = params.optional("Action").map(str::to_owned) else {
        let e = AwsError::bad_request(
            "MissingAction",
            "The request must contain the parameter Action.",
        );
        return ApiOutcome::failed("", e);
    };
    let request_parameters = params.for_audit();
    let caller = &req.caller;
    let mfa_less_session = caller.source == portcullis_http::CredentialSource::SessionToken
        && caller.principal.kind == portcullis_iam::policy::PrincipalKind::User;
    if !sts && mfa_less_session {
        // As AWS: GetSessionToken credentials without MFA may not call the IAM API.
        let e = IamError::AccessDenied(format!(
            "User: {} is not authorized to perform: iam:{action} with session credentials obtained without MFA",
            caller.principal.arn
        ));
        return ApiOutcome {
            operation: action,
            read_only: false,
            result: Err(e.into()),
            request_parameters,
            response_elements: serde_json::Value::Null,
        };
    }
    let ctx = Ctx {
        shared,
        req: &req,
        params,
        xmlns,
    };
    let result = if sts {
        ops::sts::dispatch(&ctx, &action).await
    } else {
        ops::dispatch(&ctx, &action).await
    };
    let read_only = ["Get", "List"].iter().any(|p| action.starts_with(p));
    let (result, response_elements) = match result {
        Ok(done) => (Ok(done.reply), done.response),
        Err(e) => {
            let known = !matches!(e, IamError::InvalidAction(_));
            let err = AwsError::from(e);
            return ApiOutcome {
                operation: if known { action } else { String::new() },
                read_only,
                result: Err(err),
                request_parameters,
                response_elements: serde_json::Value::Null,
            };
        }
    };
    ApiOutcome {
        operation: action,
        read_only,
        result,
        request_parameters,
        response_elements,
    }
}

#[async_trait::async_trait]
impl AwsService for IamService {
    fn signing_name(&self) -> &'static str {
        "iam"
    }
    fn event_source(&self) -> &'static str {
        "iam.amazonaws.com"
    }
    fn protocol(&self) -> Protocol {
        Protocol::Query { xmlns: IAM_XMLNS }
    }
    async fn call(&self, req: ApiRequest) -> ApiOutcome {
        run(&self.0, req, IAM_XMLNS, false).await
    }
}

#[async_trait::async_trait]
impl AwsService for StsService {
    fn signing_name(&self) -> &'static str {
        "sts"
    }
    fn event_source(&self) -> &'static str {
        "sts.amazonaws.com"
    }
    fn protocol(&self) -> Protocol {
        Protocol::Query { xmlns: STS_XMLNS }
    }
    async fn call(&self, req: ApiRequest) -> ApiOutcome {
        run(&self.0, req, STS_XMLNS, true).await
    }
}
