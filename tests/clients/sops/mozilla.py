"""Mozilla's original Python sops (PyPI `sops` 1.18, a dev dependency), imported with the
warnings its Python-2-era regular expressions raise under Python 3 silenced: the tests use
it as an independent implementation of the value cipher (`encrypt`, `decrypt`) and of the
tree walk with its MAC (`walk_and_encrypt`, `walk_and_decrypt`). It has no age support
(its key sources are KMS and PGP), so its trees are given the data key directly."""

from __future__ import annotations

import importlib
import warnings
from types import ModuleType


def load() -> ModuleType:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", SyntaxWarning)
        return importlib.import_module("sops")


sops = load()
