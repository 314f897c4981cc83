//! A stream source: standard input (or any reader), read as whole lines as they arrive, the last
//! line ended by the end of the stream. A stream cannot be read again, so it keeps no checkpoint;
//! its findings are committed by the feed's flushes and once more at the end of the stream.
//! A stream whose first line opens a JSON document that does not end on it (pretty-printed
//! CloudTrail) is read to its end and decoded whole.

use std::sync::Arc;

use portcullis_guard_detect::core::decode::DecodeOptions;
use portcullis_guard_detect::core::record::FlowFormat;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::error::{IngestError, Result};
use crate::feed::Feed;
use crate::files::{MAX_DOCUMENT, MAX_LINE, last_flow_header, looks_like_document};

/// What a stream source did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamReport {
    /// Bytes read.
    pub bytes: u64,
    /// Lines read.
    pub lines: u64,
    /// Lines longer than [`MAX_LINE`], skipped.
    pub overlong: u64,
}

/// Reads `reader` to its end into `feed`, naming it `name` in locations; `flow_format` formats
/// VPC flow lines until a header line says otherwise.
pub async fn run_reader<R: AsyncRead + Unpin>(
    name: &str,
    mut reader: R,
    feed: Arc<Feed>,
    flow_format: Option<FlowFormat>,
) -> Result<StreamReport> {
    let mut opts = DecodeOptions {
        max_decompressed: MAX_DOCUMENT,
        flow_format: flow_format.unwrap_or_default(),
    };
    let mut report = StreamReport::default();
    let mut buf: Vec<u8> = Vec::new();
    let mut tmp = vec![0u8; 64 << 10];
    let mut line = 1u64;
    let mut document: Option<bool> = None;
    let mut skipping = false;
    loop {
        let n = reader.read(&mut tmp).await.map_err(|e| IngestError::Io {
            path: name.to_owned(),
            source: e,
        })?;
        let eof = n == 0;
        buf.extend_from_slice(tmp.get(..n).unwrap_or_default());
        report.bytes += n as u64;
        if document.is_none() {
            document = looks_like_document(&buf).or(eof.then_some(false));
        }
        match document {
            Some(true) => {
                if buf.len() > MAX_DOCUMENT {
                    return Err(IngestError::Config(format!(
                        "{name}: a document larger than {MAX_DOCUMENT} bytes"
                    )));
                }
                if eof {
                    process(&feed, name, 1, &buf, &opts).await;
                    report.lines = buf.iter().filter(|b| **b == b'\n').count() as u64;
                    break;
                }
                continue;
            }
            None if buf.len() < MAX_LINE => continue,
            _ => {}
        }
        // Whole lines (everything at the end of the stream).
        let end = if eof {
            buf.len()
        } else {
            match buf.iter().rposition(|b| *b == b'\n') {
                Some(p) => p + 1,
                None if buf.len() >= MAX_LINE => {
                    if !skipping {
                        report.overlong += 1;
                        tracing::warn!(input = %name, "malformed record skipped: {name}:{line}: line longer than {MAX_LINE} bytes");
                    }
                    skipping = true;
                    buf.clear();
                    continue;
                }
                None => continue,
            }
        };
        let mut chunk: Vec<u8> = buf.drain(..end).collect();
        if skipping {
            // The rest of an overlong line, up to its newline, goes too.
            let cut = chunk
                .iter()
                .position(|b| *b == b'\n')
                .map_or(chunk.len(), |p| p + 1);
            chunk.drain(..cut);
            skipping = false;
            line += 1;
        }
        let lines_in = chunk.iter().filter(|b| **b == b'\n').count() as u64;
        process(&feed, name, line, &chunk, &opts).await;
        if let Some(h) = last_flow_header(&chunk).and_then(|h| FlowFormat::parse_header(&h)) {
            opts.flow_format = h;
        }
        line += lines_in;
        report.lines += lines_in;
        if eof {
            break;
        }
    }
    feed.commit().await?;
    Ok(report)
}

async fn process(
    feed: &Arc<Feed>,
    name: &str,
    first_line: u64,
    bytes: &[u8],
    opts: &DecodeOptions,
) {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    let r = {
        let mut st = feed.lock().await;
        let input = st.input(name);
        st.ingest(input, first_line, bytes, opts)
    };
    feed.account(name, &r);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::Exports;
    use crate::files::tests::{env, lines, root_call, root_count};

    #[tokio::test]
    async fn a_stream_is_read_to_its_end_including_an_unterminated_line() {
        let e = env().await;
        let feed = Feed::open(e.api.clone(), &e.detector, Exports::none())
            .await
            .unwrap();
        let text = format!("{}\nnot a record\n{}", lines(0, 3), root_call(3));
        let r = run_reader("stdin", text.as_bytes(), feed.clone(), None)
            .await
            .unwrap();
        assert_eq!(r.lines, 5);
        assert_eq!(root_count(&e.api, &e.detector).await, (4, 1));
        assert_eq!(
            feed.stats
                .malformed
                .load(std::sync::atomic::Ordering::Relaxed),
            1
        );
    }

    #[tokio::test]
    async fn a_pretty_printed_document_on_a_stream_is_decoded_whole() {
        let e = env().await;
        let feed = Feed::open(e.api.clone(), &e.detector, Exports::none())
            .await
            .unwrap();
        let doc: serde_json::Value =
            serde_json::from_str(&format!("[{},{}]", root_call(0), root_call(1))).unwrap();
        let text = serde_json::to_string_pretty(&doc).unwrap();
        run_reader("stdin", text.as_bytes(), feed, None)
            .await
            .unwrap();
        assert_eq!(root_count(&e.api, &e.detector).await, (2, 1));
    }
}
