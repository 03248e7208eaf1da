//! Shares of the relay's memory and flow table among apps, so that one app
//! (hostile, or broken and retrying) cannot take what the others need.
//!
//! The TCP socket buffers are the relay's largest memory: each flow holds up
//! to [`RelayConfig::tcp_app_buffer`](super::RelayConfig) from the app and as
//! much from the server. Bounding them per flow bounds nothing when an app
//! opens thousands of flows, so they are taken from one budget for all flows
//! together. A flow gets full-size buffers while the budget and its app's
//! share of it allow, then small ones ([`SMALL_BUFFER`] each way: slower on
//! a distant server, never stuck); when even those do not fit, the flow is
//! refused. One app's flows, small ones included, hold at most
//! [`FlowLimits::app_buffer_cap`], so a quarter of the budget is always left
//! to the other apps: without that cap, an app that opened a thousand flows
//! and never read them took the whole budget, and every other app's new
//! connections were refused (measured with `tests/bench/relay.sh --flood`).
//! The quarter is kept whole against several such apps too: an app past it
//! takes more only while a quarter stays free.
//! Each app (the unknown owner counting as one) may also hold only so many
//! open flows and connects under way.
//!
//! Invariants: `buffers_in_use` is the sum of the buffers of the flows
//! admitted and not yet released, and never exceeds the budget; each app's
//! counts are those of its admitted flows, and its buffers never exceed its
//! cap.

use std::collections::HashMap;

/// Bytes each way given to a flow once full-size buffers no longer fit:
/// room for a ClientHello, a request, and a window that keeps the flow moving.
pub(crate) const SMALL_BUFFER: usize = 16 * 1024;

/// The limits the budget enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowLimits {
    /// Bytes of TCP socket buffers (both directions) for all flows together.
    pub buffer_budget: usize,
    /// The part of [`Self::buffer_budget`] one app's flows may hold at full
    /// size; past it, its new flows get small buffers.
    pub app_buffer_share: usize,
    /// The most of [`Self::buffer_budget`] one app's flows may hold at all,
    /// small buffers included; past it, its new flows are refused. Below the
    /// budget, so that other apps always find room.
    pub app_buffer_cap: usize,
    /// Open TCP flows one app may hold.
    pub app_tcp_flows: usize,
    /// TCP flows one app may hold whose server connect is still under way.
    pub app_connects: usize,
    /// Open UDP flows one app may hold.
    pub app_udp_flows: usize,
    /// New flows (and DNS queries) whose owner is being looked up at once,
    /// for all apps. Past it, a new flow's packet is dropped, counted, and
    /// the app sends it again: judging it as the unknown owner's instead
    /// would let an app that floods lookups slip past its own mode.
    pub awaiting_owner: usize,
}

impl Default for FlowLimits {
    fn default() -> Self {
        Self {
            // 64 MiB: 128 flows at the default 256 KiB each way, then about
            // 2,000 more at the small size. One app: 64 flows at full size,
            // then about 500 small ones; 16 MiB is always left to the others.
            buffer_budget: 64 << 20,
            app_buffer_share: 32 << 20,
            app_buffer_cap: 48 << 20,
            app_tcp_flows: 4096,
            app_connects: 256,
            app_udp_flows: 1024,
            awaiting_owner: 4096,
        }
    }
}

impl FlowLimits {
    /// The default limits with another buffer budget: one app may hold half
    /// of it at full size and three quarters of it in all, as by default.
    pub fn with_buffer_budget(buffer_budget: usize) -> Self {
        Self {
            buffer_budget,
            app_buffer_share: buffer_budget / 2,
            app_buffer_cap: buffer_budget / 4 * 3,
            ..Self::default()
        }
    }
}

/// Why a new flow was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Not even small buffers fit in what is left of the budget.
    Memory,
    /// The app holds as many open flows as it may.
    AppFlows,
    /// The app's flows hold as many buffer bytes as one app may.
    AppMemory,
    /// The app has as many connects under way as it may.
    AppConnects,
}

