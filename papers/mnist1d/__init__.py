"""MNIST-1D: "Scaling Down Deep Learning with MNIST-1D", Greydanus & Kobak, arXiv 2011.14439.

This folder reproduces Table 1 (§4): test accuracy of logistic regression, an MLP, a CNN and
a GRU on MNIST-1D and on its spatially shuffled variant.
"""
