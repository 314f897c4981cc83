//! The file and stdout exports.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::io::AsyncWriteExt;

use super::Sink;
use crate::error::{IngestError, Result};

fn lines_of(lines: &[Arc<str>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for l in lines {
        out.extend_from_slice(l.as_bytes());
        out.push(b'\n');
    }
    out
}

/// Appends JSON lines to a file (created if missing, reopened after a failure so a rotated
/// file is picked up).
#[derive(Debug)]
pub struct FileSink {
    path: PathBuf,
    file: Option<tokio::fs::File>,
}

impl FileSink {
    /// An export to `path`.
    pub fn new(path: PathBuf) -> FileSink {
        FileSink { path, file: None }
    }
}

#[async_trait::async_trait]
impl Sink for FileSink {
    async fn send(&mut self, lines: &[Arc<str>]) -> Result<()> {
        let err = |e: std::io::Error| IngestError::Export {
            target: self.path.display().to_string(),
            reason: e.to_string(),
        };
        if self.file.is_none() {
            let f = tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .await
                .map_err(err)?;
            self.file = Some(f);
        }
        let data = lines_of(lines);
        let res = match self.file.as_mut() {
            Some(f) => match f.write_all(&data).await {
                Ok(()) => f.flush().await,
                Err(e) => Err(e),
            },
            None => Ok(()),
        };
        if let Err(e) = res {
            self.file = None;
            return Err(err(e));
        }
        Ok(())
    }

    fn target(&self) -> String {
        self.path.display().to_string()
    }
}

/// Writes JSON lines to standard output.
#[derive(Debug, Default)]
pub struct StdoutSink;

#[async_trait::async_trait]
impl Sink for StdoutSink {
    async fn send(&mut self, lines: &[Arc<str>]) -> Result<()> {
        let mut out = tokio::io::stdout();
        let data = lines_of(lines);
        let res = match out.write_all(&data).await {
            Ok(()) => out.flush().await,
            Err(e) => Err(e),
        };
        res.map_err(|e| IngestError::Export {
            target: "stdout".into(),
            reason: e.to_string(),
        })
    }

    fn target(&self) -> String {
        "stdout".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn appends_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.jsonl");
        let mut s = FileSink::new(p.clone());
        s.send(&[Arc::from("{\"a\":1}")]).await.unwrap();
        s.send(&[Arc::from("{\"b\":2}"), Arc::from("{\"c\":3}")])
            .await
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n"
        );
        let mut bad = FileSink::new(dir.path().join("missing/dir/out.jsonl"));
        assert!(bad.send(&[Arc::from("x")]).await.is_err());
    }
}
