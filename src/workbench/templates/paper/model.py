"""Stage 2 model(s) of "{{title}}" (arXiv {{arxiv}}), top to bottom, built from components.py.

Spell shapes as einops patterns and cite the section or table each size comes from
(see papers/mnist1d/model.py).
"""
