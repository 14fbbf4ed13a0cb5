"""Run every benchmark in this folder, one after another: python benchmarks/run_all.py [--quick]

--quick runs each with a smaller workload (a smoke test of the scripts, not the targets).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUICK = {
    "bench_fetch.py": ["--gets", "200", "--repeat", "1"],
    "bench_pull.py": ["--feeds", "100", "--items", "20"],
    "bench_rules.py": ["--items", "20000"],
    "bench_reports.py": ["--items", "20000", "--responded", "2000"],
    "bench_replies.py": ["--items", "20000"],
    "bench_html.py": ["--items", "20000", "--responded", "2000"],
    "bench_sentiment.py": ["--items", "5000", "--repeat", "1"],
}


def main() -> int:
    quick = "--quick" in sys.argv
    failed = 0
    for script in sorted(HERE.glob("bench_*.py")):
        args = QUICK.get(script.name, []) if quick else []
        print(f"\n=== {script.name} {' '.join(args)}", flush=True)
        failed += subprocess.run([sys.executable, str(script), *args]).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
