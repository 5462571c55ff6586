"""No credential ever reaches a file: fake secrets planted in the environment, in ~/.netrc and in
an override are searched for in EVERY file a run and a report write (W&B's offline files too),
and in what the commands print. And the code never evaluates config text or unpickles."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from faultkit import REPO, crash_check, tally, workbench

SECRETS = {
    "WANDB_API_KEY": "wbfake0000000000000000000000000000000001",
    "MY_SERVICE_TOKEN": "tokfake-7c1e5d0b9a",
    "AWS_SECRET_ACCESS_KEY": "awsfake/9f8e7d6c5b4a3",
    "GITHUB_TOKEN": "ghp_fake1234567890abcdef",
    "HF_TOKEN": "hf_fakeABCDEFGHIJKL",
    "DB_PASSWORD": "pwfake-correct-horse",
    "WANDB_PRIVATE_SESSION": "sessfake-42-42",
}
NETRC_KEY = "netrcfake0000000000000000000000000000000002"
OVERRIDE_SECRET = "ovrfake-5a5a5a5a"


def every_file(*folders: Path) -> list[Path]:
    return sorted(p for folder in folders for p in folder.rglob("*") if p.is_file() and p.name != ".netrc")


def leaks_in(data: bytes, secrets: list[str]) -> list[str]:
    found = []
    for secret in secrets:
        forms = {secret.encode(), base64.b64encode(secret.encode()), secret.encode("utf-16-le")}
        if any(form in data for form in forms):
            found.append(secret)
    return found


@pytest.mark.slow
def test_planted_secrets_are_in_no_file_and_no_output(project, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / ".netrc").write_text(f"machine api.wandb.ai\n  login user\n  password {NETRC_KEY}\n")
    (home / ".netrc").chmod(0o600)
    env = {**SECRETS, "HOME": str(home)}
    secrets = [*SECRETS.values(), NETRC_KEY, OVERRIDE_SECRET]
    outputs = []
    for args in (("run", "mnist1d", "stage=prototype", "model=logistic", "debug=fast", "logger=wandb",
                  f"+api_token={OVERRIDE_SECRET}", f"+logger.wandb.api_key={OVERRIDE_SECRET}"),
                 ("report", "mnist1d")):
        proc = workbench(project, *args, env=env, timeout=300)
        assert not crash_check(proc.stderr, " ".join(args))
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout + proc.stderr)
    [run] = (project / "reproductions" / "mnist1d" / "runs" / "prototype").glob("*-*")
    assert list(run.glob("wandb/offline-run-*/run-*.wandb")), "the W&B mirror wrote its offline files"
    wandb_dirs = [Path(p) for p in (tmp_path / d for d in ("wandb_dir", "wandb_data_dir", "wandb_cache_dir", "wandb_config_dir"))]
    files = every_file(project / "reproductions", home, *wandb_dirs)
    assert len(files) > 10
    leaks = [f"{path}: {leaks_in(path.read_bytes(), secrets)}" for path in files if leaks_in(path.read_bytes(), secrets)]
    leaks += [f"command output: {leaks_in(text.encode(), secrets)}" for text in outputs if leaks_in(text.encode(), secrets)]
    tally("faults_injected", len(secrets), what="planted secrets")
    tally("secrets_leaked", len(leaks), where="; ".join(leaks))
    assert not leaks
    # the redaction is visible where the value would have been
    assert "<redacted>" in (run / "overrides.yaml").read_text()
    assert "<redacted>" in (run / "provenance.json").read_text()


# ---------------------------------------------------------------- the code itself


def python_sources() -> list[Path]:
    return sorted([*(REPO / "src" / "workbench").rglob("*.py"), *(REPO / "papers").rglob("*.py")])


def restricts_unpickling(text: str) -> bool:
    """A reader of a format that is a pickle (CIFAR-10's batches) may import pickle when it only
    ever loads through an Unpickler whose find_class allows named classes and nothing else."""
    return (re.search(r"class \w+\(pickle\.Unpickler\):", text) is not None and "def find_class" in text
            and re.search(r"pickle\.loads?\(", text) is None)


def calls(text: str, name: str) -> list[str]:
    """Every `name(...)` call in text, with its arguments (parentheses balanced)."""
    found = []
    for match in re.finditer(re.escape(name) + r"\s*\(", text):
        depth, i = 0, match.end() - 1
        while i < len(text):
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            if depth == 0:
                break
            i += 1
        found.append(text[match.start():i + 1])
    return found


def test_no_eval_exec_unsafe_yaml_or_pickle_in_the_code():
    problems = []
    for path in python_sources():
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(REPO)
        if path.name.startswith("test_"):
            continue  # tests build hostile inputs on purpose (a pickle that calls os.system)
        for match in re.finditer(r"(?<![\w.])(eval|exec|compile|__import__)\s*\(", text):
            problems.append(f"{where}: {match.group(0)} runs text as code")
        for bad in ("yaml.unsafe_load", "yaml.full_load", "FullLoader", "UnsafeLoader", "yaml.Loader",
                    "shell=True", "os.system", "oc.eval"):
            if re.search(rf"(?<![\w.]){re.escape(bad)}\b", text):
                problems.append(f"{where}: uses {bad}")
        for match in re.finditer(r"\b(import|from) (pickle|cPickle|marshal|shelve|dill|joblib)\b", text):
            if restricts_unpickling(text):
                continue
            problems.append(f"{where}: {match.group(0)} (unpickling runs code from the file)")
        for call in calls(text, "yaml.load"):
            if not re.search(r"Loader=(yaml\.)?(C?SafeLoader|UniqueKeyLoader)\b", call):
                problems.append(f"{where}: {call} without a safe Loader")
        for call in calls(text, "torch.load"):
            if "weights_only=True" not in call:
                problems.append(f"{where}: {call} without weights_only=True")
    tally("bad_inputs_tried", len(python_sources()), what="source files scanned")
    assert not problems, "\n".join(problems)


def test_the_yaml_loader_used_for_configs_is_a_safe_one():
    import yaml

    from workbench.run.config import UniqueKeyLoader

    assert issubclass(UniqueKeyLoader, yaml.SafeLoader)
