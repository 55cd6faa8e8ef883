"""redtext: label large text pools into large label spaces with few examples, by
Recursive Expert Delegation (R.E.D.).

    from redtext import RED
    model = RED(subset_size=8, noise_factor=2).fit(seed_texts, seed_labels, pool=pool_texts, expert=ask)
    model.pool_labels_, model.predict(new_texts), model.save("model/")
"""
__version__ = "0.1.0"

from .errors import InputError, RedtextError  # noqa: E402
from .red import RED  # noqa: E402

__all__ = ["RED", "InputError", "RedtextError", "__version__"]
