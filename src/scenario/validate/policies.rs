//! `policies` and `[policy.<name>]` -> [`PolicySpec`]s: which policies a run compares (all
//! of them by default, each at most once) and each one's parameters with their defaults.
//!
//! Only the parameters of listed policies are checked. A built-in policy's parameters go
//! here and in `RawPolicyParams` (`raw.rs`).

use super::check::{at_least_one, non_negative_seconds, positive_seconds};
use super::Result;
use crate::policy::{
    AuctionParams, CentralParams, GossipParams, PolicyKind, PolicySpec, SitaCutoffs,
};
use crate::scenario::raw::{RawAuction, RawCentral, RawGossip, RawPolicyParams, RawSita, Seconds};
use crate::scenario::{Invalid, Service};
use crate::time::SimDuration;

pub(super) fn policies(
    listed: Option<Vec<PolicyKind>>,
    params: &RawPolicyParams,
    services: &[Service],
) -> Result<Vec<PolicySpec>> {
    let kinds = listed.unwrap_or_else(|| PolicyKind::DEFAULT.to_vec());
    if kinds.is_empty() {
        return Err(Invalid::new("policies", "expected at least one policy name"));
    }
    let mut specs = Vec::with_capacity(kinds.len());
    for (i, kind) in kinds.iter().enumerate() {
        if kinds[..i].contains(kind) {
            return Err(Invalid::new(
                format!("policies[{i}]"),
                format!("`{}` is listed twice; each policy may appear once", kind.name()),
            ));
        }
        specs.push(match kind {
            PolicyKind::Random => PolicySpec::Random,
            PolicyKind::RoundRobin => PolicySpec::RoundRobin,
            PolicyKind::LeastOutstanding => PolicySpec::LeastOutstanding,
            PolicyKind::PowerOfD => {
                let d = params.power_of_d.as_ref().and_then(|p| p.d).unwrap_or(2);
                PolicySpec::PowerOfD { d: at_least_one("policy.power_of_d.d", d)? }
            }
            PolicyKind::PeakEwma => {
                let decay = params.peak_ewma.as_ref().and_then(|p| p.decay).map_or(10.0, |d| d.0);
                PolicySpec::PeakEwma { decay: positive_seconds("policy.peak_ewma.decay", decay)? }
            }
            PolicyKind::Central => PolicySpec::Central(central(params.central.as_ref())?),
            PolicyKind::Auction => PolicySpec::Auction(auction(params.auction.as_ref())?),
            PolicyKind::Gossip => PolicySpec::Gossip(gossip(params.gossip.as_ref())?),
            PolicyKind::WeightedRandom => PolicySpec::WeightedRandom,
            PolicyKind::LeastWorkLeft => PolicySpec::LeastWorkLeft,
            PolicyKind::LeastExpectedFinish => PolicySpec::LeastExpectedFinish,
            PolicyKind::Sita => PolicySpec::Sita(sita(params.sita.as_ref())?),
        });
        sizes_known_for(*kind, &format!("policies[{i}]"), services)?;
    }
    Ok(specs)
}

/// A policy that places by request sizes (`least_work_left`, `sita`) needs every service's
/// sizes known to the dispatcher (`sizes_known`).
pub(super) fn sizes_known_for(kind: PolicyKind, field: &str, services: &[Service]) -> Result<()> {
    if !matches!(kind, PolicyKind::LeastWorkLeft | PolicyKind::Sita) {
        return Ok(());
    }
    match services.iter().find(|s| !s.sizes_known) {
        None => Ok(()),
        Some(s) => Err(Invalid::new(
            field,
            format!(
                "`{}` places by request sizes, which the dispatcher of service `{}` is not told: set services.{}.sizes_known = true, or choose a policy that does not need sizes",
                kind.name(),
                s.name,
                s.name
            ),
        )),
    }
}

/// `sita`'s cutoffs: given ones increasing and > 0, at most `SitaCutoffs::MAX`.
fn sita(raw: Option<&RawSita>) -> Result<SitaCutoffs> {
    let Some(given) = raw.and_then(|r| r.cutoffs.as_ref()) else {
        return Ok(SitaCutoffs::default());
    };
    let field = "policy.sita.cutoffs";
    if given.is_empty() || given.len() > SitaCutoffs::MAX {
        return Err(Invalid::new(
            field,
            format!("expected 1 to {} cutoffs, found {}", SitaCutoffs::MAX, given.len()),
        ));
    }
    let mut cutoffs = Vec::with_capacity(given.len());
    for (i, c) in given.iter().enumerate() {
        let c = positive_seconds(&format!("{field}[{i}]"), c.0)?;
        if let Some(&last) = cutoffs.last() {
            if c <= last {
                return Err(Invalid::new(
                    format!("{field}[{i}]"),
                    format!("expected cutoffs in increasing order, found {c} after {last}"),
                ));
            }
        }
        cutoffs.push(c);
    }
    Ok(SitaCutoffs::new(&cutoffs))
}

