"""`python -m bench.soak`: the real server at a constant share of its measured maximum for
minutes, reporting errors, p99 over time and RSS growth (issue 9; run by hand, not in
`make test`). See bench/README.md, "Soak"."""
