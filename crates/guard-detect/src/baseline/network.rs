//! Per-instance network profiles from VPC Flow Logs and the "no prior history" flow types
//! (reference guard.md §2.3, §8.1):
//!
//! * Behavior:EC2/NetworkPortUnusual — an instance opens a connection to a public host on a
//!   remote port it has never used.
//! * Backdoor:EC2/Spambot — the same for port 25 (SMTP), which an instance that never sent
//!   mail suddenly does.
//! * Behavior:EC2/TrafficVolumeUnusual — the bytes an instance sends to one public host in one
//!   flow window exceed [`VOLUME_FACTOR`](super::VOLUME_FACTOR) × its usual per-host window
//!   (an exponentially weighted mean), its largest earlier window, and
//!   [`VOLUME_MIN_BYTES`](super::VOLUME_MIN_BYTES).
//!
//! An instance is our (non-public) address. A flow is a connection the instance opened when
//! its source port is above 1023 and above the destination port (a client's ephemeral port).
//! Nothing is reported during the learning period, nor before the instance has
//! [`INSTANCE_MIN_HISTORY_SECS`](super::INSTANCE_MIN_HISTORY_SECS) of history. Profiles are
//! keyed by our addresses only, so a million remote sources cost nothing here; the per-host
//! volume windows sit in a [`BoundedMap`](crate::window::BoundedMap).

use std::net::IpAddr;

use portcullis_guard_core::record::{FlowAction, FlowRecord};
use serde_json::json;

use super::profile::MAX_PORTS;
use super::{Baselines, INSTANCE_MIN_HISTORY_SECS, VOLUME_MIN_SAMPLES};
use crate::engine::{Ctx, Loc, instance_resource, ip_details};
use crate::finding::Action;
use crate::finding::severity::MEDIUM;
use crate::flow::Endpoints;
use crate::store::Detection;

/// Weight of a new window in the volume mean.
const VOLUME_ALPHA: f64 = 0.2;

/// Bytes sent to one host in the current window.
#[derive(Debug, Clone, Copy, Default)]
pub struct VolumeWindow {
    start: i64,
    bytes: u64,
    fired: bool,
}

fn port_name(p: u16) -> &'static str {
    match p {
        25 => "SMTP",
        22 => "SSH",
        53 => "DNS",
        80 => "HTTP",
        443 => "HTTPS",
        _ => "Unknown",
    }
}

#[allow(clippy::too_many_arguments)]
fn detection(
    rec: &FlowRecord<'_>,
    ours: IpAddr,
    remote: IpAddr,
    lport: u16,
    rport: u16,
    ty: &'static str,
    t: i64,
    loc: Loc,
    ctx: &Ctx<'_>,
) -> Detection {
    let resource = instance_resource(ours, rec.interface_id, rec.instance_id, rec.vpc_id);
    let mut d = Detection::new(ty, MEDIUM, resource, t);
    d.resource_key = ours.to_string();
    d.role = Some("ACTOR");
    d.action = Action {
        action_type: "NETWORK_CONNECTION".into(),
        network_connection_action: Some(json!({
            "blocked": false,
            "connectionDirection": "OUTBOUND",
            "localIpDetails": ip_details(ours),
            "localPortDetails": {"port": lport, "portName": port_name(lport)},
            "protocol": match rec.protocol { Some(6) => "TCP", Some(17) => "UDP", _ => "Unknown" },
            "remoteIpDetails": ip_details(remote),
            "remotePortDetails": {"port": rport, "portName": port_name(rport)},
        })),
        ..Action::default()
    };
    d.account_id = rec.account_id.map(str::to_owned);
    d.region = rec.region.map(str::to_owned);
    d.locations = vec![ctx.loc(loc)];
    d
}

