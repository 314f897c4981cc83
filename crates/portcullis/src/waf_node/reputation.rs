//! Address lists for the Portcullis `IpReputationList` group (`[waf.ip_reputation]`): plain text files with
//! one address or CIDR per line, read as the common public lists are written — the first token of a line
//! counts, `#` and `;` start comments (IPsum's `IP<TAB>count`, FireHOL netsets, Spamhaus DROP's
//! `CIDR ; SBL…`). A line that is not an address is counted and skipped; a file with no address at all is an
//! error, since it is most likely not the file meant.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use ipnet::IpNet;

/// Largest list file read (a whole IPsum list is about 5 MB).
const MAX_FILE_BYTES: u64 = 256 << 20;

/// The entry on one line, if any: `Ok(None)` for blank and comment lines.
fn parse_line(line: &str) -> Result<Option<IpNet>, ()> {
    let data = line.split(['#', ';']).next().unwrap_or("").trim();
    let Some(token) = data.split_whitespace().next() else {
        return Ok(None);
    };
    if let Ok(net) = token.parse::<IpNet>() {
        return Ok(Some(net.trunc()));
    }
    token
        .parse::<IpAddr>()
        .map(|ip| Some(IpNet::from(ip.to_canonical())))
        .map_err(|_| ())
}

/// Reads `files` into (IPv4, IPv6) CIDR lists, sorted and without duplicates.
pub fn load(files: &[PathBuf]) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let mut v4 = BTreeSet::new();
    let mut v6 = BTreeSet::new();
    for path in files {
        let (nets, skipped) = read(path)?;
        if skipped > 0 {
            tracing::warn!(file = %path.display(), skipped, "IP reputation list: lines that are not addresses were skipped");
        }
        for net in nets {
            match net {
                IpNet::V4(n) => v4.insert(n),
                IpNet::V6(n) => v6.insert(n),
            };
        }
    }
    Ok((
        v4.into_iter().map(|n| n.to_string()).collect(),
        v6.into_iter().map(|n| n.to_string()).collect(),
    ))
}

fn read(path: &Path) -> anyhow::Result<(Vec<IpNet>, usize)> {
    let context = || format!("waf.ip_reputation: reading {}", path.display());
    let len = std::fs::metadata(path).with_context(context)?.len();
    if len > MAX_FILE_BYTES {
        bail!(
            "waf.ip_reputation: {} is larger than {MAX_FILE_BYTES} bytes",
            path.display()
        );
    }
    let bytes = std::fs::read(path).with_context(context)?;
    let text = String::from_utf8_lossy(&bytes);
    let mut nets = Vec::new();
    let mut skipped = 0usize;
    for line in text.lines() {
        match parse_line(line) {
            Ok(Some(n)) => nets.push(n),
            Ok(None) => {}
            Err(()) => skipped += 1,
        }
    }
    if nets.is_empty() && skipped > 0 {
        bail!(
            "waf.ip_reputation: {} holds no address or CIDR ({skipped} lines that are not)",
            path.display()
        );
    }
    Ok((nets, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_list_shapes() {
        let dir = tempfile::tempdir().unwrap();
        let ipsum = dir.path().join("ipsum.txt");
        std::fs::write(
            &ipsum,
            "# IPsum Threat Intelligence Feed\n# (https://example)\n198.51.100.7\t9\n203.0.113.9\t3\n\n",
        )
        .unwrap();
        let drop = dir.path().join("drop.txt");
        std::fs::write(
            &drop,
            "; Spamhaus DROP List\n192.0.2.0/24 ; SBL1\n2001:db8::/32 ; SBL2\n192.0.2.77/24\nnot-an-ip\n::ffff:198.51.100.7\n",
        )
        .unwrap();
        let (v4, v6) = load(&[ipsum, drop]).unwrap();
        assert_eq!(
            v4,
            ["192.0.2.0/24", "198.51.100.7/32", "203.0.113.9/32"],
            "host bits cleared, mapped IPv6 folded, duplicates merged"
        );
        assert_eq!(v6, ["2001:db8::/32"]);
    }

    #[test]
    fn a_file_without_addresses_or_missing_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let html = dir.path().join("page.html");
        std::fs::write(&html, "<html>\n<body>not a list</body>\n").unwrap();
        let e = load(&[html]).unwrap_err().to_string();
        assert!(e.contains("holds no address"), "{e}");
        let e = load(&[dir.path().join("missing.txt")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("waf.ip_reputation"), "{e}");
        let empty = dir.path().join("empty.txt");
        std::fs::write(&empty, "# nothing today\n").unwrap();
        assert_eq!(load(&[empty]).unwrap(), (vec![], vec![]));
    }
}