/// The buffers a TCP flow was given, to be handed back when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TcpGrant {
    pub app_buffer: usize,
    pub server_buffer: usize,
    /// Given less than the configured size (the budget or the app's share
    /// was nearly used).
    pub small: bool,
}

impl TcpGrant {
    fn bytes(&self) -> usize {
        self.app_buffer + self.server_buffer
    }
}

#[derive(Debug, Default)]
struct AppShare {
    tcp_flows: usize,
    connects: usize,
    udp_flows: usize,
    buffers: usize,
}

/// What the relay's flows hold, in total and per app.
#[derive(Debug)]
pub(crate) struct FlowBudget {
    limits: FlowLimits,
    buffers_in_use: usize,
    apps: HashMap<Option<u32>, AppShare>,
}

impl FlowBudget {
    pub fn new(limits: FlowLimits) -> Self {
        Self {
            limits,
            buffers_in_use: 0,
            apps: HashMap::new(),
        }
    }

    /// Bytes of TCP buffers the open flows hold.
    pub fn buffers_in_use(&self) -> usize {
        self.buffers_in_use
    }

    /// Bytes the budget has left, for first bytes held during inspection.
    /// What `uid` may still take for first bytes held: what the budget has
    /// left, within the app's cap, and leaving the reserve to lighter apps
    /// as new flows must (see [`Self::admit_tcp`]).
    pub fn room_for(&self, uid: Option<u32>) -> usize {
        let limits = self.limits;
        let free = limits.buffer_budget.saturating_sub(self.buffers_in_use);
        let held = self.apps.get(&uid).map_or(0, |share| share.buffers);
        let under_cap = limits.app_buffer_cap.saturating_sub(held);
        let reserve = limits.buffer_budget.saturating_sub(limits.app_buffer_cap);
        let keeping_reserve = (reserve / 4)
            .saturating_sub(held)
            .max(free.saturating_sub(reserve));
        free.min(under_cap).min(keeping_reserve)
    }

    /// Takes `bytes` of first bytes held by a flow of `uid` (at most
    /// [`Self::room_for`]): they count against its app as its buffers do,
    /// so that a flood of stalled requests cannot eat the reserve.
    pub fn charge_held(&mut self, uid: Option<u32>, bytes: usize) {
        self.buffers_in_use += bytes;
        if let Some(share) = self.apps.get_mut(&uid) {
            share.buffers += bytes;
        }
    }

    /// Gives back first bytes held, once the flow's inspection is over.
    pub fn release_held(&mut self, uid: Option<u32>, bytes: usize) {
        self.buffers_in_use = self.buffers_in_use.saturating_sub(bytes);
        if let Some(share) = self.apps.get_mut(&uid) {
            share.buffers = share.buffers.saturating_sub(bytes);
        }
    }

