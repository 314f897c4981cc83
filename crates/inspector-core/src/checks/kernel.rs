//! Kernel hardening checks over runtime sysctls and CPU flags.

use super::{Check, CheckSeverity, Outcome, setting};

/// Inspector Classic SBP: enable ASLR.
pub(super) const ASLR: Check = Check {
    id: "PCS-KERNEL-ASLR",
    title: "Enable address space layout randomization (ASLR)",
    severity: CheckSeverity::Medium,
    rationale: "Without full randomization of stack, libraries, mmap and heap addresses, memory-corruption exploits \
                can rely on fixed addresses.",
    remediation: "Run `sysctl -w kernel.randomize_va_space=2` and persist it with `kernel.randomize_va_space = 2` in \
                  /etc/sysctl.d/.",
    reads: "/proc/sys/kernel/randomize_va_space",
    run: |inv| match setting(&inv.sysctls, "kernel.randomize_va_space") {
        None => Outcome::NotApplicable("kernel.randomize_va_space was not reported".into()),
        Some("2") => Outcome::Pass,
        Some(v) => Outcome::Fail(format!(
            "kernel.randomize_va_space is {v} ({}); 2 randomizes the heap too.",
            match v {
                "0" => "ASLR disabled",
                "1" => "partial randomization",
                _ => "unknown value",
            }
        )),
    },
};

/// Whether the architecture is x86, where DEP is the `nx` flag.
fn is_x86(arch: &str) -> bool {
    matches!(
        arch,
        "x86_64" | "x86" | "i386" | "i486" | "i586" | "i686" | "amd64"
    )
}

/// Inspector Classic SBP: enable DEP (not applicable on ARM).
pub(super) const DEP: Check = Check {
    id: "PCS-KERNEL-DEP",
    title: "Enable data execution prevention (DEP)",
    severity: CheckSeverity::Medium,
    rationale: "Without the no-execute (NX) bit, code injected into the stack or heap can be run directly.",
    remediation: "Enable NX/XD (\"Execute Disable\") in the firmware or hypervisor, and boot a kernel with PAE/NX \
                  support without `noexec=off` on its command line.",
    reads: "/proc/cpuinfo",
    run: |inv| {
        if !is_x86(&inv.os.arch) {
            return Outcome::NotApplicable(format!(
                "DEP is checked on x86 only; the architecture is `{}`",
                inv.os.arch
            ));
        }
        if inv.cpu_flags.iter().any(|f| f == "nx") {
            Outcome::Pass
        } else {
            Outcome::Fail(format!(
                "The CPU does not report the `nx` flag on this {} host: data execution prevention is off.",
                inv.os.arch
            ))
        }
    },
};

/// Core dumps of setuid programs (OpenSCAP, Lynis KRNL-5820).
pub(super) const SUID_DUMPABLE: Check = Check {
    id: "PCS-KERNEL-SUID-DUMPABLE",
    title: "Disable core dumps of setuid programs",
    severity: CheckSeverity::Low,
    rationale: "A core dump of a privileged program can leak secrets it held in memory (password hashes, keys) to \
                files other users may read.",
    remediation: "Run `sysctl -w fs.suid_dumpable=0` and persist it with `fs.suid_dumpable = 0` in /etc/sysctl.d/.",
    reads: "/proc/sys/fs/suid_dumpable",
    run: |inv| match setting(&inv.sysctls, "fs.suid_dumpable") {
        None => Outcome::NotApplicable("fs.suid_dumpable was not reported".into()),
        Some("0") => Outcome::Pass,
        Some(v) => Outcome::Fail(format!(
            "fs.suid_dumpable is {v}: setuid programs may dump core."
        )),
    },
};

#[cfg(test)]
mod tests {
    use crate::checks::tests::{failed, hardened};

    #[test]
    fn aslr() {
        for (v, fails) in [("2", false), ("1", true), ("0", true)] {
            let mut inv = hardened();
            inv.sysctls
                .insert("kernel.randomize_va_space".into(), v.into());
            assert_eq!(
                failed(&inv).contains(&"PCS-KERNEL-ASLR".to_owned()),
                fails,
                "{v}"
            );
        }
    }

    #[test]
    fn dep_on_x86_only() {
        let mut inv = hardened();
        inv.cpu_flags.clear();
        assert_eq!(failed(&inv), ["PCS-KERNEL-DEP"]);
        inv.os.arch = "aarch64".into();
        assert!(failed(&inv).is_empty(), "not applicable on ARM");
    }

    #[test]
    fn suid_dumpable() {
        let mut inv = hardened();
        inv.sysctls.insert("fs.suid_dumpable".into(), "2".into());
        assert_eq!(failed(&inv), ["PCS-KERNEL-SUID-DUMPABLE"]);
    }
}
