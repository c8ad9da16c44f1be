"""Exit 1 when the measured line coverage is under the floor given on the command line (used by `make test`).

coverage's own ``fail_under`` applies to lines and branches taken together; the floor of issue 10
is on lines, so this reads the totals of the run just measured (the ``.coverage`` file) and states
both figures whatever the outcome.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from coverage import Coverage


def main(floor: float) -> int:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "coverage.json"
        measured = Coverage()
        measured.load()
        measured.json_report(outfile=str(report))
        totals = json.loads(report.read_text(encoding="utf-8"))["totals"]
    lines = totals["percent_statements_covered"]
    branches = totals["percent_branches_covered"]
    print(
        f"Coverage: lines {lines:.2f} % ({totals['covered_lines']} of {totals['num_statements']}), "
        f"branches {branches:.2f} % ({totals['covered_branches']} of {totals['num_branches']}), "
        f"together {totals['percent_covered']:.2f} %."
    )
    if lines < floor:
        print(f"Line coverage {lines:.2f} % is under the floor of {floor:g} %: test what was added.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(float(sys.argv[1])))