    /// Admits a new TCP flow of `uid` whose connect is under way (`connecting`;
    /// false for flows Hush answers itself, as DNS over TCP), with buffers of
    /// `app_buffer` and `server_buffer` bytes if they fit.
    pub fn admit_tcp(
        &mut self,
        uid: Option<u32>,
        app_buffer: usize,
        server_buffer: usize,
        connecting: bool,
    ) -> Result<TcpGrant, Refusal> {
        let limits = self.limits;
        // Looked up, not inserted: a refused app leaves no entry behind.
        let empty = AppShare::default();
        let share = self.apps.get(&uid).unwrap_or(&empty);
        if share.tcp_flows >= limits.app_tcp_flows {
            return Err(Refusal::AppFlows);
        }
        if connecting && share.connects >= limits.app_connects {
            return Err(Refusal::AppConnects);
        }
        let full = TcpGrant {
            app_buffer,
            server_buffer,
            small: false,
        };
        let small = TcpGrant {
            app_buffer: app_buffer.min(SMALL_BUFFER),
            server_buffer: server_buffer.min(SMALL_BUFFER),
            small: true,
        };
        let fits = |grant: &TcpGrant| self.buffers_in_use + grant.bytes() <= limits.buffer_budget;
        // What the cap leaves of the budget (the reserve) is kept for the
        // apps that hold little: an app past a quarter of it takes more
        // only while the whole reserve stays free. Each app's cap alone did
        // not keep it: two apps (or an app and the unknown owner, whose
        // flows are SYNs no socket sent) each held their cap, together more
        // than the budget; and an app counted as small up to the whole
        // reserve could fill it beside another past it. Either way a third
        // app's connects were refused (tests/bench/hostile.sh).
        let reserve = limits.buffer_budget.saturating_sub(limits.app_buffer_cap);
        // At least one full-size flow: an app holding nothing always gets one
        // while the reserve is free.
        let floor = (reserve / 4).max(full.bytes());
        let leaves_reserve = |grant: &TcpGrant| {
            share.buffers + grant.bytes() <= floor
                || self.buffers_in_use + grant.bytes() + reserve <= limits.buffer_budget
        };
        let grant = if fits(&full)
            && leaves_reserve(&full)
            && share.buffers + full.bytes() <= limits.app_buffer_share
        {
            full
        } else if !fits(&small) {
            return Err(Refusal::Memory);
        } else if share.buffers + small.bytes() <= limits.app_buffer_cap && leaves_reserve(&small) {
            small
        } else {
            return Err(Refusal::AppMemory);
        };
        let share = self.apps.entry(uid).or_default();
        share.tcp_flows += 1;
        share.connects += usize::from(connecting);
        share.buffers += grant.bytes();
        self.buffers_in_use += grant.bytes();
        Ok(grant)
    }

    /// A flow of `uid`'s connect finished (either way), while the flow lives on.
    pub fn connect_done(&mut self, uid: Option<u32>) {
        if let Some(share) = self.apps.get_mut(&uid) {
            share.connects = share.connects.saturating_sub(1);
        }
    }

    /// A TCP flow of `uid` ended; `connecting` if its connect was still under way.
    pub fn release_tcp(&mut self, uid: Option<u32>, grant: TcpGrant, connecting: bool) {
        self.buffers_in_use = self.buffers_in_use.saturating_sub(grant.bytes());
        if let Some(share) = self.apps.get_mut(&uid) {
            share.tcp_flows = share.tcp_flows.saturating_sub(1);
            if connecting {
                share.connects = share.connects.saturating_sub(1);
            }
            share.buffers = share.buffers.saturating_sub(grant.bytes());
        }
        self.forget_if_idle(uid);
    }

    /// Admits a new UDP flow of `uid`.
    pub fn admit_udp(&mut self, uid: Option<u32>) -> Result<(), Refusal> {
        if self
            .apps
            .get(&uid)
            .is_some_and(|s| s.udp_flows >= self.limits.app_udp_flows)
        {
            return Err(Refusal::AppFlows);
        }
        self.apps.entry(uid).or_default().udp_flows += 1;
        Ok(())
    }

    pub fn release_udp(&mut self, uid: Option<u32>) {
        if let Some(share) = self.apps.get_mut(&uid) {
            share.udp_flows = share.udp_flows.saturating_sub(1);
        }
        self.forget_if_idle(uid);
    }

