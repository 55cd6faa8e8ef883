"""The rarely touched knobs of :class:`redtext.RED`, grouped by stage, and the parameter checks.

``RED(classifier=ClassifierOptions(C=30), rounds=RoundOptions(max_rounds=8))``: each option
object is a frozen dataclass that checks its own values; the defaults are the ones
BENCHMARKS.md measured. :func:`check_params` checks an estimator's parameters against the
declarative rules in its ``_rules`` table.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from numbers import Integral, Real

from .errors import InputError


def _number(owner: str, name: str, value, *, low=None, high=None, strict_low=False, integer=False) -> None:
    kind = Integral if integer else Real
    if isinstance(value, bool) or not isinstance(value, kind) or (not integer and not math.isfinite(value)):
        raise InputError(f"{owner} {name}={value!r}: must be a {'whole' if integer else 'finite'} number")
    if low is not None and (value <= low if strict_low else value < low):
        raise InputError(f"{owner} {name}={value!r}: must be {'above' if strict_low else 'at least'} {low}")
    if high is not None and value > high:
        raise InputError(f"{owner} {name}={value!r}: must be at most {high}")


@dataclass(frozen=True)
class ClassifierOptions:
    """The subset classifiers: logistic regressions on embeddings, one per label subset.

    ``C`` is the inverse regularisation strength. ``noise_factor`` and ``noise_clusters`` shape
    the NOISE class of each subset (the partitioned mode only: a flat classifier has no NOISE):
    NOISE rows weigh ``noise_factor`` mean classes and are split into ``noise_clusters`` k-means
    sub-classes (one NOISE class cost 7 points on banking77). ``reduce="umap"`` reduces label
    vectors with UMAP before partitioning, as the R.E.D. article does; it changed nothing
    measurable here and costs ~12 s of compilation per process, so it is off."""

    C: float = 10.0
    noise_factor: float = 2.0
    noise_clusters: int = 32
    reduce: str | None = None

    def __post_init__(self):
        _number("ClassifierOptions", "C", self.C, low=0, strict_low=True)
        _number("ClassifierOptions", "noise_factor", self.noise_factor, low=0)
        _number("ClassifierOptions", "noise_clusters", self.noise_clusters, low=1, integer=True)
        if self.reduce not in (None, "umap"):
            raise InputError(f"ClassifierOptions reduce={self.reduce!r}: use None or 'umap'")


#: what the expert is asked (:class:`RoundOptions`)
QUESTIONS = ("auto", "binary", "choice")


@dataclass(frozen=True)
class RoundOptions:
    """The rounds of the delegation loop.

    ``max_rounds`` caps the rounds; the budget is spread over about ``rounds_hint`` of them; the
    loop stops once the share of asked texts the expert accepts falls under ``min_gain``;
    ``n_candidates`` ranked candidates are kept per text and ``n_examples`` nearest known
    examples of a label are shown with each question. ``question``: ``binary`` (is it this
    label?), ``choice`` (which of these ``choices`` candidates, or none? — for an expert that can
    choose) or ``auto`` (choice when the seed shows the classifier's top candidates often miss the
    truth: :func:`redtext.core.loop.resolve_question`)."""

    max_rounds: int = 20
    rounds_hint: int = 8
    min_gain: float = 0.05
    n_candidates: int = 5
    n_examples: int = 6
    question: str = "auto"
    choices: int = 5

    def __post_init__(self):
        _number("RoundOptions", "max_rounds", self.max_rounds, low=0, integer=True)
        _number("RoundOptions", "rounds_hint", self.rounds_hint, low=1, integer=True)
        _number("RoundOptions", "min_gain", self.min_gain, low=0, high=1)
        _number("RoundOptions", "n_candidates", self.n_candidates, low=1, integer=True)
        _number("RoundOptions", "n_examples", self.n_examples, low=0, integer=True)
        _number("RoundOptions", "choices", self.choices, low=2, integer=True)
        if self.question not in QUESTIONS:
            raise InputError(f"RoundOptions(question={self.question!r}): use one of {', '.join(QUESTIONS)}")


#: a share of the budget for checks or audit asks at least this many calls (when the budget allows)
MIN_QUALITY_CALLS = 10


@dataclass(frozen=True)
class QualityOptions:
    """How much of the budget measures the expert and the delivered labels.

    ``checks``: known-answer questions from the seed (:mod:`redtext.core.quality`), which
    measure the expert's rates; ``audit``: a stratified random sample of the delivered labels put
    to the expert after the loop (:mod:`redtext.core.audit`), which estimates the pool's accuracy
    with an interval. Each is a share of the budget (``0.03``) or a count of calls (``50``);
    0 turns it off; a share asks at least :data:`MIN_QUALITY_CALLS` calls when the budget
    allows (up to a tenth of it). Both come out of the budget (and ``--max-calls`` / ``--max-cost``)."""

    checks: float = 0.03
    audit: float = 0.02

    def __post_init__(self):
        for name in ("checks", "audit"):
            value = getattr(self, name)
            _number("QualityOptions", name, value, low=0)
            if isinstance(value, float) and value >= 1 and value != int(value):
                raise InputError(f"QualityOptions {name}={value!r}: a share must be under 1; a count must be whole")

    def calls(self, budget: int) -> tuple[int, int]:
        """(checks, audit) as counts of calls for a budget of ``budget`` calls."""
        def count(v):  # a share asks at least MIN_QUALITY_CALLS (fewer rates say nothing), up to a tenth of the budget
            if isinstance(v, int) or v >= 1:
                return int(v)
            return 0 if v == 0 else max(int(round(v * budget)), min(MIN_QUALITY_CALLS, budget // 10))
        checks, audit = count(self.checks), count(self.audit)
        if budget > 0 and checks + audit >= budget:
            raise InputError(f"the checks ({checks}) and the audit ({audit}) would take the whole budget of {budget} "
                             "calls; raise the budget or lower --checks / --audit")
        return checks, audit


OPTION_TYPES = {"classifier": ClassifierOptions, "rounds": RoundOptions, "quality": QualityOptions}


def options_to_json(value):
    """An option object as a plain dict (for manifests and run configs); other values as they are."""
    return asdict(value) if isinstance(value, tuple(OPTION_TYPES.values())) else value


def options_from_json(name: str, value):
    """The option object for a parameter saved by :func:`options_to_json` (unknown keys dropped)."""
    cls = OPTION_TYPES.get(name)
    if cls is None or not isinstance(value, dict):
        return value
    known = {f.name for f in fields(cls)}
    kept = {k: v for k, v in value.items() if k in known}
    if cls is RoundOptions and "question" not in value:  # saved before choice questions: binary, as it ran
        kept["question"] = "binary"
    return cls(**kept)


# -- declarative parameter rules --------------------------------------------------------------------
class Rule:
    """One parameter's rule: ``check(owner, name, value)`` raises a one-line InputError."""

    def check(self, owner: str, name: str, value) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class OneOf(Rule):
    def __init__(self, *choices):
        self.choices = choices

    def check(self, owner, name, value):
        if not isinstance(value, str) or value not in self.choices:
            raise InputError(f"{owner} {name}={value!r}: use one of {', '.join(map(str, self.choices))}")


