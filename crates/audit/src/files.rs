//! CloudTrail log files: `{"Records":[...]}`, gzip, in the CloudTrail directory layout.

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use portcullis_common::audit::CloudTrailRecord;
use rand::Rng;
use time::OffsetDateTime;
use time::macros::format_description;

/// Writes batches of records as CloudTrail log files under a root directory.
#[derive(Debug, Clone)]
pub struct LogFileWriter {
    root: PathBuf,
    account: String,
    region: String,
}

impl LogFileWriter {
    /// Files go under `<root>/AWSLogs/<account>/CloudTrail/<region>/`.
    pub fn new(root: &Path, account: &str, region: &str) -> Self {
        Self {
            root: root.to_owned(),
            account: account.to_owned(),
            region: region.to_owned(),
        }
    }

    /// Writes one file holding `records` (nothing when empty); returns its path. The file
    /// appears atomically (written under a temporary name, then renamed).
    pub fn write(
        &self,
        records: &[CloudTrailRecord],
        now: OffsetDateTime,
    ) -> std::io::Result<Option<PathBuf>> {
        if records.is_empty() {
            return Ok(None);
        }
        let day = now
            .format(format_description!("[year]/[month]/[day]"))
            .map_err(std::io::Error::other)?;
        let stamp = now
            .format(format_description!("[year][month][day]T[hour][minute]Z"))
            .map_err(std::io::Error::other)?;
        let dir = self
            .root
            .join("AWSLogs")
            .join(&self.account)
            .join("CloudTrail")
            .join(&self.region)
            .join(day);
        std::fs::create_dir_all(&dir)?;
        let id: String = rand::rng()
            .sample_iter(rand::distr::Alphanumeric)
            .take(16)
            .map(char::from)
            .collect();
        let name = format!(
            "{}_CloudTrail_{}_{stamp}_{id}.json.gz",
            self.account, self.region
        );
        let body = serde_json::to_vec(&serde_json::json!({ "Records": records }))
            .map_err(std::io::Error::other)?;
        let tmp = dir.join(format!(".{name}.tmp"));
        {
            let f = std::fs::File::create(&tmp)?;
            let mut gz = GzEncoder::new(f, Compression::default());
            gz.write_all(&body)?;
            gz.finish()?.sync_all()?;
        }
        let path = dir.join(name);
        std::fs::rename(&tmp, &path)?;
        Ok(Some(path))
    }
}