    /// Drops an app's entry once it holds nothing, so the map stays as small
    /// as the set of apps with open flows.
    fn forget_if_idle(&mut self, uid: Option<u32>) {
        if self
            .apps
            .get(&uid)
            .is_some_and(|s| s.tcp_flows == 0 && s.udp_flows == 0)
        {
            self.apps.remove(&uid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIB: usize = 1024;

    fn limits() -> FlowLimits {
        FlowLimits {
            buffer_budget: 1024 * KIB,
            app_buffer_share: 512 * KIB,
            app_buffer_cap: 768 * KIB,
            app_tcp_flows: 100,
            app_connects: 3,
            app_udp_flows: 2,
            awaiting_owner: 16,
        }
    }

    /// A budget whose per-app flow count never binds: memory does.
    fn flows_capped_by_memory_alone() -> FlowBudget {
        FlowBudget::new(FlowLimits {
            app_tcp_flows: 10_000,
            ..limits()
        })
    }

    #[test]
    fn an_app_past_its_share_gets_small_buffers_and_others_still_get_full_ones() {
        let mut budget = FlowBudget::new(limits());
        let hog = Some(10_001);
        // 256 KiB a flow: two fill the hog's 512 KiB share.
        for _ in 0..2 {
            let grant = budget.admit_tcp(hog, 128 * KIB, 128 * KIB, false).unwrap();
            assert!(!grant.small);
        }
        let third = budget.admit_tcp(hog, 128 * KIB, 128 * KIB, false).unwrap();
        assert!(third.small);
        assert_eq!(third.app_buffer, SMALL_BUFFER);
        let other = budget
            .admit_tcp(Some(10_002), 128 * KIB, 128 * KIB, false)
            .unwrap();
        assert!(!other.small, "another app still gets full-size buffers");
        assert_eq!(budget.buffers_in_use(), 3 * 256 * KIB + 2 * SMALL_BUFFER);
    }

    #[test]
    fn one_app_cannot_take_the_whole_budget_from_the_others() {
        let mut budget = flows_capped_by_memory_alone();
        let hog = Some(10_666);
        let mut admitted = 0;
        let refusal = loop {
            match budget.admit_tcp(hog, 128 * KIB, 128 * KIB, false) {
                Ok(_) => admitted += 1,
                Err(refusal) => break refusal,
            }
            assert!(admitted < 1000, "the hog is never refused");
        };
        assert_eq!(refusal, Refusal::AppMemory);
        assert!(budget.apps[&hog].buffers <= limits().app_buffer_cap);
        // What is left is the others', a full-size flow first.
        let other = Some(10_001);
        let first = budget
            .admit_tcp(other, 128 * KIB, 128 * KIB, false)
            .unwrap();
        assert!(!first.small);
        while budget.admit_tcp(other, 128 * KIB, 128 * KIB, false).is_ok() {}
        assert_eq!(
            budget.apps[&other].buffers,
            limits().buffer_budget - limits().app_buffer_cap,
            "the other app had all the hog left"
        );
        assert!(budget.buffers_in_use() <= limits().buffer_budget);
    }

    #[test]
    fn two_hogs_together_leave_the_reserve_to_a_third_app() {
        let mut budget = flows_capped_by_memory_alone();
        // A hostile app and the unknown owner (flows no socket sent) take
        // turns asking for as much as they can.
        let hogs = [Some(10_666), None];
        let mut refused = [false; 2];
        while refused != [true; 2] {
            for (hog, refused) in hogs.iter().zip(refused.iter_mut()) {
                if !*refused {
                    *refused = budget.admit_tcp(*hog, 128 * KIB, 128 * KIB, false).is_err();
                }
            }
        }
        // Together they leave the reserve, but for what the last may take
        // while it holds less than a quarter of it.
        let reserve = limits().buffer_budget - limits().app_buffer_cap;
        let held: usize = hogs.iter().map(|hog| budget.apps[hog].buffers).sum();
        assert!(
            held + reserve <= limits().buffer_budget + reserve / 4,
            "{held}"
        );
        // The third app finds the reserve whole: a full-size flow first.
        let victim = Some(10_001);
        assert!(
            !budget
                .admit_tcp(victim, 128 * KIB, 128 * KIB, false)
                .unwrap()
                .small
        );
        while budget
            .admit_tcp(victim, 128 * KIB, 128 * KIB, false)
            .is_ok()
        {}
        assert!(budget.apps[&victim].buffers + SMALL_BUFFER * 2 > reserve);
        assert!(budget.buffers_in_use() <= limits().buffer_budget);
    }

    #[test]
    fn first_bytes_held_count_against_their_app_and_leave_the_reserve() {
        let mut budget = flows_capped_by_memory_alone();
        // A hog's flows each hold as many stalled first bytes as it may.
        let hog = Some(10_666);
        for _ in 0..200 {
            if budget.admit_tcp(hog, 8 * KIB, 8 * KIB, false).is_err() {
                break;
            }
            let room = budget.room_for(hog).min(16 * KIB);
            budget.charge_held(hog, room);
        }
        let reserve = limits().buffer_budget - limits().app_buffer_cap;
        assert!(budget.buffers_in_use() + reserve <= limits().buffer_budget);
        assert_eq!(budget.room_for(hog), 0);
        // Held bytes given back are the hog's again.
        budget.release_held(hog, 64 * KIB);
        assert_eq!(budget.room_for(hog), 64 * KIB);
        // Another app still gets a full-size flow.
        let victim = Some(10_001);
        assert!(
            !budget
                .admit_tcp(victim, 128 * KIB, 128 * KIB, false)
                .unwrap()
                .small
        );
    }

    #[test]
    fn the_total_never_exceeds_the_budget_and_frees_on_release() {
        let mut budget = FlowBudget::new(limits());
        let mut grants = Vec::new();
        let mut refused = 0;
        for uid in 0..200u32 {
            match budget.admit_tcp(Some(uid % 7), 128 * KIB, 128 * KIB, false) {
                Ok(grant) => grants.push((uid % 7, grant)),
                Err(Refusal::Memory) => refused += 1,
                Err(other) => panic!("unexpected refusal {other:?}"),
            }
            assert!(budget.buffers_in_use() <= limits().buffer_budget);
        }
        assert!(refused > 0, "200 flows of 256 KiB cannot all fit in 1 MiB");
        assert_eq!(
            budget.admit_tcp(Some(99), 128 * KIB, 128 * KIB, false),
            Err(Refusal::Memory)
        );
        for (uid, grant) in grants {
            budget.release_tcp(Some(uid), grant, false);
        }
        assert_eq!(budget.buffers_in_use(), 0);
        assert!(budget.apps.is_empty(), "no app entry outlives its flows");
        assert!(budget
            .admit_tcp(Some(99), 128 * KIB, 128 * KIB, false)
            .is_ok());
    }

    #[test]
    fn connects_under_way_and_open_flows_are_capped_per_app() {
        let mut budget = FlowBudget::new(limits());
        let app = Some(10_003);
        let mut grants = Vec::new();
        for _ in 0..3 {
            grants.push(budget.admit_tcp(app, KIB, KIB, true).unwrap());
        }
        assert_eq!(
            budget.admit_tcp(app, KIB, KIB, true),
            Err(Refusal::AppConnects)
        );
        // Flows Hush answers itself need no connect slot.
        assert!(budget.admit_tcp(app, KIB, KIB, false).is_ok());
        // Another app is not held back by this one's connects.
        assert!(budget.admit_tcp(None, KIB, KIB, true).is_ok());
        budget.connect_done(app);
        assert!(budget.admit_tcp(app, KIB, KIB, true).is_ok());
        let grant = grants.pop().unwrap();
        budget.release_tcp(app, grant, true);
        assert!(budget.admit_tcp(app, KIB, KIB, true).is_ok());

        assert!(budget.admit_udp(app).is_ok());
        assert!(budget.admit_udp(app).is_ok());
        assert_eq!(budget.admit_udp(app), Err(Refusal::AppFlows));
        budget.release_udp(app);
        assert!(budget.admit_udp(app).is_ok());
    }

    #[test]
    fn open_flows_are_capped_per_app() {
        let mut budget = FlowBudget::new(FlowLimits {
            app_tcp_flows: 4,
            ..limits()
        });
        for _ in 0..4 {
            budget.admit_tcp(Some(1), KIB, KIB, false).unwrap();
        }
        assert_eq!(
            budget.admit_tcp(Some(1), KIB, KIB, false),
            Err(Refusal::AppFlows)
        );
        assert!(budget.admit_tcp(Some(2), KIB, KIB, false).is_ok());
    }
}
