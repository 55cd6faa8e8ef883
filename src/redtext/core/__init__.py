"""Pure computation: the R.E.D. algorithm on arrays.

Nothing here reads or writes files, talks HTTP, opens databases or knows the command line:
label vectors and the partition (:mod:`.vectors`, :mod:`.partition`), the subset classifiers
(:mod:`.subsets`, :mod:`.scoring`, :mod:`.trainer`), predictions and selection
(:mod:`.predict`, :mod:`.select`), the delegation loop and its stopping rules (:mod:`.loop`,
:mod:`.stop`, :mod:`.asking`), what gets delivered (:mod:`.deliver`), budgets
(:mod:`.budget`), growing a model (:mod:`.grow`) and per-class statistics (:mod:`.drift`).
The questions the loop puts to an expert are defined in :mod:`.questions`.
"""