class Number(Rule):
    def __init__(self, low=None, *, high=None, integer=False, strict_low=False):
        self.low, self.high, self.integer, self.strict_low = low, high, integer, strict_low

    def check(self, owner, name, value):
        _number(owner, name, value, low=self.low, high=self.high, integer=self.integer, strict_low=self.strict_low)


class Instance(Rule):
    def __init__(self, *types, what: str):
        self.types, self.what = types, what

    def check(self, owner, name, value):
        if not isinstance(value, self.types):
            raise InputError(f"{owner} {name}={value!r}: must be {self.what}")


class Either(Rule):
    """The first rule that fits wins; ``None`` in the list allows None."""

    def __init__(self, *rules, what: str):
        self.rules, self.what = rules, what

    def check(self, owner, name, value):
        for rule in self.rules:
            if rule is None:
                if value is None:
                    return
                continue
            if isinstance(rule, str):
                if value == rule:
                    return
                continue
            try:
                rule.check(owner, name, value)
                return
            except InputError:
                continue
        raise InputError(f"{owner} {name}={value!r}: must be {self.what}")


class Check(Rule):
    """A plain function ``fn(value)`` that raises InputError."""

    def __init__(self, fn):
        self.fn = fn

    def check(self, owner, name, value):
        self.fn(value)


class Params:
    """scikit-learn's parameter protocol by introspection of ``__init__`` (as its ``BaseEstimator``
    does, without importing scikit-learn when a command starts): ``get_params``, ``set_params``
    that only stores, and a repr showing the parameters that differ from their defaults."""

    @classmethod
    def _param_names(cls) -> list[str]:
        import inspect

        return [p.name for p in inspect.signature(cls.__init__).parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def get_params(self, deep: bool = True) -> dict:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        names = set(self._param_names())
        for key, value in params.items():
            if key not in names:
                raise ValueError(f"invalid parameter {key!r} for {type(self).__name__}; "
                                 f"valid parameters: {', '.join(sorted(names))}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        import inspect

        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        shown = [f"{k}={v!r}" for k, v in self.get_params().items() if not _same(v, defaults.get(k))]
        return f"{type(self).__name__}({', '.join(shown)})"


def _same(a, b) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:  # noqa: BLE001 - arrays and odd objects compare ambiguously
        return a is b


def check_params(estimator) -> None:
    """Check every parameter of ``estimator`` against its class's ``_rules`` table."""
    owner = type(estimator).__name__
    for name, value in estimator.get_params(deep=False).items():
        rule = type(estimator)._rules.get(name)
        if rule is not None:
            rule.check(owner, name, value)


#: parameters of older bundles and run configs, and where they live now
_OLD_CLASSIFIER = ("C", "noise_factor", "noise_clusters", "reduce")
_OLD_ROUNDS = ("max_rounds", "rounds_hint", "min_gain", "n_candidates", "n_examples")


def params_from_saved(params: dict, known: set) -> dict:
    """Constructor parameters from a manifest's or run config's ``params`` — including those
    written before the option objects existed (flat keys such as ``noise_factor`` or
    ``max_rounds``), leaving out parameters not in ``known`` (since removed: measured as not
    helping); a config or bundle from before the open world stays closed, as it ran."""
    out = {k: options_from_json(k, v) for k, v in params.items() if k in known and k not in ("backend",)}
    classifier = {k: params[k] for k in _OLD_CLASSIFIER if k in params}
    rounds = {k: params[k] for k in _OLD_ROUNDS if k in params}
    if classifier and not isinstance(out.get("classifier"), ClassifierOptions):
        out["classifier"] = ClassifierOptions(**classifier)
    if rounds and not isinstance(out.get("rounds"), RoundOptions):
        out["rounds"] = RoundOptions(**rounds, question="binary")
    if "rounds" in known and "rounds" not in out:  # saved before choice questions: binary, as it ran
        out["rounds"] = RoundOptions(question="binary")
    if "open_world" in known and "open_world" not in params:  # written before the open world: closed, as it ran
        out["open_world"] = "off"
    return out
