"""``redtext bench-scale``: what each stage of a R.E.D. round costs, and how it grows with the pool.

The workload is synthetic but built from real text, so the vectors have the geometry of real
embeddings (clusters, confusable labels) without embedding a million texts:

1. **Real texts**: every text of ``onet_titles`` (train + test) and ``clinc150`` (train + val +
   test) under ``../shared/data`` (or ``$REDTEXT_DATA``), de-duplicated — about 58k texts in
   1020 real classes — embedded once with ``--embedder`` (cached in the embedding cache that
   ``redtext bench`` uses). ``--texts N`` draws a random N of them instead.
2. **Labels**: the real classes relabelled into exactly ``--classes`` labels. Fewer labels:
   the smallest class is merged into the class whose mean vector is most similar, until the
   count is reached (at 1000 labels: 20 small O*NET occupations join their nearest one). More
   labels: the largest class is split in two along its first principal direction, until the
   count is reached.
3. **Seed**: ``--k`` real texts per label (their real vectors); a label with fewer real texts
   gets perturbed copies.
4. **Pool**: ``--pool`` rows, each a random non-seed real text's vector plus small Gaussian
   noise (cosine ≈ 0.96 to the original), renormalised — no two rows are identical — with
   the text ``"<real text> #<row>"`` and the real text's label as hidden gold. The vectors are
   written to a memory-mapped file and passed to the loop as precomputed embeddings:
   embedding a million texts is not needed to measure the other stages (embedding is measured
   on its own, below). Row ``i`` is the same at every pool size (smaller pools are prefixes).
5. **Expert**: a scripted expert that answers instantly from the synthetic gold, so expert
   time is ~0 and what is measured is redtext's own overhead.

Per pool size (10k, 30k, 100k, 300k, 1M — those below ``--pool`` — and ``--pool`` itself),
in a fresh process so its peak memory is its own: label vectors and the partition, then
``RED.fit`` with the scripted expert for two asking rounds at the pace of the defaults
(``--round-calls``, default ``ceil(0.25 × pool / 8)`` questions a round) into a SQLite store
on disk, then the whole pool's predictions written to the store as ``redtext run`` writes them.
**One round** is round 1: train the subset ensemble on the seed plus the texts validated in
round 0 (k = 10 per label → 10k rows at 1000 labels, plus the validated ones), predict the
whole pool, select the texts to ask, ask them (verdicts committed to the store); plus writing
every pool prediction to the store. ``round_overhead_s`` is that round without embedding
(none happens) and without the expert's own time.

Embedding and classification are measured on ``--embed-sample`` real texts, ``--repeats`` times
interleaved, keeping each one's best (a burst of other work on a shared machine slows a single
two-second measurement a lot):
``raw_embed_texts_per_s`` is the embedder's ``encode`` on all of them at once (model loaded);
``embed_texts_per_s`` goes through redtext's embedding path as a run gets it (backend,
content-hash cache in a fresh SQLite file, batches, progress); ``classify_texts_per_s`` is the
``redtext classify`` path — read the input file, embed, predict with the model trained at the
requested size, write the predictions JSONL — with the model and embedder loaded (what a
long-running classifier sees); ``classify_cold_texts_per_s`` runs the whole ``redtext classify``
command in this process, loading the model bundle and the embedder first.
"""
from .measure import run
from .workload import FIELDS, TARGETS, parse_sizes, validate

__all__ = ["FIELDS", "TARGETS", "parse_sizes", "run", "validate"]
