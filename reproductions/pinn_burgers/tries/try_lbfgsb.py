"""One scipy L-BFGS-B minimize call on the pinn_burgers experiment (as Burgers.py makes it), logging
iterations, loss, rel L2 and wall time every --every iterations to a jsonl; stops at --minutes.

usage (from the repository root, with the project installed):
    python reproductions/pinn_burgers/tries/try_lbfgsb.py OUT.jsonl --minutes 14 [--every 100] [--maxiter 50000] [--gtol G] [--init RUN_DIR]
                     [--old-points] [hydra overrides...]
--init continues from a run folder's checkpoints/last.pt (its iteration count starts the log);
--old-points uses the draws the code made before it copied Burgers.py's (scipy qmc LHS).
"""
import argparse, json, sys, time
from pathlib import Path
import numpy as np
import scipy.optimize
import torch
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repository root: papers/ importable
from workbench import load_config, seed_everything
from papers.pinn_burgers.experiment import build
from papers.pinn_burgers.lbfgsb import assign, flat_grad, flatten, EPS

ap = argparse.ArgumentParser()
ap.add_argument("out"); ap.add_argument("--minutes", type=float, default=14); ap.add_argument("--every", type=int, default=100)
ap.add_argument("--maxiter", type=int, default=50000); ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--gtol", type=float, default=1e-5)
ap.add_argument("--init"); ap.add_argument("--old-points", action="store_true")
ap.add_argument("overrides", nargs="*")
a = ap.parse_intermixed_args()
torch.set_num_threads(1)
seed_everything(a.seed)
cfg = load_config("pinn_burgers", ["stage=reproduction", *a.overrides])
exp = build(cfg)
if a.old_points:
    from scipy.stats import qmc
    from papers.pinn_burgers.components import boundary_points
    xt_u, u_b = boundary_points(exp.grid_x, exp.grid_t, exp.u_exact)
    lb, ub = exp.x_star.min(0), exp.x_star.max(0)
    pick = np.random.RandomState(1234).choice(len(xt_u), 100, replace=False)
    xt_f = np.vstack([lb + (ub - lb) * qmc.LatinHypercube(d=2, seed=1234).random(10000), xt_u])
    as_t = lambda v: torch.tensor(v, dtype=exp.dtype)
    exp.x_u.copy_(as_t(xt_u[pick, :1])); exp.t_u.copy_(as_t(xt_u[pick, 1:])); exp.u.copy_(as_t(u_b[pick]))
    exp.x_f.copy_(as_t(xt_f[:, :1])); exp.t_f.copy_(as_t(xt_f[:, 1:]))
start_iter = 0
if a.init:
    payload = torch.load(f"{a.init}/checkpoints/last.pt", weights_only=False)
    exp.model.load_state_dict(payload["model"])
    start_iter = payload["optimizer"]["state"][0]["n_iter"]
params = [p for p in exp.model.parameters()]
out = open(a.out, "w")
start = time.perf_counter()
n_eval = [0]
last = {}

def fg(x):
    assign(params, x)
    for p in params: p.grad = None
    with torch.enable_grad():
        o = exp.train_step(None)
        o["loss"].backward()
    n_eval[0] += 1
    last.update(loss=float(o["loss"]), mse_u=float(o["mse_u"]), mse_f=float(o["mse_f"]))
    return float(o["loss"]), flat_grad(params)

it = [start_iter]
def log(x, final=False):
    assign(params, x)
    rec = {"iter": it[0], "evals": n_eval[0], "wall_s": round(time.perf_counter() - start, 1),
           "rel_l2": exp.evaluate()["test/rel_l2"], **last}
    out.write(json.dumps(rec) + "\n"); out.flush()

def cb(intermediate_result):
    it[0] += 1
    if it[0] % a.every == 0:
        log(intermediate_result.x)
    if time.perf_counter() - start > a.minutes * 60:
        raise StopIteration

with torch.no_grad():
    log(flatten(params))
    r = scipy.optimize.minimize(fg, flatten(params), jac=True, method="L-BFGS-B", callback=cb,
                                options=dict(maxiter=a.maxiter, maxfun=a.maxiter, maxcor=50, maxls=50, ftol=EPS, gtol=a.gtol))
    log(r.x)
out.write(json.dumps({"message": str(r.message), "nit": int(r.nit), "nfev": int(r.nfev), "overrides": a.overrides, "seed": a.seed}) + "\n")
print(r.message, r.nit, r.nfev, time.perf_counter() - start)