/// A duration parameter of a policy: the raw value if given (checked > 0 or >= 0), else the
/// default.
fn param_duration(
    field: &str,
    raw: Option<Seconds>,
    default: SimDuration,
    allow_zero: bool,
) -> Result<SimDuration> {
    match raw {
        None => Ok(default),
        Some(secs) if allow_zero => non_negative_seconds(field, secs.0),
        Some(secs) => positive_seconds(field, secs.0),
    }
}

fn central(raw: Option<&RawCentral>) -> Result<CentralParams> {
    let d = CentralParams::default();
    let Some(raw) = raw else { return Ok(d) };
    Ok(CentralParams {
        heartbeat: param_duration("policy.central.heartbeat", raw.heartbeat, d.heartbeat, false)?,
        missed: at_least_one("policy.central.missed", raw.missed.unwrap_or(d.missed))?,
        decision_time: param_duration(
            "policy.central.decision_time",
            raw.decision_time,
            d.decision_time,
            true,
        )?,
        standby: raw.standby.unwrap_or(d.standby),
        detection_timeout: param_duration(
            "policy.central.detection_timeout",
            raw.detection_timeout,
            d.detection_timeout,
            false,
        )?,
        request_timeout: param_duration(
            "policy.central.request_timeout",
            raw.request_timeout,
            d.request_timeout,
            false,
        )?,
        reports: raw.reports.unwrap_or(d.reports),
        estimate: raw.estimate.unwrap_or(d.estimate),
    })
}

fn auction(raw: Option<&RawAuction>) -> Result<AuctionParams> {
    let d = AuctionParams::default();
    let Some(raw) = raw else { return Ok(d) };
    Ok(AuctionParams {
        k: raw.k.unwrap_or(d.k),
        bid_deadline: param_duration(
            "policy.auction.bid_deadline",
            raw.bid_deadline,
            d.bid_deadline,
            false,
        )?,
        backoff: param_duration("policy.auction.backoff", raw.backoff, d.backoff, false)?,
    })
}

fn gossip(raw: Option<&RawGossip>) -> Result<GossipParams> {
    let d = GossipParams::default();
    let Some(raw) = raw else { return Ok(d) };
    Ok(GossipParams {
        period: param_duration("policy.gossip.period", raw.period, d.period, false)?,
        fanout: at_least_one("policy.gossip.fanout", raw.fanout.unwrap_or(d.fanout))?,
        d: at_least_one("policy.gossip.d", raw.d.unwrap_or(d.d))?,
        suspect_timeout: param_duration(
            "policy.gossip.suspect_timeout",
            raw.suspect_timeout,
            d.suspect_timeout,
            false,
        )?,
        mode: raw.mode.unwrap_or(d.mode),
        resend_on_suspicion: gossip_resend(raw)?,
        reports: raw.reports.unwrap_or(d.reports),
        estimate: raw.estimate.unwrap_or(d.estimate),
    })
}

/// Resending on suspicion re-places work the agent placed itself, which only `place` mode
/// does.
fn gossip_resend(raw: &RawGossip) -> Result<bool> {
    let resend = raw.resend_on_suspicion.unwrap_or(false);
    if resend && raw.mode == Some(crate::policy::GossipMode::Claim) {
        return Err(Invalid::new(
            "policy.gossip.resend_on_suspicion",
            "expected false with mode = \"claim\" (claimed work is not placed by its requester)",
        ));
    }
    Ok(resend)
}

#[cfg(test)]
mod tests {
    use crate::scenario::validate::tests::check;

    #[test]
    fn each_check_names_its_field() {
        check("policy.power_of_d.d=0", "policy.power_of_d.d", ">= 1");
        check("policies=[\"random\",\"random\"]", "policies[1]", "listed twice");
        check(
            "policies=[\"random\",\"sita\"]",
            "policies[1]",
            "set services.api.sizes_known = true",
        );
        check(
            "policies=[\"least_work_left\"]",
            "policies[0]",
            "`least_work_left` places by request sizes",
        );
    }
}
