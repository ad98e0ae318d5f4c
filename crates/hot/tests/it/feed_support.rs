//! What every venue feed's tests share.

use std::time::{Duration, Instant};

use kestrel_hot::cex::VenueFeed;
use kestrel_stdx::mono_ns;

/// Poll `feed` until `done` holds, or panic after 10 s naming `what` and the feed's counters.
pub fn poll_until<F: VenueFeed>(feed: &mut F, what: &str, mut done: impl FnMut(&F) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(feed) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for: {what} ({:?})",
            feed.stats()
        );
        feed.poll(mono_ns(), &mut |_| {});
        std::thread::sleep(Duration::from_millis(1));
    }
}