/// Classifies one flow (whose endpoints are `ends`) against its instance's profile, then
/// adds it to the profile.
pub fn observe(
    b: &mut Baselines,
    rec: &FlowRecord<'_>,
    ends: &Endpoints,
    t: i64,
    loc: Loc,
    ctx: &Ctx<'_>,
    out: &mut Vec<Detection>,
) {
    if ends.src_public || !ends.dst_public {
        return;
    }
    let (src, dst) = (ends.src, ends.dst);
    b.clock(t);
    let (sp, dp) = (rec.srcport.unwrap_or(0), rec.dstport.unwrap_or(0));
    let accepted = rec.action != Some(FlowAction::Reject);
    let ported = matches!(rec.protocol, Some(6 | 17)) && dp != 0;
    let initiated = accepted && ported && sp > 1023 && sp > dp;
    let bytes = rec.bytes.unwrap_or(0);
    let ready = !b.learning(t)
        && b.instances
            .get(&src)
            .is_some_and(|p| t.saturating_sub(p.first_seen) >= INSTANCE_MIN_HISTORY_SECS);

    if initiated
        && ready
        && let Some(p) = b.instances.get(&src)
        && p.ports.get(&dp).is_none()
    {
        let (ty, what) = if dp == 25 {
            (
                "Backdoor:EC2/Spambot",
                "sent SMTP traffic (port 25), which it had never done",
            )
        } else {
            (
                "Behavior:EC2/NetworkPortUnusual",
                "connected on a remote port it had never used",
            )
        };
        let mut d = detection(rec, src, dst, sp, dp, ty, t, loc, ctx);
        d.key = dp.to_string();
        d.title = format!("EC2 instance {src} is communicating with {dst} on unusual port {dp}.");
        d.description = format!(
            "{src} {what}: {dst}:{dp}. Its profile ({} s of history) holds {} remote port(s).",
            t.saturating_sub(p.first_seen),
            p.ports.len()
        );
        let usual: Vec<u16> = p.ports.iter().map(|(k, _)| *k).take(20).collect();
        d.info.push(("unusualPort", json!(dp)));
        d.info.push(("profiledPorts", json!(usual)));
        d.info.push((
            "unusualBehavior",
            json!({"remotePort": {"profileType": "FREQUENCY", "profileSubtype": "UNSEEN",
                   "observations": {"number": [dp]}}}),
        ));
        out.push(d);
    }

    if bytes > 0 && accepted {
        let window = b.window;
        let w = b.volume.entry((src, dst), t, || VolumeWindow {
            start: t,
            ..VolumeWindow::default()
        });
        let mut folded = None;
        if t.saturating_sub(w.start) > window {
            folded = Some(w.bytes);
            *w = VolumeWindow {
                start: t,
                ..VolumeWindow::default()
            };
        }
        w.bytes = w.bytes.saturating_add(bytes);
        let (total, fired) = (w.bytes, w.fired);
        if let Some(prev) = folded
            && let Some(p) = b.instances.get_mut(&src)
        {
            fold(p, prev);
        }
        let usual = b
            .instances
            .get(&src)
            .filter(|p| p.volume_samples >= VOLUME_MIN_SAMPLES)
            .map(|p| (p.volume_mean.max(1.0), p.volume_peak));
        if !fired
            && ready
            && let Some((mean, peak)) = usual
            && total > b.volume_min_bytes
            && total > peak
            && (total as f64) > b.volume_factor * mean
        {
            if let Some(w) = b.volume.get_mut(&(src, dst)) {
                w.fired = true;
            }
            let mut d = detection(
                rec,
                src,
                dst,
                sp,
                dp,
                "Behavior:EC2/TrafficVolumeUnusual",
                t,
                loc,
                ctx,
            );
            d.key = dst.to_string();
            d.title = format!(
                "EC2 instance {src} is sending an unusually large amount of data to {dst}."
            );
            d.description = format!(
                "{src} sent {total} bytes to {dst} within {window} s; its usual per-host window is {mean:.0} bytes (largest {peak}); threshold {}× and {} bytes.",
                b.volume_factor, b.volume_min_bytes
            );
            d.info.push(("bytes", json!(total)));
            d.info.push(("usualBytes", json!(mean.round())));
            d.info.push((
                "unusualBehavior",
                json!({"bytesSent": {"profileType": "VOLUME", "profileSubtype": "AVERAGE",
                       "observations": {"number": [total]}}}),
            ));
            out.push(d);
        }
    }

    let p = b.instances.entry(src, t, Default::default);
    if p.last_seen == 0 && p.first_seen == 0 {
        p.first_seen = t;
    }
    p.first_seen = p.first_seen.min(t);
    p.last_seen = p.last_seen.max(t);
    if initiated {
        p.ports.touch(dp, t, MAX_PORTS);
    }
    b.mark_instance(src);
}

/// Folds a finished window's bytes into the instance's volume statistics.
fn fold(p: &mut super::InstanceProfile, bytes: u64) {
    let x = bytes as f64;
    p.volume_mean = if p.volume_samples == 0 {
        x
    } else {
        p.volume_mean + VOLUME_ALPHA * (x - p.volume_mean)
    };
    p.volume_samples = p.volume_samples.saturating_add(1);
    p.volume_peak = p.volume_peak.max(bytes);
}
