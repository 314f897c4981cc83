//! RPM's Berkeley DB `Packages` database, built by the real tools: `rpmbuild` makes two
//! packages (one with 400 files, whose header needs overflow pages at every page size), `rpm
//! -i --justdb` installs them into a scratch database, and `db5.3_load` writes their header
//! blobs into hash databases of several page sizes in both byte orders. RPM's own read-only
//! Berkeley DB backend checks each file; the agent must list exactly what `rpm -qa` lists.
//!
//! Needs Debian's `rpm` and `db5.3-util`: without them the test prints a loud SKIP, unless
//! `CI` is set, where it fails.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use portcullis_inspector_agent::CollectOptions;
use portcullis_inspector_agent::collect::rpm::read_rpmdb_bdb;

const TINY: &str = "Name: tiny-tool
Version: 1.2.3
Release: 4.el7
Epoch: 2
Summary: A tiny test package
License: MIT
BuildArch: noarch
%description
Tiny.
%install
mkdir -p %{buildroot}/usr/share/tiny
echo hi > %{buildroot}/usr/share/tiny/a.txt
%files
/usr/share/tiny/a.txt
";

const BIG: &str = "Name: big-files
Version: 0.9
Release: 1
Summary: A package with many files
License: MIT
%description
Many files, so its header needs overflow pages.
%install
mkdir -p %{buildroot}/usr/share/big
for i in $(seq 1 400); do echo $i > %{buildroot}/usr/share/big/file-number-$i.txt; done
%files
/usr/share/big
";

fn have(tool: &str, arg: &str) -> bool {
    Command::new(tool)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

type Nevra = (String, Option<u32>, String, String, Option<String>);

/// `rpm -qa` of a database: (name, epoch, version, release, arch).
fn rpm_qa(dbpath: &Path, backend: &str) -> BTreeSet<Nevra> {
    let out = run(Command::new("rpm")
        .args(["-qa", "--dbpath"])
        .arg(dbpath)
        .args(["--define", &format!("_db_backend {backend}")])
        .args(["--qf", "%{NAME}|%{EPOCH}|%{VERSION}|%{RELEASE}|%{ARCH}\\n"]));
    out.lines()
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            (
                f[0].to_owned(),
                f[1].parse().ok(),
                f[2].to_owned(),
                f[3].to_owned(),
                Some(f[4].to_owned()),
            )
        })
        .collect()
}

/// A `db_dump -p`-style input for `db5.3_load`: the header blobs under their record numbers
/// (keys in the file's byte order, as RPM writes them), plus RPM's counter under key 0.
fn dump(blobs: &[(u32, Vec<u8>)], page_size: u32, big_endian: bool) -> String {
    let num = |n: u32| {
        hex::encode(if big_endian {
            n.to_be_bytes()
        } else {
            n.to_le_bytes()
        })
    };
    let lorder = if big_endian { 4321 } else { 1234 };
    let mut s = format!(
        "VERSION=3\nformat=bytevalue\ntype=hash\ndb_pagesize={page_size}\ndb_lorder={lorder}\nHEADER=END\n"
    );
    s.push_str(&format!(" {}\n {}\n", num(0), num(blobs.len() as u32 + 1)));
    for (n, blob) in blobs {
        s.push_str(&format!(" {}\n {}\n", num(*n), hex::encode(blob)));
    }
    s.push_str("DATA=END\n");
    s
}

