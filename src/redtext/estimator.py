"""The public estimator: ``RED(...).fit(seed_texts, seed_labels, pool=..., expert=...)``.

scikit-learn conventions: the constructor only stores parameters (``get_params``/``set_params``
by introspection, :class:`redtext.options.Params`; ``sklearn.base.clone`` works); parameters are checked
declaratively when ``fit`` starts; fitted state lives in trailing-underscore attributes.
``fit`` embeds the texts, partitions the labels, runs the delegation loop
(:class:`redtext.core.loop.Delegation`) and keeps what :func:`redtext.core.deliver.deliver`
delivers; ``grow`` continues a fitted (or loaded) model with new labels or for named labels.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .core.budget import resolve_budget
from .core.openworld import NONE_LABEL, check_inputs, with_none
from .core.predict import Predictions, calibrated, combine, predict_compact
from .core.select import UNCERTAINTY
from .errors import InputError
from .options import (Check, ClassifierOptions, Either, Instance, Number, OneOf, Params, QualityOptions,
                      RoundOptions, check_params, options_to_json)

#: ``subset_size="auto"``: one flat classifier below this many labels, subsets from it on
AUTO_SUBSETS_FROM_LABELS = 3000
AUTO_SUBSET_SIZE = 8


def resolve_subset_size(subset_size, n_labels: int) -> int | None:
    """The subset size ``"auto"`` stands for with ``n_labels`` labels: None (one flat classifier)
    below :data:`AUTO_SUBSETS_FROM_LABELS` labels — on every dataset measured (77, 150, 870 and
    1,020 labels) the flat loop labelled the pool as well as the partitioned one or better and
    trained faster; one round at 3,000 labels: flat 102 s, subsets 160-297 s on one core
    (benchmarks/label_scale.py) — and subsets of :data:`AUTO_SUBSET_SIZE` from there on, where one
    multinomial model gets slow to retrain and subsets spread over workers. Others pass through."""
    if isinstance(subset_size, str) and subset_size == "auto":
        return None if n_labels < AUTO_SUBSETS_FROM_LABELS else AUTO_SUBSET_SIZE
    return subset_size


def _check_budget(value) -> None:
    from .core.budget import parse_budget

    parse_budget(value, flag="RED budget")


def _check_embedder(value) -> None:
    if not isinstance(value, str) and not all(hasattr(value, a) for a in ("name", "dim", "encode")):
        raise InputError(f"RED embedder={value!r}: give an embedder spec or an object with name, dim and encode(texts)")


def _check_backend(value) -> None:
    if not isinstance(value, str) and not all(callable(getattr(value, a, None))
                                              for a in ("map", "predict", "wrap_embedder")):
        raise InputError(f"RED backend={value!r}: use 'local', 'ray' or a backend object")


class RED(Params):
    """Recursive Expert Delegation, scikit-learn style.

    Parameters
    ----------
    subset_size : "auto", None or int
        Labels per subset classifier; None trains one flat classifier; ``"auto"`` is flat below
        3000 labels and subsets of 8 from 3000 on (:func:`resolve_subset_size`).
    budget : int, float or str
        Expert calls: a count, a fraction of the pool or a percentage (a hard cap).
    embedder : str or object
        ``--embedder`` spec (``minilm``, ``minilm-torch``, ``fast``, ``hashing[:DIM]``, a model
        folder) or any object with ``name``, ``dim`` and ``encode(texts)``.
    uncertainty : str
        How texts are picked for the expert: ``auto`` (margin, or runner-up when the right label
        is often outside the top candidates; :func:`redtext.core.select.resolve_auto`), or one
        of ``margin``, ``runner_up``, ``gain``, ``reach``, ``entropy``.
    max_candidates : int
        Candidates asked about per text and round (correction depth).
    classifier : ClassifierOptions or None
        C, NOISE shape and the optional UMAP reduction (:class:`redtext.options.ClassifierOptions`).
    rounds : RoundOptions or None
        Round cap, spread, stop threshold, candidates kept, examples shown
        (:class:`redtext.options.RoundOptions`).
    quality : QualityOptions or None
        The known-answer questions that measure the expert and the audit that estimates the
        pool's accuracy, as shares of the budget (:class:`redtext.options.QualityOptions`).
    open_world : "auto", "on" or "off"
        May a pool text fit none of the labels? ``auto`` (default): when the expert's answers show
        more texts rejected for every label asked than the classifier's doubt explains (a
        likelihood-ratio test passed two rounds running, :func:`redtext.core.evidence.fit_calibration`), such texts are
        delivered with no label (``None``) and the classifier learns "no label" from them; a
        closed pool stays closed. ``on``: the share is fitted without the test; ``off``: every
        text gets a label.
    random_state : int
        Seed for every random choice.
    n_jobs : int or None
        Worker processes for subset training (None: every core).
    backend : str or object
        ``local`` or ``ray`` (:mod:`redtext.backends`), or a backend object.
    verbose : bool
        Progress bars on a terminal.

    Fitted attributes: ``classes_``, ``subsets_``, ``subset_size_``, ``label_vectors_``,
    ``ensemble_``, ``embedder_``, ``selection_``, ``history_``, ``stop_reason_``,
    ``expert_calls_``, ``new_expert_calls_``, ``budget_calls_``, ``pool_ids_``,
    ``pool_labels_``, ``pool_label_index_``, ``pool_confidence_``, ``pool_source_``,
    ``pool_all_noise_``, ``pool_candidates_``, ``answers_``, ``class_stats_``, the expert's
    measured rates ``expert_quality_`` (from ``checks_``), the pool's estimated accuracy
    ``estimate_`` (from ``audited_``) and the training rows ``train_texts_``, ``train_labels_``,
    ``train_X_``.
    """

    _rules = {
        "subset_size": Either("auto", None, Number(1, integer=True), what="'auto', None or a positive whole number"),
        "budget": Check(_check_budget),
        "embedder": Check(_check_embedder),
        "uncertainty": OneOf("auto", *UNCERTAINTY),
        "max_candidates": Number(1, integer=True),
        "classifier": Either(None, Instance(ClassifierOptions, what=""), what="a ClassifierOptions or None"),
        "rounds": Either(None, Instance(RoundOptions, what=""), what="a RoundOptions or None"),
        "quality": Either(None, Instance(QualityOptions, what=""), what="a QualityOptions or None"),
        "open_world": OneOf("auto", "on", "off"),
        "random_state": Number(integer=True),
        "n_jobs": Either(None, Number(1, integer=True), what="None or a positive whole number"),
        "backend": Check(_check_backend),
        "verbose": Instance(bool, int, what="True or False"),
    }

    def __init__(self, subset_size="auto", budget=0.25, *, embedder="minilm", uncertainty: str = "auto",
                 max_candidates: int = 3, classifier: ClassifierOptions | None = None,
                 rounds: RoundOptions | None = None, quality: QualityOptions | None = None, open_world: str = "auto",
                 random_state: int = 0, n_jobs: int | None = None, backend="local", verbose: bool = True):
        self.subset_size = subset_size
        self.budget = budget
        self.embedder = embedder
        self.uncertainty = uncertainty
        self.max_candidates = max_candidates
        self.classifier = classifier
        self.rounds = rounds
        self.quality = quality
        self.open_world = open_world
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.backend = backend
        self.verbose = verbose

    # -- parameters and the objects they name ------------------------------------------------------
    def _check_params(self) -> None:
        check_params(self)

    @property
    def _classifier(self) -> ClassifierOptions:
        return self.classifier or ClassifierOptions()

    @property
    def _rounds(self) -> RoundOptions:
        return self.rounds or RoundOptions()

    @property
    def _quality(self) -> QualityOptions:
        return self.quality or QualityOptions()

    def _resolve(self) -> None:
        """The embedder and backend the parameters name, as fitted attributes."""
        from .backends import get_backend
        from .embed import get_embedder

        self.embedder_ = get_embedder(self.embedder) if isinstance(self.embedder, str) else self.embedder
        self.backend_ = get_backend(self.backend) if isinstance(self.backend, str) else self.backend

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        from .embed import embed_with_progress

        return embed_with_progress(self.backend_.wrap_embedder(self.embedder_), list(texts), progress=bool(self.verbose))

    # -- fit -----------------------------------------------------------------------------------------
    def fit(self, X: Sequence[str], y: Sequence[str], *, pool: Sequence[str] | None = None, expert=None,
            descriptions: dict[str, str] | None = None, pool_ids: Sequence[str] | None = None,
            embeddings: tuple[np.ndarray, np.ndarray] | None = None, journal=None, monitor: Callable | None = None):
        """Fit on seed texts ``X`` with labels ``y``; with ``pool`` and ``expert``, run the loop.

        ``expert`` is any callable ``(text, label, context) -> bool`` or an object following the
        expert protocol (:mod:`redtext.experts`). ``descriptions`` maps labels to what they mean
        (shown to the expert); ``pool_ids`` name the pool texts (row numbers otherwise);
        ``embeddings`` passes precomputed ``(seed_vectors, pool_vectors)``; ``journal`` keeps
        every answer (:class:`redtext.core.journal.MemoryJournal` by default; ``redtext run``
        passes one that writes to its run.db); ``monitor(metrics, model, predictions,
        validated)`` is called after each round's predictions."""
        from .core.partition import partition_labels
        from .core.vectors import label_vectors

        self._check_params()
        self._resolve()
        seed_texts, seed_labels, pool_texts, pool_ids = check_inputs(X, y, pool, pool_ids)
        if len(set(seed_labels)) < 2:
            raise InputError("the seed needs at least 2 distinct labels")
        self.classes_ = sorted(set(seed_labels))
        X_seed, X_pool = self._vectors(seed_texts, pool_texts, embeddings)
        y_seed = self._indices(seed_labels)
        self.label_vectors_ = label_vectors(X_seed, y_seed, len(self.classes_))
        self.subset_size_ = resolve_subset_size(self.subset_size, len(self.classes_))
        self.subsets_ = partition_labels(self.label_vectors_, self.subset_size_, reduce=self._classifier.reduce,
                                         random_state=self.random_state)
        self.open_world_ = self.open_world != "off"
        return self._delegate(seed_texts, seed_labels, X_seed, pool_texts, pool_ids, X_pool, descriptions, expert,
                              journal=journal, monitor=monitor)

    def grow(self, X: Sequence[str], y: Sequence[str], *, pool: Sequence[str] | None = None, expert=None,
             descriptions: dict[str, str] | None = None, pool_ids: Sequence[str] | None = None,
             embeddings: tuple[np.ndarray, np.ndarray] | None = None, retrain: Sequence[str] | None = None,
             journal=None, monitor: Callable | None = None):
        """Grow this fitted (or loaded) model instead of starting afresh (``redtext add-classes``
        and ``redtext retrain``): its training rows join the seed ``X, y``; labels new to it are
        placed into its subsets (:mod:`redtext.core.grow`), and only the subsets that took a new
        label — or hold one of the ``retrain`` labels — are retrained; every other subset keeps
        its classifier exactly. The expert is asked only about labels of the retrained subsets
        (or exactly the ``retrain`` labels when given). A flat model stays flat.

        ``grow`` replaces the fitted attributes rather than changing them, so
        ``copy.copy(model).grow(...)`` leaves ``model`` as it was."""
        from .core.grow import place_labels, subsets_holding
        from .core.vectors import label_vectors

        self._check_fitted()
        self._check_params()
        self._resolve()
        seed_texts, seed_labels, pool_texts, pool_ids = check_inputs(X, y, pool, pool_ids)
        base_texts, base_labels, base_X = self.training_data()
        base_models = list(self.ensemble_.models_)
        n_base = len(self.classes_)
        base_subsets = [list(s) for s in self.subsets_]
        self.classes_ = list(self.classes_) + sorted(set(seed_labels) - set(self.classes_))
        unknown = sorted(set(retrain or ()) - set(self.classes_))
        if unknown:
            raise InputError(f"--classes names labels the model does not have: {', '.join(unknown[:5])}; "
                             f"its labels are listed in {getattr(self, 'path_', 'the model')}/manifest.json")
        X_new, X_pool = self._vectors(seed_texts, pool_texts, embeddings)
        # a text the new seed labels (an accepted proposal, say) leaves the model's own training rows
        relabelled = set(seed_texts)
        keep = [j for j, t in enumerate(base_texts) if t not in relabelled]
        seed_texts = [base_texts[j] for j in keep] + seed_texts
        seed_labels = [base_labels[j] for j in keep] + seed_labels
        X_seed = np.vstack([np.asarray(base_X, dtype=np.float32)[keep], X_new])
        y_all = self._indices(seed_labels)
        known = y_all < len(self.classes_)  # label vectors from the labels' own rows, not "no label"'s
        self.label_vectors_ = label_vectors(X_seed[known], y_all[known], len(self.classes_))
        size = None if len(base_subsets) == 1 else (resolve_subset_size(self.subset_size, len(self.classes_))
                                                     or AUTO_SUBSET_SIZE)
        self.subset_size_ = size
        self.subsets_, changed = place_labels(self.label_vectors_, base_subsets,
                                              list(range(n_base, len(self.classes_))), size)
        retrain_idx = [self.classes_.index(c) for c in (retrain or ())]
        changed |= subsets_holding(self.subsets_, retrain_idx)
        if getattr(self, "open_world_", False) and changed:
            # "no label" moves to the new last index: its classifier (flat: the one) retrains
            changed |= subsets_holding(self._model_subsets(), [len(self.classes_)])
        if not changed:
            raise InputError("nothing to retrain: the seed adds no new label and no --classes were named")
        frozen = {g: m for g, m in enumerate(base_models) if g not in changed}
        self.changed_subsets_ = sorted(g for g in changed if g < len(self.subsets_))
        ask = retrain_idx or [lab for g in self.changed_subsets_ for lab in self.subsets_[g]]
        ask_labels = np.zeros(len(self.classes_), dtype=bool)
        ask_labels[ask] = True
        return self._delegate(seed_texts, seed_labels, X_seed, pool_texts, pool_ids, X_pool, descriptions, expert,
                              journal=journal, monitor=monitor, frozen=frozen, ask_labels=ask_labels)

    def _indices(self, labels: Sequence[str]) -> np.ndarray:
        index = {c: i for i, c in enumerate(self.classes_)}
        index[NONE_LABEL] = len(self.classes_)  # training rows of "no label" (open world)
        return np.array([index[lab] for lab in labels], dtype=np.int64)

    def _vectors(self, seed_texts, pool_texts, embeddings) -> tuple[np.ndarray, np.ndarray]:
        if embeddings is not None:
            X_seed, X_pool = (np.asarray(e, dtype=np.float32) for e in embeddings)
        else:
            both = self._encode(seed_texts + pool_texts)
            X_seed, X_pool = both[:len(seed_texts)], both[len(seed_texts):]
        if len(X_seed) != len(seed_texts) or len(X_pool) != len(pool_texts):
            raise InputError(f"embeddings hold {len(X_seed)} seed and {len(X_pool)} pool vectors for "
                             f"{len(seed_texts)} seed and {len(pool_texts)} pool texts")
        return X_seed, X_pool.reshape(len(pool_texts), X_seed.shape[1])

    def _delegate(self, seed_texts, seed_labels, X_seed, pool_texts, pool_ids, X_pool, descriptions, expert, *,
                  journal, monitor, frozen=None, ask_labels=None):
        """Run the loop over the pool and keep what it delivers."""
        from .core.audit import run_audit
        from .core.deliver import deliver
        from .core.drift import class_stats
        from .core.journal import MemoryJournal
        from .core.loop import Delegation, LoopConfig, Problem
        from .core.trainer import Trainer
        from .core.vectors import description_texts
        from .experts import as_expert
        from .progress import progress_bar

        y_seed = self._indices(seed_labels)
        index = {c: i for i, c in enumerate(self.classes_)}
        descriptions = {k: v for k, v in (descriptions or {}).items() if k in index}
        d_texts, d_y = description_texts(list(self.classes_), descriptions, y_seed)  # learnt from, never asked about
        n_user = len(self.classes_)
        none = n_user if getattr(self, "open_world_", False) else None
        n_model = n_user + (none is not None)   # the classifiers' labels: the user's, then "no label"
        if none is not None:  # never asked about: it is what the expert's rejections of every label mean
            ask_labels = np.ones(n_user, dtype=bool) if ask_labels is None else np.asarray(ask_labels, dtype=bool)
            ask_labels = np.append(ask_labels, False)
        label_group = np.empty(n_model, dtype=np.int64)
        for g, members in enumerate(self._model_subsets()):
            label_group[members] = g
        seed_map = {t: int(lab) for t, lab in zip(seed_texts, y_seed)}
        fixed = np.array([seed_map.get(t, -1) for t in pool_texts], dtype=np.int64)
        n_budget = resolve_budget(self.budget, len(pool_texts)) if expert is not None else 0
        expert = as_expert(expert) if expert is not None else as_expert(_no_expert)
        expert.prepare(self.classes_, self.label_vectors_)
        opts, ropts = self._classifier, self._rounds
        vectors = self.label_vectors_ if none is None else np.vstack([self.label_vectors_,
                                                                      self.label_vectors_.mean(axis=0, keepdims=True)])
        trainer = Trainer(self._model_subsets(), n_model, label_vectors=vectors, C=opts.C,
                          noise_factor=opts.noise_factor, noise_clusters=opts.noise_clusters,
                          random_state=self.random_state, n_jobs=self.n_jobs, backend=self.backend_, frozen=frozen)
        problem = Problem(classes=list(self.classes_) + ([NONE_LABEL] if none is not None else []), X_seed=X_seed,
                          y_seed=y_seed, seed_texts=seed_texts, X_pool=X_pool, pool_texts=pool_texts,
                          pool_ids=pool_ids, fixed=fixed, descriptions=descriptions, none=none,
                          extra=(self._encode(d_texts), d_y) if d_texts else None)
        checks, audit = self._quality.calls(n_budget)
        config = LoopConfig(budget=n_budget, checks=checks, audit=audit, max_rounds=ropts.max_rounds,
                            rounds_hint=ropts.rounds_hint, max_candidates=self.max_candidates,
                            n_candidates=ropts.n_candidates, uncertainty=self.uncertainty, n_examples=ropts.n_examples,
                            min_gain=ropts.min_gain, ask_labels=ask_labels, random_state=self.random_state,
                            open_world=self.open_world if none is not None else "off", question=ropts.question,
                            choices=ropts.choices)
        bar = bool(self.verbose) and n_budget > 0 and not expert.interactive  # a person's prompt is not drawn over
        with progress_bar("expert questions", total=n_budget, enabled=bar) as adv:
            loop = Delegation(problem, config, trainer, expert, journal=journal or MemoryJournal(),
                              label_group=label_group, monitor=monitor, on_answers=adv)
            result = loop.run()
            delivered = deliver(problem, result)
            self.estimate_ = run_audit(loop, delivered, result, audit, self.random_state)
        self.expert_quality_ = result.rates.as_dict()
        self.sharpness_ = float(result.ledger.sharpness)
        self.none_share_ = float(result.ledger.none_share)
        self.checks_ = [(seed_texts[c.row], self.classes_[c.label], c.positive, v) for c, v in result.checks]
        self.audited_ = {pool_ids[i]: v for i, v in self.estimate_.pop("audited").items()}
        self.ensemble_ = result.model
        self.history_ = result.rounds
        self.stop_reason_ = result.stop_reason
        self.stop_detail_ = expert.exhausted_reason if result.stop_reason == "expert_limit" else None
        self.selection_ = result.selection
        self.expert_calls_ = result.calls + len(self.audited_)
        self.new_expert_calls_ = loop.asker.new_answers
        self.budget_calls_ = n_budget
        self.answers_ = [(pool_texts[i], self.classes_[lab], v, r) for i, lab, v, r in result.answers]
        rows = delivered.train_rows
        names = list(self.classes_) + [None]   # "no label" is None for users, NONE_LABEL in training rows
        self.train_texts_ = list(seed_texts) + [pool_texts[i] for i in rows]
        self.train_labels_ = list(seed_labels) + [names[result.trained[i]] or NONE_LABEL for i in rows]
        self.train_X_ = np.vstack([X_seed, X_pool[rows]]).astype(np.float32)
        self.pool_ids_ = list(pool_ids)
        self.pool_label_index_ = delivered.label
        self.pool_labels_ = self._names(delivered.label).tolist()
        self.pool_confidence_ = delivered.confidence
        self.pool_source_ = delivered.source
        self.pool_all_noise_ = delivered.all_noise
        self.pool_candidates_ = [[(names[c], float(s)) for c, s in zip(cands, scs)]
                                 for cands, scs in zip(delivered.candidates, delivered.candidate_scores)]
        self.class_stats_ = class_stats(self.classes_, self.pool_labels_, delivered.confidence, delivered.source,
                                        [(lab, v) for _, lab, v, _ in self.answers_])
        return self

    # -- predict ---------------------------------------------------------------------------------------
    def _check_fitted(self):
        if not hasattr(self, "ensemble_"):
            raise InputError("this RED model is not fitted yet; call fit() or RED.load() first")

    def _selection(self) -> str:
        """The uncertainty score predictions carry: the one the loop used, else the parameter
        (``auto`` before any loop ran means margin)."""
        chosen = getattr(self, "selection_", None) or self.uncertainty
        return "margin" if chosen == "auto" else chosen

    def predict_details(self, texts: Sequence[str] | None, *, embeddings: np.ndarray | None = None,
                        proba: bool = False) -> Predictions:
        """Ranked candidates, label, confidence, uncertainty per text. The dense ``(N, L)``
        ``proba`` matrix is built only with ``proba=True`` (8 GB at 1M texts × 1000 labels)."""
        self._check_fitted()
        if not hasattr(self, "embedder_"):
            self._resolve()
        X = embeddings if embeddings is not None else self._encode(list(texts))
        n_candidates = self._rounds.n_candidates
        if not proba:
            pred = predict_compact(self.ensemble_, X, n_candidates=n_candidates, uncertainty=self._selection())
        else:
            scores, all_noise = self.ensemble_.predict_proba(X, return_noise=True)
            pred = combine(scores, all_noise, n_candidates=n_candidates, uncertainty=self._selection())
        # calibrated as the run's delivered confidences are (the power the expert's answers measured)
        return calibrated(pred, len(self.classes_), getattr(self, "sharpness_", 1.0))

    def _model_subsets(self) -> list[list[int]]:
        """The classifiers' subsets: ``subsets_``, with "no label" in the open world (:func:`with_none`)."""
        subsets = [list(s) for s in self.subsets_]
        return with_none(subsets, len(self.classes_)) if getattr(self, "open_world_", False) else subsets

    def _names(self, index) -> np.ndarray:
        """Label names for label indices, None for "no label"."""
        return np.asarray(list(self.classes_) + [None], dtype=object)[np.asarray(index, dtype=np.int64)]

    def predict_proba(self, texts: Sequence[str] | None, *, embeddings: np.ndarray | None = None) -> np.ndarray:
        """``(N, len(classes_))``; columns follow ``classes_`` (for an open-world model each row
        sums to one minus the probability that the text fits no label)."""
        return self.predict_details(texts, embeddings=embeddings, proba=True).proba[:, :len(self.classes_)]

    def predict(self, texts: Sequence[str] | None, *, embeddings: np.ndarray | None = None) -> np.ndarray:
        pred = self.predict_details(texts, embeddings=embeddings)
        return self._names(pred.label)

    # -- persistence -----------------------------------------------------------------------------------
    _UNSAVED = ("embedder", "backend", "n_jobs", "verbose")

    def save(self, path) -> Path:
        """Write the model bundle (plain arrays and a manifest, no pickle) to the folder ``path``."""
        from .io.bundle import save_bundle

        self._check_fitted()
        if not hasattr(self, "embedder_"):
            self._resolve()
        spec = self.embedder if isinstance(self.embedder, str) else None
        params = {k: options_to_json(v) for k, v in self.get_params(deep=False).items() if k not in self._UNSAVED}
        return save_bundle(path, classes=self.classes_, models=self.ensemble_.models_,
                           embedder={"spec": spec, "name": self.embedder_.name, "dim": int(self.embedder_.dim)},
                           params=params,
                           extra={"subsets": [list(map(int, s)) for s in self.subsets_],
                                  "class_stats": getattr(self, "class_stats_", None),
                                  "sharpness": float(getattr(self, "sharpness_", 1.0)),
                                  "open_world": bool(getattr(self, "open_world_", False)),
                                  "columns": getattr(self, "columns_", None)},
                           training=(self.train_texts_, self.train_labels_, self.train_X_)
                           if hasattr(self, "train_X_") else None)

    def training_data(self) -> tuple[list[str], list[str], np.ndarray]:
        """(texts, labels, vectors) the classifiers were trained on: seed plus expert-validated."""
        self._check_fitted()
        if not hasattr(self, "train_X_"):
            from .io.bundle import load_training

            if getattr(self, "path_", None) is None:
                raise InputError("this model holds no training rows; fit it first")
            self.train_texts_, self.train_labels_, self.train_X_ = load_training(self.path_)
        return self.train_texts_, self.train_labels_, self.train_X_

    @classmethod
    def load(cls, path, *, embedder=None, backend="local") -> "RED":
        """A model bundle written by :meth:`save` (or a run folder: its ``model/``)."""
        from .core.subsets import SubsetEnsemble, SubsetModel
        from .io.bundle import load_bundle

        path = Path(path)
        if not (path / "manifest.json").exists() and (path / "model" / "manifest.json").is_file():
            path = path / "model"  # a run folder: its model
        manifest, arrays = load_bundle(path)
        models = [SubsetModel(**m) for m in arrays]
        info = manifest["embedder"]
        if embedder is None:
            if not info.get("spec"):
                raise InputError(f"{path} was trained with a custom embedder ({info.get('name')}); "
                                 "pass the same embedder to RED.load(path, embedder=...)")
            from .embed import spec_for_saved

            embedder = spec_for_saved(info["spec"], info.get("name"))
        self = cls(**saved_params(manifest.get("params", {})), backend=backend)
        self.embedder = embedder
        self._resolve()
        if self.embedder_.name != info.get("name"):
            raise InputError(f"{path} was trained with embedder {info.get('name')}, not {self.embedder_.name}; "
                             "pass the embedder it was trained with")
        self.classes_ = list(manifest["classes"])
        self.subsets_ = [list(s) for s in manifest.get("subsets", [m.labels.tolist() for m in models])]
        self.open_world_ = bool(manifest.get("open_world", False))
        n_model = len(self.classes_) + self.open_world_  # then "no label"
        ens = SubsetEnsemble(self._model_subsets(), n_model, backend=self.backend_)
        ens.models_ = models
        ens.n_features_in_ = int(info.get("dim", models[0].coef.shape[1]))
        self.ensemble_ = ens
        self.path_ = path
        self.manifest_ = manifest
        self.class_stats_ = manifest.get("class_stats")
        self.sharpness_ = float(manifest.get("sharpness", 1.0))  # bundles before 0.3: uncalibrated
        self.columns_ = manifest.get("columns")  # the run's text and id columns, for classify
        return self


def saved_params(params: dict) -> dict:
    """Constructor parameters from a manifest's or run config's ``params``
    (:func:`redtext.options.params_from_saved`)."""
    import inspect

    from .options import params_from_saved

    return params_from_saved(params, set(inspect.signature(RED.__init__).parameters) - {"self"})


def _no_expert(text, label, context):  # pragma: no cover - never asked: the budget is 0 without an expert
    raise AssertionError("no expert was given")
