"""Start-up: what the app imports when a process starts (each command, each gunicorn worker).

Libraries only some requests need are imported when first used: matplotlib when a chart is drawn,
Alembic by the ``db`` commands, scim2-models on the first SCIM request. Which modules a start loads
is behaviour; how long it takes belongs in the bench.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from registry import PROJECT_ROOT

LAZY = ("matplotlib", "alembic", "scim2_models")


def test_starting_the_app_does_not_import_what_only_some_requests_need(tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("REGISTRY_", "FLASK_"))}
    env |= {
        "REGISTRY_INSTANCE_PATH": str(tmp_path / "instance"),
        "REGISTRY_DATABASE_URL": f"sqlite:///{tmp_path / 'registry.db'}",
    }
    script = f"import sys, json, wsgi; print(json.dumps([m for m in {list(LAZY)!r} if m in sys.modules]))"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
