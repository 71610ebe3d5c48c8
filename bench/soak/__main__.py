"""`python -m bench.soak [--minutes 10] [--fraction 0.7]`."""

from __future__ import annotations

import sys

from bench.soak.run import main

if __name__ == "__main__":
    sys.exit(main())
