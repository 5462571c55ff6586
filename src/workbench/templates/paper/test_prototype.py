"""Stage 2 gate for "{{title}}" (arXiv {{arxiv}}): the prototype config trains and its loss falls.

Not written yet: experiment.py's build(cfg) comes first. See papers/mnist1d/test_prototype.py.
"""

import pytest

pytest.skip("not yet implemented: write experiment.py, then a prototype test (stage 2)", allow_module_level=True)
