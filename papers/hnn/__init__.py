"""HNN: "Hamiltonian Neural Networks", Greydanus, Dzamba & Yosinski, arXiv 1906.01563 (NeurIPS 2019).

This folder reproduces Table 1 for tasks 1 (ideal mass-spring) and 2 (ideal pendulum): train and
test loss of the time derivatives and energy MSE of integrated trajectories, baseline NN vs HNN.
"""
