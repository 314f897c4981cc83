//! Listening sockets from `/proc/net/{tcp,tcp6,udp,udp6}` and their owning processes from
//! the `socket:[inode]` links under `/proc/<pid>/fd` (best effort: without root only the
//! agent's own processes are visible).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use portcullis_inspector_core::inventory::{Listener, SocketProtocol};

use super::Ctx;

/// TCP state `LISTEN`.
const TCP_LISTEN: &str = "0A";
/// State of a bound, unconnected UDP socket (`TCP_CLOSE`).
const UDP_UNCONNECTED: &str = "07";
/// Most sockets read from one table.
const MAX_SOCKETS: usize = 65_536;
/// Most processes and descriptors per process looked at for socket owners.
const MAX_PIDS: usize = 32_768;
const MAX_FDS: usize = 65_536;

/// A listening socket and its inode, as parsed from one `/proc/net` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcSocket {
    /// The bound address.
    pub address: IpAddr,
    /// The bound port.
    pub port: u16,
    /// The socket inode (links to the owning process).
    pub inode: u64,
}

/// Parses one `/proc/net/{tcp,udp}[6]` table, keeping listening TCP sockets (state `0A`) or
/// unconnected UDP sockets (state `07`, no remote address). Malformed rows are skipped.
pub fn parse_proc_net(text: &str, protocol: SocketProtocol) -> Vec<ProcSocket> {
    let mut out = Vec::new();
    for line in text.lines().skip(1).take(MAX_SOCKETS) {
        let mut cols = line.split_whitespace();
        let (Some(_sl), Some(local), Some(remote), Some(state)) =
            (cols.next(), cols.next(), cols.next(), cols.next())
        else {
            continue;
        };
        let wanted = match protocol {
            SocketProtocol::Tcp => state == TCP_LISTEN,
            SocketProtocol::Udp => {
                state == UDP_UNCONNECTED && parse_addr(remote).is_some_and(|(_, p)| p == 0)
            }
        };
        if !wanted {
            continue;
        }
        // tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
        let Some(inode) = cols.nth(5).and_then(|s| s.parse::<u64>().ok()) else {
            continue;
        };
        if let Some((address, port)) = parse_addr(local) {
            out.push(ProcSocket {
                address,
                port,
                inode,
            });
        }
    }
    out
}

/// `0100007F:0016` → `127.0.0.1:22`. Addresses are 32-bit words in host byte order.
fn parse_addr(s: &str) -> Option<(IpAddr, u16)> {
    let (addr, port) = s.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |i: usize| -> Option<[u8; 4]> {
        let hex = addr.get(i * 8..i * 8 + 8)?;
        Some(u32::from_str_radix(hex, 16).ok()?.to_ne_bytes())
    };
    let ip = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        32 => {
            let mut b = [0u8; 16];
            for (i, chunk) in b.chunks_exact_mut(4).enumerate() {
                chunk.copy_from_slice(&word(i)?);
            }
            let v6 = Ipv6Addr::from(b);
            // Report v4-mapped binds (`::ffff:127.0.0.1`) as the IPv4 address they are.
            match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(v6),
            }
        }
        _ => return None,
    };
    Some((ip, port))
}

/// inode → (pid, process name), from `/proc/<pid>/fd/*` links.
fn socket_owners(ctx: &mut Ctx<'_>) -> HashMap<u64, (u32, Option<String>)> {
    let mut owners = HashMap::new();
    let pids: Vec<u32> = ctx
        .list_dir("/proc", MAX_PIDS * 2)
        .iter()
        .filter_map(|n| n.parse().ok())
        .take(MAX_PIDS)
        .collect();
    for pid in pids {
        let Ok(rd) = std::fs::read_dir(ctx.path(&format!("/proc/{pid}/fd"))) else {
            continue; // another user's process: not visible without root
        };
        let mut comm = None;
        for entry in rd.flatten().take(MAX_FDS) {
            let Ok(target) = std::fs::read_link(entry.path()) else {
                continue;
            };
            let target = target.to_string_lossy();
            let Some(inode) = target
                .strip_prefix("socket:[")
                .and_then(|s| s.strip_suffix(']'))
                .and_then(|s| s.parse::<u64>().ok())
            else {
                continue;
            };
            if comm.is_none() {
                comm = Some(
                    ctx.read(&format!("/proc/{pid}/comm"))
                        .map(|c| c.trim().to_owned())
                        .filter(|c| !c.is_empty()),
                );
            }
            owners
                .entry(inode)
                .or_insert_with(|| (pid, comm.clone().flatten()));
        }
    }
    owners
}

