"""The campaign job kinds: ``campaigns.launch`` and ``campaigns.uplift``, each on one given campaign."""

from __future__ import annotations

from dataclasses import dataclass

from jobs.params import JobParams, param
from jobs.registry import JobContext, JobFailed, JobResult, job_kind

from .error_codes import CampaignError
from .launching import campaign_launch
from .targeting import uplift_fit


@dataclass
class CampaignJobParams(JobParams):
    # No default: the job acts on a given campaign (demo_setup runs no default launch).
    campaign_id: int = param(low=1, high=2**62, help="The campaign's database id.")


@job_kind("campaigns.launch", permission="campaigns.change_campaign", params=CampaignJobParams)
def campaigns_launch_job(ctx: JobContext) -> JobResult:
    try:
        campaign = campaign_launch(campaign_id=int(ctx.params["campaign_id"]), job_id=ctx.job_id,
                                   progress=ctx.progress)
    except CampaignError as exc:
        raise JobFailed(exc.code.value, exc.message) from exc
    timings = campaign.launch_timings
    return JobResult(result_type="campaigns.campaign", result_id=campaign.pk,
                     message=f"{campaign.members_count:,} members launched in {timings.get('total', 0):.1f} s "
                             f"(picks {timings.get('picks', 0):.1f} s, of which numpy {timings.get('numpy', 0):.1f} s)")


@job_kind("campaigns.uplift", permission="campaigns.change_campaign", params=CampaignJobParams)
def campaigns_uplift_job(ctx: JobContext) -> JobResult:
    ctx.progress(0.05, "fitting the two-model uplift learner")
    try:
        campaign = uplift_fit(campaign_id=int(ctx.params["campaign_id"]))
    except CampaignError as exc:
        raise JobFailed(exc.code.value, exc.message) from exc
    return JobResult(result_type="campaigns.campaign", result_id=campaign.pk,
                     message=f"Qini {campaign.uplift['qini']:.4f} (random {campaign.uplift['qini_random']:.4f}, "
                             f"response {campaign.uplift['qini_response']:.4f})")
