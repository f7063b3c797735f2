"""Benchmarks of the compiled client and the server, each beside a reference measured in the same run.

    python -m benchmarks [--quick] [--large] [--sizes 64,512] [--runs N] [--rows 1,2,3,4,5,6]

(`make bench`). Prints one table; docs/performance.md says how to read it. Not a test.
"""
