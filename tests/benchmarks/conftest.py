"""The benchmarks are scripts in a folder, not a package: ``python benchmarks/NAME.py`` puts
their folder first on ``sys.path``, and so does this file for the tests, which import a script
(and the script its ``_harness``) by name."""

import sys

from tests.conftest import REPO

BENCHMARKS = REPO / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))
