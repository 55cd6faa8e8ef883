"""The public estimator: ``RED(...).fit(seed_texts, seed_labels, pool=..., expert=...)``."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import InputError
from .predict import Predictions, combine


def resolve_budget(budget, pool_size: int) -> int:
    """``budget`` as an absolute count of expert calls: an int is a count, a float in (0, 1]
    a fraction of the pool (``0.25`` = a quarter as many calls as pool texts)."""
    if budget is None:
        return 0
    if isinstance(budget, bool) or not isinstance(budget, (int, float, np.integer, np.floating)):
        raise InputError(f"budget {budget!r} must be a number: a count of calls or a fraction of the pool")
    if budget < 0 or (isinstance(budget, float) and math.isnan(budget)):
        raise InputError(f"budget {budget} is negative; use 0 (no expert) or a positive count/fraction")
    if isinstance(budget, (float, np.floating)) and 0 < budget <= 1:
        return int(math.floor(budget * pool_size))
    if isinstance(budget, (float, np.floating)) and budget != int(budget):
        raise InputError(f"budget {budget} is neither a whole count nor a fraction in (0, 1]")
    return int(budget)


def label_text(label: str, description: str | None = None) -> str:
    """A label as text: its name with ``_``/``-`` as spaces, then its description if any."""
    name = label.replace("_", " ").replace("-", " ").strip()
    return f"{name}: {description}" if description else name


#: ``subset_size="auto"``: one flat classifier below this many labels, subsets from it on (resolve_subset_size)
AUTO_SUBSETS_FROM_LABELS = 1000
AUTO_SUBSET_SIZE = 8


def resolve_subset_size(subset_size, n_labels: int) -> int | None:
    """The subset size ``"auto"`` stands for with ``n_labels`` labels: None (one flat classifier)
    below :data:`AUTO_SUBSETS_FROM_LABELS` labels — on every dataset measured (77, 150 and 870
    labels) the flat loop labelled the pool as well as the partitioned one or better, gave the
    better final model, and trained faster — and subsets of :data:`AUTO_SUBSET_SIZE` from there
    on, where one multinomial model gets slow to retrain every round and where the scale benchmark
    (1000 labels) measured the partitioned round (BENCHMARKS.md). Other values pass through."""
    if isinstance(subset_size, str) and subset_size == "auto":
        return None if n_labels < AUTO_SUBSETS_FROM_LABELS else AUTO_SUBSET_SIZE
    return subset_size


class RED:
    """Recursive Expert Delegation, scikit-learn style.

    Constructor arguments only store parameters; ``fit`` embeds, partitions the labels,
    runs the delegation loop with ``expert`` over ``pool`` and keeps the final subset
    classifiers. Fitted state lives in trailing-underscore attributes: ``classes_``,
    ``subsets_``, ``pool_labels_``, ``pool_confidence_``, ``pool_source_``,
    ``pool_candidates_``, ``history_``, ``stop_reason_``, ``expert_calls_``.
    ``subset_size=None`` trains one flat classifier instead of subsets; ``"auto"`` (the default)
    is flat below 1000 labels and subsets of 8 from 1000 on (:func:`resolve_subset_size`); the size used
    is ``subset_size_``.

    Defaults and why (measured with ``redtext bench``, see BENCHMARKS.md): NOISE is split into
    ``noise_clusters=32`` k-means sub-classes (one linear NOISE class cannot carve out
    "everything else"); texts are selected by ``auto``: margin, or runner-up when the right label
    is often outside the top candidates (:func:`redtext.select.resolve_auto`) (entropy over hundreds of labels ranks texts poorly); ``reduce=None`` (UMAP before partitioning changed nothing measurable
    and costs ~12 s of JIT compilation per process; pass ``reduce="umap"`` to use it).
    """

    def __init__(self, subset_size: int | str | None = "auto", noise_factor: float = 2.0, budget=0.25, *,
                 embedder="minilm", C: float = 10.0, reduce: str | None = None,
                 description_weight: float = 0.0, noise_clusters: int = 32, label_text_weight: float = 0.0,
                 self_training: float = 0.0, exclude_rejected: bool = False, expert_accuracy: float | None = None,
                 max_rounds: int = 20, rounds_hint: int = 8,
                 max_candidates: int = 3, n_candidates: int = 5, uncertainty: str = "auto",
                 n_examples: int = 6, min_gain: float = 0.05, random_state: int = 0,
                 n_jobs: int | None = None, progress: bool = True, backend: str = "local",
                 address: str | None = None, refit: str = "none"):
        self.subset_size = subset_size
        self.noise_factor = noise_factor
        self.budget = budget
        self.embedder = embedder
        self.C = C
        self.reduce = reduce
        self.description_weight = description_weight
        self.noise_clusters = noise_clusters
        self.label_text_weight = label_text_weight
        self.self_training = self_training
        self.exclude_rejected = exclude_rejected
        self.expert_accuracy = expert_accuracy
        self.max_rounds = max_rounds
        self.rounds_hint = rounds_hint
        self.max_candidates = max_candidates
        self.n_candidates = n_candidates
        self.uncertainty = uncertainty
        self.n_examples = n_examples
        self.min_gain = min_gain
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.progress = progress
        self.backend = backend
        self.address = address
        self.refit = refit

    # -- parameters (scikit-learn protocol) ------------------------------------------------
    _PARAMS = ("subset_size", "noise_factor", "budget", "embedder", "C", "reduce", "description_weight",
               "noise_clusters", "label_text_weight", "self_training", "exclude_rejected", "expert_accuracy",
               "max_rounds", "rounds_hint", "max_candidates", "n_candidates", "uncertainty", "n_examples",
               "min_gain", "random_state", "n_jobs", "progress", "backend", "address", "refit")

    def get_params(self, deep: bool = True) -> dict:
        return {k: getattr(self, k) for k in self._PARAMS}

    def set_params(self, **params):
        for k, v in params.items():
            if k not in self._PARAMS:
                raise ValueError(f"unknown parameter {k!r}")
            setattr(self, k, v)
            if k == "embedder":
                self.__dict__.pop("_embedder_obj", None)
            if k in ("backend", "address"):
                self.__dict__.pop("_backend_obj", None)
        return self

    def _validate_params(self):
        if self.subset_size is not None and self.subset_size != "auto" and (
                not isinstance(self.subset_size, (int, np.integer)) or isinstance(self.subset_size, bool)
                or self.subset_size < 1):
            raise InputError(f"subset_size {self.subset_size!r} must be a positive integer, None (one flat "
                             "classifier) or 'auto'")
        if self.noise_factor < 0:
            raise InputError(f"noise_factor {self.noise_factor} must be ≥ 0")
        if self.max_candidates < 1:
            raise InputError("max_candidates must be at least 1")
        if self.n_candidates < 1:
            raise InputError("n_candidates must be at least 1")
        for name in ("noise_factor", "C", "min_gain", "label_text_weight", "self_training", "description_weight"):
            value = getattr(self, name)
            if not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(value):
                raise InputError(f"{name} {value!r} must be a finite number")
        if self.expert_accuracy is not None and not 0.5 < self.expert_accuracy <= 1.0:
            raise InputError(f"expert_accuracy {self.expert_accuracy!r}: give a probability above 0.5 and at most 1")
        if self.refit not in ("none", "confidence"):
            raise InputError(f"refit {self.refit!r}: use none or confidence")
        if self.C <= 0:
            raise InputError(f"C {self.C} must be positive")
        from .select import UNCERTAINTY

        if self.uncertainty != "auto" and self.uncertainty not in UNCERTAINTY:
            raise InputError(f"uncertainty {self.uncertainty!r}: use auto or one of {', '.join(UNCERTAINTY)}")
        self._embedder()  # an unknown embedder spec fails here, before any work
        connect = getattr(self._backend(), "connect", None)
        if connect is not None:  # a wrong Ray address fails here too
            connect()

    def _backend(self):
        if not hasattr(self, "_backend_obj"):
            from .backends import get_backend

            self._backend_obj = get_backend(self.backend, self.address)
        return self._backend_obj

    def _embedder(self):
        if not hasattr(self, "_embedder_obj"):
            if isinstance(self.embedder, str) or self.embedder is None:
                from .embed import get_embedder

                self._embedder_obj = get_embedder(self.embedder)
            else:
                self._embedder_obj = self.embedder
        return self._embedder_obj

    def _encode(self, texts: Sequence[str], cache_path=None) -> np.ndarray:
        from .embed import CachedEmbedder, EmbeddingCache, embed_with_progress

        emb = self._backend().wrap_embedder(self._embedder())
        if cache_path is not None:
            return CachedEmbedder(emb, EmbeddingCache(cache_path), progress=self.progress).encode(texts)
        return embed_with_progress(emb, list(texts), progress=self.progress)

    def _fit_model(self, X, y, neg_X=None, neg_label=None, neg_true=None, weights=None):
        from .subsets import SubsetEnsemble

        if self.label_text_weight > 0 and getattr(self, "label_text_vectors_", None) is not None:
            X = np.vstack([X, self.label_text_vectors_])
            base = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
            weights = np.r_[base, np.full(len(self.classes_), float(self.label_text_weight))]
            y = np.concatenate([y, np.arange(len(self.classes_))])
        frozen = getattr(self, "_frozen", None) or {}
        train = [g for g in range(len(self.subsets_)) if g not in frozen]  # frozen: kept exactly (add-classes)
        ens = SubsetEnsemble([self.subsets_[g] for g in train], len(self.classes_), noise_factor=self.noise_factor,
                             C=self.C, random_state=self.random_state, n_jobs=self.n_jobs,
                             noise_clusters=self.noise_clusters, label_vectors=self.label_vectors_,
                             backend=self._backend())
        if self._noise_groups is not None:  # clustered once per fit, reused every round
            ens.noise_groups_ = self._noise_groups
        ens.fit(X, y, sample_weight=weights, neg_X=neg_X, neg_label=neg_label, neg_true=neg_true)
        self._noise_groups = getattr(ens, "noise_groups_", None)
        if not frozen:
            return ens
        fitted = dict(zip(train, ens.models_))
        full = SubsetEnsemble(self.subsets_, len(self.classes_), backend=self._backend())
        full.models_ = [frozen[g] if g in frozen else fitted[g] for g in range(len(self.subsets_))]
        full.n_features_in_ = ens.n_features_in_
        return full

    # -- fit --------------------------------------------------------------------------------
    def fit(self, X: Sequence[str], y: Sequence[str], *, pool: Sequence[str] | None = None, expert=None,
            descriptions: dict[str, str] | None = None, pool_ids: Sequence[str] | None = None,
            store=None, run_id: int | None = None, embeddings: tuple[np.ndarray, np.ndarray] | None = None,
            cache_path=None, log=None, on_round=None, base: "RED | None" = None,
            retrain_labels: Sequence[str] | None = None):
        """Fit on seed texts ``X`` with labels ``y``; with ``pool`` and ``expert``, run the loop.

        ``expert`` is any callable ``(text, label, context) -> bool`` or an Expert object.
        ``store``/``run_id`` persist every verdict (a throwaway in-memory store otherwise);
        ``embeddings`` passes precomputed ``(seed_vectors, pool_vectors)``.

        ``base`` grows a trained model instead of starting afresh (``redtext add-classes`` /
        ``retrain``): its training rows join the seed, labels new to it are placed into its
        subsets (see :mod:`redtext.grow`), and only the subsets that took a new label — or hold
        one of ``retrain_labels`` — are retrained; every other subset keeps its classifier.
        The expert is then asked only about labels of the retrained subsets (or exactly the
        ``retrain_labels`` when given).
        """
        from .experts.base import as_expert
        from .loop import Delegation, LoopConfig, Problem
        from .partition import label_vectors, partition_labels
        from .store import Store

        self._validate_params()
        seed_texts = [str(t) for t in X]
        seed_labels = [str(lab) for lab in y]
        if len(seed_texts) != len(seed_labels):
            raise InputError(f"{len(seed_texts)} seed texts but {len(seed_labels)} labels; pass one label per text")
        if base is None and len(set(seed_labels)) < 2:
            raise InputError("the seed needs at least 2 distinct labels")
        pool_texts = [] if pool is None else [str(t) for t in pool]
        pool_ids = [str(i) for i in pool_ids] if pool_ids is not None else [f"row-{i}" for i in range(len(pool_texts))]
        if base is not None:
            base_texts, base_labels, base_X = base.training_data()
            self.classes_ = list(base.classes_) + sorted(set(seed_labels) - set(base.classes_))
        else:
            self.classes_ = sorted(set(seed_labels))
        index = {c: i for i, c in enumerate(self.classes_)}
        y_seed = np.array([index[lab] for lab in seed_labels], dtype=np.int64)
        descriptions = {k: v for k, v in (descriptions or {}).items() if k in index}
        if embeddings is not None:
            X_seed, X_pool = (np.asarray(e, dtype=np.float32) for e in embeddings)
        else:
            X_seed = self._encode(seed_texts + pool_texts, cache_path)
            X_seed, X_pool = X_seed[:len(seed_texts)], X_seed[len(seed_texts):]
        if base is not None:  # the base model's training rows come first, as seed
            seed_texts = list(base_texts) + seed_texts
            seed_labels = list(base_labels) + seed_labels
            y_seed = np.concatenate([np.array([index[lab] for lab in base_labels], dtype=np.int64), y_seed])
            X_seed = np.vstack([np.asarray(base_X, dtype=np.float32), X_seed])
        desc_vecs = None
        if descriptions and self.description_weight > 0:
            desc_vecs = np.zeros((len(self.classes_), X_seed.shape[1]), dtype=np.float32)
            names = list(descriptions)
            desc_vecs[[index[n] for n in names]] = self._encode([f"{n}: {descriptions[n]}" for n in names], cache_path)
        self.label_vectors_ = label_vectors(X_seed, y_seed, len(self.classes_), description_vectors=desc_vecs,
                                            description_weight=self.description_weight)
        self.label_text_vectors_ = None
        if self.label_text_weight > 0:
            # the label's own name (and description) as one more example of it
            self.label_text_vectors_ = self._encode(
                [label_text(c, descriptions.get(c)) for c in self.classes_], cache_path)
        self._noise_groups = None
        self._frozen = None
        ask_labels = None
        if base is not None:
            from .grow import place_labels, subsets_holding

            new_labels = list(range(len(base.classes_), len(self.classes_)))
            # a grown model keeps its structure: a flat one stays flat
            size = None if len(base.subsets_) == 1 else (resolve_subset_size(self.subset_size, len(self.classes_))
                                                         or AUTO_SUBSET_SIZE)
            self.subset_size_ = size
            self.subsets_, changed = place_labels(self.label_vectors_, base.subsets_, new_labels, size)
            unknown = sorted(set(retrain_labels or ()) - set(self.classes_))
            if unknown:
                raise InputError(f"--classes names labels the model does not have: {', '.join(unknown[:5])}; "
                                 f"its labels are listed in {getattr(base, 'path_', 'the model')}/manifest.json")
            retrain_idx = [index[c] for c in (retrain_labels or ())]
            changed |= subsets_holding(self.subsets_, retrain_idx)
            if not changed:
                raise InputError("nothing to retrain: the seed adds no new label and no --classes were named")
            self._frozen = {g: m for g, m in enumerate(base.ensemble_.models_) if g not in changed}
            self.changed_subsets_ = sorted(changed)
            ask = retrain_idx or [lab for g in sorted(changed) for lab in self.subsets_[g]]
            ask_labels = np.zeros(len(self.classes_), dtype=bool)
            ask_labels[ask] = True
        else:
            self.subset_size_ = resolve_subset_size(self.subset_size, len(self.classes_))
            self.subsets_ = partition_labels(self.label_vectors_, self.subset_size_, reduce=self.reduce,
                                             random_state=self.random_state)
        label_group = np.empty(len(self.classes_), dtype=np.int64)
        for g, members in enumerate(self.subsets_):
            label_group[members] = g
        seed_map = {t: index[lab] for t, lab in zip(seed_texts, seed_labels)}
        fixed = np.array([seed_map.get(t, -1) for t in pool_texts], dtype=np.int64)
        n_budget = resolve_budget(self.budget, len(pool_texts)) if expert is not None else 0
        if expert is not None:
            expert = as_expert(expert)
            if hasattr(expert, "prepare"):
                expert.prepare(self.classes_, self.label_vectors_)
        if store is None:
            store = Store(":memory:")
        if run_id is None:
            run_id = store.create_run({"api": True, "params": {k: v for k, v in self.get_params().items()
                                                                if isinstance(v, (int, float, str, type(None)))}})
        problem = Problem(classes=self.classes_, X_seed=X_seed, y_seed=y_seed, seed_texts=seed_texts,
                          X_pool=X_pool.reshape(len(pool_texts), X_seed.shape[1]), pool_texts=pool_texts,
                          pool_ids=pool_ids, fixed=fixed, descriptions=descriptions)
        config = LoopConfig(budget=n_budget, max_rounds=self.max_rounds, rounds_hint=self.rounds_hint,
                            max_candidates=self.max_candidates, n_candidates=self.n_candidates,
                            uncertainty=self.uncertainty, n_examples=self.n_examples, min_gain=self.min_gain,
                            self_training=self.self_training, exclude_rejected=self.exclude_rejected,
                            rejection_factor=None if self.expert_accuracy is None else
                            (1.0 - self.expert_accuracy) / self.expert_accuracy,
                            ask_labels=ask_labels)
        result = Delegation(problem, config, self._fit_model, expert, store=store, run_id=run_id,
                            label_group=label_group, progress=self.progress, log=log, on_round=on_round).run()
        self.ensemble_ = result.model
        self.history_ = result.rounds
        self.stop_reason_ = result.stop_reason
        self.selection_ = result.selection or "margin"
        self.expert_calls_ = result.calls
        self.budget_calls_ = n_budget
        self.new_expert_calls_ = result.new_calls
        self.run_id_ = run_id
        pred = result.predictions
        labels = pred.label.copy()
        conf = pred.confidence.astype(np.float64).copy()
        source = np.array(["classifier"] * len(pool_texts), dtype=object)
        val = result.validated >= 0
        labels[val] = result.validated[val]
        conf[val] = 1.0
        source[val] = "expert"
        fx = fixed >= 0
        labels[fx] = fixed[fx]
        conf[fx] = 1.0
        source[fx] = "seed"
        if self.refit != "none" and len(pool_texts):
            self._refit_on_pool(X_seed, y_seed, problem.X_pool, pool_texts, labels, conf, source, val)
        # the rows the final classifiers were trained on, kept in the bundle for add-classes/retrain
        keep: dict[str, int] = {}
        for i in np.flatnonzero(val):
            keep.setdefault(pool_texts[i], int(i))
        rows = np.fromiter(keep.values(), dtype=np.int64, count=len(keep))
        self.train_texts_ = seed_texts + [pool_texts[i] for i in rows]
        self.train_labels_ = seed_labels + [self.classes_[result.validated[i]] for i in rows]
        self.train_X_ = np.vstack([X_seed, problem.X_pool[rows]]).astype(np.float32)
        from .drift import class_stats

        self.class_stats_ = class_stats(self.classes_, [self.classes_[i] for i in labels], conf, source.tolist(),
                                        store.verdicts(run_id))
        self.pool_ids_ = pool_ids
        self.pool_label_index_ = labels
        self.pool_labels_ = [self.classes_[i] for i in labels]
        self.pool_confidence_ = conf
        self.pool_source_ = source.tolist()
        self.pool_all_noise_ = pred.all_noise
        self.pool_candidates_ = [[(self.classes_[c], float(s)) for c, s in zip(cands, scs)]
                                 for cands, scs in zip(pred.candidates, pred.candidate_scores)]
        return self

    def _refit_on_pool(self, X_seed, y_seed, X_pool, pool_texts, labels, conf, source, val):
        """Final classifiers for new texts trained on the whole delivered pool: expert labels at
        weight 1, classifier labels weighted by their confidence (``refit="confidence"``)."""
        keep: dict[str, int] = {}
        for i, t in enumerate(pool_texts):
            keep.setdefault(t, i)
        rows = np.fromiter(keep.values(), dtype=np.int64, count=len(keep))
        rows = rows[np.asarray(source, dtype=object)[rows] != "seed"]
        w_pool = np.where(val[rows], 1.0, conf[rows])
        X = np.vstack([X_seed, X_pool[rows]])
        y = np.concatenate([y_seed, labels[rows]])
        w = np.r_[np.ones(len(y_seed)), w_pool]
        self.ensemble_ = self._fit_model(X, y, weights=w)

    # -- predict ----------------------------------------------------------------------------
    def _check_fitted(self):
        if not hasattr(self, "ensemble_"):
            raise InputError("this RED model is not fitted yet; call fit() or RED.load() first")

    def predict_details(self, texts: Sequence[str], *, embeddings: np.ndarray | None = None,
                        proba: bool = False) -> Predictions:
        """Ranked candidates, label, confidence, uncertainty per text. The dense ``(N, L)``
        ``proba`` matrix is built only with ``proba=True`` (8 GB at 1M texts × 1000 labels)."""
        self._check_fitted()
        X = embeddings if embeddings is not None else self._encode(list(texts))
        if not proba:
            from .predict import predict_compact

            return predict_compact(self.ensemble_, X, n_candidates=self.n_candidates, uncertainty=self._selection())
        scores, all_noise = self.ensemble_.predict_proba(X, return_noise=True)
        return combine(scores, all_noise, n_candidates=self.n_candidates, uncertainty=self._selection())

    def _selection(self) -> str:
        """The uncertainty score predictions carry: the one the loop used, else the parameter
        (``auto`` before any loop ran means margin)."""
        chosen = getattr(self, "selection_", None) or self.uncertainty
        return "margin" if chosen == "auto" else chosen

    def predict_proba(self, texts: Sequence[str], *, embeddings: np.ndarray | None = None) -> np.ndarray:
        """``(N, len(classes_))``; columns follow ``classes_``."""
        return self.predict_details(texts, embeddings=embeddings, proba=True).proba

    def predict(self, texts: Sequence[str], *, embeddings: np.ndarray | None = None) -> np.ndarray:
        pred = self.predict_details(texts, embeddings=embeddings)
        return np.asarray(self.classes_, dtype=object)[pred.label]

    # -- persistence ------------------------------------------------------------------------
    def save(self, path) -> Path:
        from .model import save_bundle

        self._check_fitted()
        emb = self._embedder()
        spec = self.embedder if isinstance(self.embedder, str) else None
        params = {k: v for k, v in self.get_params().items()
                  if k not in ("embedder", "backend", "address", "n_jobs", "progress") and
                  isinstance(v, (int, float, str, type(None)))}
        return save_bundle(path, classes=self.classes_, models=self.ensemble_.models_,
                           embedder={"spec": spec, "name": emb.name, "dim": int(emb.dim)}, params=params,
                           extra={"subsets": [list(map(int, s)) for s in self.subsets_],
                                  "class_stats": getattr(self, "class_stats_", None)},
                           training=(self.train_texts_, self.train_labels_, self.train_X_)
                           if hasattr(self, "train_X_") else None)

    def training_data(self) -> tuple[list[str], list[str], np.ndarray]:
        """(texts, labels, vectors) the classifiers were trained on: seed plus expert-validated."""
        self._check_fitted()
        if not hasattr(self, "train_X_"):
            from .model import load_training

            if getattr(self, "path_", None) is None:
                raise InputError("this model holds no training rows; fit it first")
            self.train_texts_, self.train_labels_, self.train_X_ = load_training(self.path_)
        return self.train_texts_, self.train_labels_, self.train_X_

    @classmethod
    def load(cls, path, *, embedder=None, backend: str = "local", address: str | None = None) -> "RED":
        from .model import load_bundle
        from .subsets import SubsetEnsemble

        path = Path(path)
        if not (path / "manifest.json").exists() and (path / "model" / "manifest.json").is_file():
            path = path / "model"  # a run folder: its model
        manifest, models = load_bundle(path)
        info = manifest["embedder"]
        if embedder is None:
            if not info.get("spec"):
                raise InputError(f"{path} was trained with a custom embedder ({info.get('name')}); "
                                 "pass the same embedder to RED.load(path, embedder=...)")
            from .embed.registry import embedder_for_saved

            embedder = embedder_for_saved(info["spec"], info.get("name"))
        params = {k: v for k, v in manifest.get("params", {}).items()
                  if k in cls._PARAMS and k not in ("backend", "address", "n_jobs", "progress")}
        self = cls(**params, backend=backend, address=address)
        self.embedder = embedder
        emb = self._embedder()
        if emb.name != info.get("name"):
            raise InputError(f"{path} was trained with embedder {info.get('name')}, not {emb.name}; "
                             "pass the embedder it was trained with")
        self.classes_ = list(manifest["classes"])
        self.subsets_ = [list(s) for s in manifest.get("subsets", [m.labels.tolist() for m in models])]
        ens = SubsetEnsemble(self.subsets_, len(self.classes_), backend=self._backend())
        ens.models_ = models
        ens.n_features_in_ = int(info.get("dim", models[0].coef.shape[1]))
        self.ensemble_ = ens
        self.path_ = Path(path)
        self.manifest_ = manifest
        self.class_stats_ = manifest.get("class_stats")
        return self