pub(crate) fn collect(ctx: &mut Ctx<'_>) -> Vec<Listener> {
    let mut sockets = Vec::new();
    for (table, proto) in [
        ("tcp", SocketProtocol::Tcp),
        ("tcp6", SocketProtocol::Tcp),
        ("udp", SocketProtocol::Udp),
        ("udp6", SocketProtocol::Udp),
    ] {
        if let Some(text) = ctx.read_limited(&format!("/proc/net/{table}"), 64 << 20) {
            sockets.extend(parse_proc_net(&text, proto).into_iter().map(|s| (proto, s)));
        }
    }
    if sockets.is_empty() {
        return Vec::new();
    }
    let owners = socket_owners(ctx);
    let mut out: Vec<Listener> = sockets
        .into_iter()
        .map(|(protocol, s)| {
            let owner = owners.get(&s.inode);
            Listener {
                protocol,
                address: s.address,
                port: s.port,
                process: owner.and_then(|o| o.1.clone()),
                pid: owner.map(|o| o.0),
            }
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0\n\
   1: 0100007F:0019 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 23456 1 0000000000000000 100 0 0 10 0\n\
   2: 0100007F:A1B2 0100007F:0016 01 00000000:00000000 00:00000000 00000000  1000        0 34567 1 0000000000000000 20 4 30 10 -1\n\
   garbage\n";

    #[test]
    fn tcp_listeners_are_parsed() {
        let s = parse_proc_net(TCP, SocketProtocol::Tcp);
        assert_eq!(s.len(), 2, "the established connection is not a listener");
        assert_eq!(s[0].address, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(s[0].port, 2024);
        assert_eq!(s[0].inode, 12345);
        assert_eq!(s[1].address, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(s[1].port, 25);
    }

    #[test]
    fn ipv6_addresses() {
        let t = "hdr\n 0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 0:0 0:0 0 0 0 777 1\n\
                 1: 00000000000000000000000001000000:0035 00000000000000000000000000000000:0000 07 0:0 0:0 0 0 0 778 1\n\
                 2: 0000000000000000FFFF00000100007F:0277 00000000000000000000000000000000:0000 07 0:0 0:0 0 0 0 779 1\n";
        assert_eq!(
            parse_proc_net(t, SocketProtocol::Tcp)[0].address,
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        );
        let udp = parse_proc_net(t, SocketProtocol::Udp);
        assert_eq!(udp.len(), 2);
        assert_eq!(udp[0].address, IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(udp[0].port, 53);
        assert_eq!(udp[1].address, IpAddr::V4(Ipv4Addr::LOCALHOST));
    }

    #[test]
    fn listeners_get_their_process_from_fd_links() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        std::fs::create_dir_all(r.join("proc/net")).unwrap();
        std::fs::write(r.join("proc/net/tcp"), TCP).unwrap();
        std::fs::create_dir_all(r.join("proc/4242/fd")).unwrap();
        std::fs::write(r.join("proc/4242/comm"), "sshd\n").unwrap();
        std::os::unix::fs::symlink("socket:[12345]", r.join("proc/4242/fd/3")).unwrap();
        std::os::unix::fs::symlink("/dev/null", r.join("proc/4242/fd/0")).unwrap();
        std::fs::create_dir_all(r.join("proc/self")).unwrap();
        let opts = crate::collect::CollectOptions {
            root: r.to_path_buf(),
            ..Default::default()
        };
        let got = collect(&mut Ctx::new(&opts));
        assert_eq!(got.len(), 2);
        let ssh = got.iter().find(|l| l.port == 2024).unwrap();
        assert_eq!(
            (ssh.pid, ssh.process.as_deref()),
            (Some(4242), Some("sshd"))
        );
        let smtp = got.iter().find(|l| l.port == 25).unwrap();
        assert_eq!(
            (smtp.pid, smtp.process.as_deref()),
            (None, None),
            "owner not visible"
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "[0-9A-Fa-f: \n]{0,300}") {
            let _ = parse_proc_net(&s, SocketProtocol::Tcp);
            let _ = parse_proc_net(&s, SocketProtocol::Udp);
        }
    }
}
