"""`make bench` still runs: the whole bench at a tiny size, in this process, prints every row of its tables.

No timing is checked (timings belong in the bench); this only keeps the bench from rotting
silently as pages, models and commands change. On the PostgreSQL leg it runs there too.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from registry.auth.permissions import Role
from tests import bench


def test_the_bench_runs_at_a_tiny_size_and_prints_every_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path / "instance"))
    postgres = os.environ.get("REGISTRY_TEST_DATABASE_URL")
    size = ["--records", "40", "--channels", "10", "--events", "300", "--secrets", "12"]
    pace = ["--runs", "1", "--warmup", "0", "--duration", "0.1", "--repeat", "1"]
    bench.main([*size, *pace, *(["--postgres", postgres] if postgres else [])])
    out = capsys.readouterr().out

    rows = [line for line in out.splitlines() if line.startswith("| ") and not line.startswith("| ---")]
    expected = [
        "| Bare Flask JSON route (baseline) | – |",
        *(f"| Home page `/` | {role.value} |" for role in Role),
        *(f"| {label} `{path}` | {role.value} |" for role, label, path in bench.LIST_PAGES),
        *(f"| {label} `{path}` | comms |" for label, path in bench.API_LISTS),
        "| API posts (own) `/api/v1/posts` | staff |",
        "| Inventory `/channels` | comms |",
        "| Inventory, last page `/channels?page=1` | comms |",
        "| API channels, per_page=100 `/api/v1/channels?per_page=100` | comms |",
        "| API channels (own + official) `/api/v1/channels` | staff |",
        *(f"| Verify: {case} `/api/v1/verify` | public |" for case in ("exact match", "lookalike", "miss")),
        "| Verify: reported unauthorised account `/api/v1/verify` | public |",
        "| Verify page: exact match `/verify` | public |",
        "| Credentials of a channel (6 secrets) `/channels/<reference>/credentials` | comms |",
        "| Reveal a secret (POST with a reason; step-up done beforehand) | comms |",
        "| Bare Flask JSON route | ",
        *(f"| `/api/v1/verify`, {case} | " for case in ("exact match", "lookalike", "miss")),
        "| `flask audit verify`, ",
        "| `verify_chain()` in-process (what the command runs), ",
        "| `flask --app wsgi --help` (the start: the app made, its commands listed) ",
        "| `flask keys rotate`, ",
        "| `flask keys verify` afterwards, only the new key configured, in-process | ",
    ]
    missing = [label for label in expected if not any(row.startswith(label) for row in rows)]
    assert missing == [], f"rows missing from the bench's tables:\n{out}"
    busy = re.search(r"the busy month (\d{4}-\d{2})", out)
    assert busy is not None
    assert any(row.startswith(f"| `flask report generate {busy.group(1)}` (the busy month)") for row in rows)
    assert any(row.startswith(f"| Monthly report `/reports/{busy.group(1)}` | comms |") for row in rows)
    assert "**Rate limiting was turned off for this run only**" in out
    assert re.search(r"load average \(1/5/15 min\) [\d.]+ / [\d.]+ / [\d.]+ before measuring", out)
