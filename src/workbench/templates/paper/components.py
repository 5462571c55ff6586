"""Stage 1 components of "{{title}}" (arXiv {{arxiv}}).

The smallest pieces of the method, one function each, with the paper's symbols as names and the
section or equation cited where it is used (see papers/mnist1d/components.py). Each one gets a
test in test_components.py against the plainest reference you can write.
"""
