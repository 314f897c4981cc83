//! Records pushed over the API (`PutEvents`): the [`EventSink`] the GuardDuty service hands them
//! to. The records go through the detector's long-lived engine and the findings are committed
//! before the reply, so a 200 means "processed and stored".

use portcullis_guard_api::{EventSink, GuardApiError, PushReport};
use portcullis_guard_detect::core::decode::DecodeOptions;

use crate::feed::Feeds;

/// Largest decompressed push body.
pub const MAX_PUSH_DECOMPRESSED: usize = 64 << 20;

/// The `PutEvents` receiver over the process's feeds.
#[derive(Debug, Clone)]
pub struct PushSink {
    feeds: Feeds,
}

impl PushSink {
    /// A receiver feeding `feeds`.
    pub fn new(feeds: Feeds) -> PushSink {
        PushSink { feeds }
    }
}

#[async_trait::async_trait]
impl EventSink for PushSink {
    async fn put_events(
        &self,
        detector_id: &str,
        source: &str,
        body: &[u8],
    ) -> Result<PushReport, GuardApiError> {
        let feed = self.feeds.get(detector_id).await.map_err(|e| match e {
            crate::error::IngestError::Api(a) => a,
            other => GuardApiError::Internal(other.to_string()),
        })?;
        let opts = DecodeOptions {
            max_decompressed: MAX_PUSH_DECOMPRESSED,
            ..DecodeOptions::default()
        };
        let name = format!("push:{source}");
        let r = {
            let mut st = feed.lock().await;
            let input = st.input(&name);
            st.ingest(input, 1, body, &opts)
        };
        feed.account(&name, &r);
        let done = feed.commit().await.map_err(|e| match e {
            crate::error::IngestError::Api(a) => a,
            other => GuardApiError::Internal(other.to_string()),
        })?;
        Ok(PushReport {
            records: r.records,
            malformed: r.malformed,
            errors: r.errors,
            refused: r.refused,
            findings_created: done.created,
            findings_updated: done.updated,
        })
    }
}
