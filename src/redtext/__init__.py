"""redtext: label large text pools into large label spaces with few examples, by
Recursive Expert Delegation (R.E.D.).

    from redtext import RED
    model = RED(budget=0.25).fit(seed_texts, seed_labels, pool=pool_texts, expert=ask)
    model.pool_labels_, model.predict(new_texts), model.save("model/")

The layers (ARCHITECTURE.md): :mod:`redtext.core` (the algorithm, pure computation),
:mod:`redtext.io` (files and the run store), :mod:`redtext.embed`, :mod:`redtext.experts` and
:mod:`redtext.backends` (the plug-in points), :mod:`redtext.app` (what commands do),
:mod:`redtext.bench` (benchmarks) and :mod:`redtext.cli` (the command line).
"""
from ._version import __version__  # noqa: E402
from .errors import InputError, RedtextError  # noqa: E402
from .estimator import RED  # noqa: E402
from .options import ClassifierOptions, RoundOptions  # noqa: E402

__all__ = ["RED", "ClassifierOptions", "InputError", "RedtextError", "RoundOptions", "__version__"]
