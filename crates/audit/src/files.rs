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
        let texts = records
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()
            .map_err(std::io::Error::other)?;
        self.write_json(&texts, now)
    }

    /// Like [`write`](Self::write), for records already serialized as JSON objects (the
    /// trail serializes each record once, for the store and the file alike). The texts are
    /// trusted to be JSON: they are joined into `{"Records":[...]}` as they are.
    pub fn write_json(
        &self,
        records: &[String],
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
        let tmp = dir.join(format!(".{name}.tmp"));
        {
            let f = std::io::BufWriter::with_capacity(64 * 1024, std::fs::File::create(&tmp)?);
            // The fastest level: a third of the CPU of the default for files about a
            // quarter larger, and this runs for every API call.
            let mut gz = GzEncoder::new(f, Compression::fast());
            gz.write_all(b"{\"Records\":[")?;
            for (i, r) in records.iter().enumerate() {
                if i > 0 {
                    gz.write_all(b",")?;
                }
                gz.write_all(r.as_bytes())?;
            }
            gz.write_all(b"]}")?;
            gz.finish()?
                .into_inner()
                .map_err(|e| e.into_error())?
                .sync_all()?;
        }
        let path = dir.join(name);
        std::fs::rename(&tmp, &path)?;
        Ok(Some(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn read_gz(path: &Path) -> serde_json::Value {
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn json_texts_become_one_records_document() {
        let dir = tempfile::tempdir().unwrap();
        let w = LogFileWriter::new(dir.path(), "123456789012", "eu-west-1");
        let now = time::macros::datetime!(2026-11-30 03:04:05 UTC);
        assert!(w.write_json(&[], now).unwrap().is_none());
        let texts = vec![
            r#"{"eventID":"a"}"#.to_owned(),
            r#"{"eventID":"b"}"#.to_owned(),
        ];
        let path = w.write_json(&texts, now).unwrap().unwrap();
        let rel = path
            .strip_prefix(dir.path())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            rel.starts_with("AWSLogs/123456789012/CloudTrail/eu-west-1/2026/11/30/123456789012_CloudTrail_eu-west-1_20261130T0304Z_"),
            "{rel}"
        );
        assert!(rel.ends_with(".json.gz"), "{rel}");
        assert_eq!(
            read_gz(&path),
            serde_json::json!({"Records": [{"eventID": "a"}, {"eventID": "b"}]})
        );
        // No temporary file is left behind.
        let day = path.parent().unwrap();
        assert_eq!(std::fs::read_dir(day).unwrap().count(), 1);
    }
}
