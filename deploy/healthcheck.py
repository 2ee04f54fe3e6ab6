"""Container health probe: exit 0 when the local server answers 200 on a path.

Usage: `python healthcheck.py [PATH [PORT]]`. PATH defaults to /healthz and PORT to
$FOLLOWUP_PORT (else 8000); the worker's probe passes $FOLLOWUP_WORKER_PORT. Only the
standard library, so it costs no more than a Python start-up.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else "/healthz"
    port = argv[2] if len(argv) > 2 else os.environ.get("FOLLOWUP_PORT", "8000")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=4) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as error:
        sys.stderr.write(f"unhealthy: {error}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
