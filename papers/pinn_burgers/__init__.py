"""PINN Burgers: "Physics Informed Deep Learning (Part I)", Raissi, Perdikaris & Karniadakis, arXiv 1711.10561.

This folder reproduces §3.1 (continuous-time inference of Burgers' equation): the relative L2
error 6.7e-4 of a 9-layer tanh network trained with L-BFGS on 100 initial/boundary points and
10,000 collocation points, and the N_u × N_f and depth × width studies of Tables 1–2.
"""