#[test]
fn reads_genuine_berkeley_db_rpm_databases() {
    let load = ["db5.3_load", "db_load"]
        .into_iter()
        .find(|t| have(t, "-V"));
    let tools = have("rpm", "--version") && have("rpmbuild", "--version");
    let Some(load) = load.filter(|_| tools) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but rpm, rpmbuild or db5.3_load is missing (apt-get install rpm db5.3-util)"
        );
        eprintln!(
            "\n*** SKIPPED reads_genuine_berkeley_db_rpm_databases: rpm, rpmbuild or db5.3_load \
             missing (apt-get install rpm db5.3-util) ***\n"
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let top = tmp.path().join("top");
    std::fs::create_dir_all(top.join("SPECS")).unwrap();
    for (name, text) in [("tiny", TINY), ("big", BIG)] {
        let spec = top.join("SPECS").join(format!("{name}.spec"));
        std::fs::write(&spec, text).unwrap();
        run(Command::new("rpmbuild")
            .arg("--quiet")
            .args(["--define", &format!("_topdir {}", top.display())])
            .arg("-bb")
            .arg(&spec));
    }
    let mut rpms = Vec::new();
    for dir in std::fs::read_dir(top.join("RPMS")).unwrap() {
        for f in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            rpms.push(f.unwrap().path());
        }
    }
    assert_eq!(rpms.len(), 2, "{rpms:?}");
    let sqlite_db = tmp.path().join("sqlite-db");
    std::fs::create_dir_all(&sqlite_db).unwrap();
    run(Command::new("rpm").arg("--dbpath").arg(&sqlite_db).args([
        "--define",
        "_db_backend sqlite",
        "--initdb",
    ]));
    run(Command::new("rpm")
        .args(["-i", "--justdb", "--nodeps", "--noscripts", "--dbpath"])
        .arg(&sqlite_db)
        .args(["--define", "_db_backend sqlite"])
        .args(&rpms));
    let expected = rpm_qa(&sqlite_db, "sqlite");
    assert_eq!(expected.len(), 2, "{expected:?}");

    let conn = rusqlite::Connection::open(sqlite_db.join("rpmdb.sqlite")).unwrap();
    let blobs: Vec<(u32, Vec<u8>)> = conn
        .prepare("SELECT hnum, blob FROM Packages ORDER BY hnum")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let largest = blobs.iter().map(|(_, b)| b.len()).max().unwrap();
    assert!(
        largest > 65_536 / 2,
        "the big header ({largest} bytes) spills at every page size"
    );

    for (page_size, big_endian) in [(512, true), (4096, false), (16_384, true), (65_536, false)] {
        let what = format!("page size {page_size}, big-endian {big_endian}");
        let dir = tmp.path().join(format!("bdb-{page_size}-{big_endian}"));
        std::fs::create_dir_all(&dir).unwrap();
        let input = dir.join("dump.txt");
        std::fs::write(&input, dump(&blobs, page_size, big_endian)).unwrap();
        let packages = dir.join("Packages");
        run(Command::new(load).arg("-f").arg(&input).arg(&packages));
        std::fs::remove_file(&input).unwrap();
        // RPM itself reads the file as its database.
        assert_eq!(rpm_qa(&dir, "bdb_ro"), expected, "rpm's reader, {what}");

        let headers = read_rpmdb_bdb(&packages).unwrap();
        let got: BTreeSet<Nevra> = headers
            .iter()
            .map(|h| {
                (
                    h.name.clone(),
                    h.epoch,
                    h.version.clone(),
                    h.release.clone(),
                    h.arch.clone(),
                )
            })
            .collect();
        assert_eq!(headers.len(), 2, "{what}");
        assert_eq!(got, expected, "{what}");

        // The collector, over a host tree whose only RPM database is this file.
        let root = dir.join("root");
        std::fs::create_dir_all(root.join("var/lib/rpm")).unwrap();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(
            root.join("etc/os-release"),
            "ID=\"centos\"\nVERSION_ID=\"7\"\n",
        )
        .unwrap();
        std::fs::copy(&packages, root.join("var/lib/rpm/Packages")).unwrap();
        let inv = portcullis_inspector_agent::collect(&CollectOptions {
            root: root.clone(),
            run_commands: false,
            ..CollectOptions::default()
        });
        let listed: BTreeSet<(String, String)> = inv
            .packages
            .iter()
            .filter(|p| p.manager == "rpm")
            .map(|p| (p.package.name.clone(), p.package.version.clone()))
            .collect();
        let want: BTreeSet<(String, String)> = [
            ("big-files".to_owned(), "0.9-1".to_owned()),
            ("tiny-tool".to_owned(), "2:1.2.3-4.el7".to_owned()),
        ]
        .into();
        assert_eq!(listed, want, "{what}");

        // Truncated copies of the genuine file never panic.
        let bytes = std::fs::read(&packages).unwrap();
        for cut in (0..bytes.len()).step_by(bytes.len() / 97 + 1) {
            let _ = portcullis_inspector_agent::collect::bdb::hash_values(&bytes[..cut]);
        }
    }
}
