"""redtext: Recursive Expert Delegation for large label spaces."""
__version__ = "0.1.0"
