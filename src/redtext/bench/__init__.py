"""Benchmarks: the protocol of the README's "Benchmark" section with its baselines (:mod:`.protocol`, ``redtext bench``)
and the scale benchmark (:mod:`.scale`, ``redtext bench-scale``)."""
