//! The request-head watchdog of an HTTP/1 client connection: one long-lived timer per connection instead of
//! hyper's per-request header-read timer.
//!
//! hyper's `header_read_timeout` makes a fresh `Sleep` for every request head; registering it wakes the runtime's
//! time driver (an eventfd write and a spurious `epoll_wait` return) and takes the timer wheel's lock, on every
//! request. The watchdog instead sleeps until the earliest moment the connection could be overdue, reads where
//! the connection stands from the read tap ([`HeadChecks::head_deadline`]: idle since the last response ended, or
//! part of a head since its first bytes, or serving a request), and either closes it or sleeps again. It is
//! re-armed only when it fires: at most once per timeout per connection, whatever the request rate.
//!
//! Behaviour kept from hyper (which served HTTP/1 before `crate::h1`): an idle keep-alive connection (or one that never sent anything) is closed
//! `timeout` after it went idle; a head that has not completed `timeout` after it started is closed without an
//! answer. A request being served (slow body, slow upstream, long response) is never cut by this timer.

use std::time::Duration;

use tokio::time::Instant;

use crate::sniff::HeadChecks;

/// The shortest re-arm interval (a zero timeout must not spin).
const MIN_PERIOD: Duration = Duration::from_millis(10);

/// Resolves when the connection has waited for a request head longer than `timeout`: `true` when part of a head
/// had arrived (a slow head), `false` for an idle connection. Never resolves while requests keep completing.
pub(crate) async fn overdue(checks: &HeadChecks, timeout: Duration) -> bool {
    let period = timeout.max(MIN_PERIOD);
    let sleep = tokio::time::sleep(period);
    tokio::pin!(sleep);
    loop {
        sleep.as_mut().await;
        let now = Instant::now();
        match checks.head_deadline(timeout).map(Instant::from_std) {
            Some(deadline) if deadline <= now => return checks.head_pending(),
            // Not overdue yet: it cannot be before its deadline.
            Some(deadline) => sleep.as_mut().reset(deadline.max(now + MIN_PERIOD)),
            // Serving a request (or not followed): any wait for a head starts after now.
            None => sleep.as_mut().reset(now + period),
        }
    }
}
