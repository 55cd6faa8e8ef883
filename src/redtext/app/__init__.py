"""What the commands do, between the files and the algorithm: start and resume runs
(:mod:`.runner`), classify with a saved model (:mod:`.classify`), serve it over HTTP
(:mod:`.serve`), export and report on a run (:mod:`.export`, :mod:`.report`), estimate costs
(:mod:`.cost`). Each takes plain values and files and calls into :mod:`redtext.core`,
:class:`redtext.RED` and :mod:`redtext.io`; none knows the command line.
"""
