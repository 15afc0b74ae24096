"""GRAPHQL_FAST_PATH: off, the service schema is strawberry's stock path and the speed layer is not even
loaded (so an upgrade that breaks its use of the libraries' internals cannot break the stock path)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, sys
import django
django.setup()
from config.schema import schema
print(json.dumps({
    "fast modules": sorted(name for name in sys.modules if name.startswith("api.fast.") and name != "api.fast.marks"),
    "execution context": schema.execution_context_class.__name__,
    "extensions": [getattr(ext, "__name__", type(ext).__name__) for ext in schema.extensions],
}))
"""


def _probe(switch: str) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "GRAPHQL_FAST_PATH": switch}
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("switch,fast", [("false", False), ("true", True)])
def test_the_switch_chooses_the_path(switch, fast):
    probe = _probe(switch)
    if fast:
        assert probe["execution context"] == "FastExecutionContext"
        assert "FieldOptimizer" in probe["extensions"] and "DjangoOptimizerExtension" not in probe["extensions"]
        assert probe["fast modules"]
    else:
        assert probe["execution context"] == "StrawberryGraphQLCoreExecutionContext"
        assert "DjangoOptimizerExtension" in probe["extensions"] and "FieldOptimizer" not in probe["extensions"]
        assert probe["fast modules"] == []
