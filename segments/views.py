"""The audience export: a segment's members as a streamed CSV for a campaign tool."""

from __future__ import annotations

import csv

from django.http import Http404, HttpResponseForbidden, StreamingHttpResponse

from . import selectors

EXPORT_PERM = "segments.export_segment"
HEADER = ["customer_external_id", "country", "recency_days", "frequency", "monetary", "rfm_score", "segment"]


class _Echo:
    def write(self, value: str) -> str:
        return value


def audience_export(request, segment_id: int):
    user = request.user
    if not (user.is_authenticated and user.is_active and user.is_staff and user.has_perm(EXPORT_PERM)):
        return HttpResponseForbidden(f"You need staff status and the '{EXPORT_PERM}' permission.")
    segment = selectors.segment_get(segment_id=segment_id)
    if segment is None:
        raise Http404("No such segment in a successful run.")
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(HEADER)
        for row in selectors.audience_rows(segment_id=segment.pk):
            yield writer.writerow([*row, segment.label])

    filename = f"segment-{segment.pk}-{segment.label.lower().replace(' ', '-')}.csv"
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
