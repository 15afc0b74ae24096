"""Delivery: a campaign's treatment list (customer, picks, offer) as a streamed CSV for an email or ads tool."""

from __future__ import annotations

import csv
from itertools import groupby

from django.http import Http404, HttpResponseForbidden, StreamingHttpResponse

from . import selectors

EXPORT_PERM = "campaigns.export_campaign"


class _Echo:
    def write(self, value: str) -> str:
        return value


def treatment_export(request, campaign_id: int):
    user = request.user
    if not (user.is_authenticated and user.is_active and user.is_staff and user.has_perm(EXPORT_PERM)):
        return HttpResponseForbidden(f"You need staff status and the '{EXPORT_PERM}' permission.")
    campaign = selectors.campaign_get(campaign_id=campaign_id)
    if campaign is None or campaign.status == "DRAFT":
        raise Http404("No such launched campaign.")
    writer = csv.writer(_Echo())
    header = ["customer_external_id", *[f"pick_{rank}_sku" for rank in range(1, campaign.picks + 1)], "offer"]

    def rows():
        yield writer.writerow(header)
        for _, lines in groupby(selectors.treatment_rows(campaign_id=campaign.pk), key=lambda row: row[0]):
            lines = list(lines)
            skus = [sku for _, _, sku in lines if sku is not None]
            yield writer.writerow([lines[0][1], *skus, *[""] * (campaign.picks - len(skus)), campaign.offer])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}-treatment.csv"'
    return response
