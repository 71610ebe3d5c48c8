"""`python -m bench.http [--quick] [--duration S] [--only list,me,refresh,login,workers]`."""

from __future__ import annotations

import sys

from bench.http.scenarios import main

if __name__ == "__main__":
    sys.exit(main())
