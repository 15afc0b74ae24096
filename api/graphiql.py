"""GraphiQL served from the project's own static files, so that it works on a machine without internet.

strawberry's page loads React, GraphiQL, the explorer plugin and their styles from a public CDN
(`https://unpkg.com/<package>@<version>/<file>`). Here each of those addresses becomes the same file under
static/vendor/<package>/<file>, installed by npm at the version package.json pins (scripts/setup); a test
checks that the versions agree, so a strawberry upgrade that moves GraphiQL fails loudly instead of
serving mismatched files. The page is otherwise strawberry's own, rewritten once per process.
"""

from __future__ import annotations

import re
from functools import lru_cache

from django.templatetags.static import static
from strawberry.http.ides import get_graphql_ide_html

CDN_ASSET = re.compile(r"https://unpkg\.com/(?P<package>@?[^@\s\"]+)@(?P<version>[^/\s\"]+)/(?P<file>[^\s\"]+)")
# Same-origin files need neither; the hashes stay, so the browser still checks each file's bytes.
CROSSORIGIN = re.compile(r"\s+crossorigin(?=\s)")


def cdn_assets(html: str) -> list[tuple[str, str, str]]:
    """(package, version, file) of every CDN address in strawberry's page."""
    return [(m["package"], m["version"], m["file"]) for m in CDN_ASSET.finditer(html)]


def _local(match: re.Match) -> str:
    return static(f"vendor/{match['package']}/{match['file']}")


@lru_cache(maxsize=1)
def graphiql_html() -> str:
    return CROSSORIGIN.sub("", CDN_ASSET.sub(_local, get_graphql_ide_html("graphiql")))
