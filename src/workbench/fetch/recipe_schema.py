"""recipe.yaml's schema: one entry per hyperparameter the paper states, named from `VOCABULARY`
(documented in docs/paper-folder.md), with where the paper says it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

# name → what it means; docs/paper-folder.md lists the same words.
VOCABULARY = {
    "optimizer": "adam, adamw, sgd, rmsprop, adagrad, lbfgs, ... (lowercase)",
    "learning_rate": "the (initial or peak) learning rate",
    "lr_schedule": "cosine, step, multistep, linear, exponential, polynomial, inverse_sqrt, plateau, constant, one_cycle",
    "lr_decay_factor": "the factor the learning rate is multiplied or divided by, as printed",
    "lr_patience": "epochs without improvement before the learning rate is reduced",
    "min_learning_rate": "the floor the schedule decays to",
    "warmup_steps": "learning-rate warm-up, in steps", "warmup_epochs": "learning-rate warm-up, in epochs",
    "warmup_ratio": "learning-rate warm-up, as a fraction of training (10% → 0.1)",
    "batch_size": "examples per update", "epochs": "passes over the training set", "steps": "optimizer updates",
    "iterations": "training iterations, when the paper says iterations",
    "weight_decay": "weight decay or L2 penalty coefficient", "momentum": "SGD momentum",
    "beta1": "Adam's β1", "beta2": "Adam's β2", "epsilon": "Adam's ε", "dropout": "dropout probability",
    "label_smoothing": "label smoothing ε", "gradient_clip": "gradient-norm (or value) clipping threshold",
    "hidden_size": "hidden units / model width", "embedding_dim": "embedding size", "num_layers": "depth in layers",
    "num_heads": "attention heads", "kernel_size": "convolution kernel size (3 for 3×3)",
    "image_size": "input image side in pixels (224 for 224×224)", "sequence_length": "tokens per sequence",
    "vocab_size": "vocabulary size", "beam_size": "beam search width", "temperature": "softmax / sampling temperature",
    "num_seeds_or_runs": "independent runs or seeds a result is averaged over", "cv_folds": "cross-validation folds",
    "early_stopping_patience": "evaluations without improvement before training stops",
    "loss": "cross_entropy, mse, mae, nll, bce, hinge, huber, contrastive",
}
Name = Literal[tuple(VOCABULARY)]  # type: ignore[valid-type]
Value = int | float | str


class RecipeSource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: str
    line: int
    quote: str


class RecipeEntry(BaseModel):
    """One hyperparameter: `value`, or `values` for a grid or alternatives, never both."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    value: Value | None = None
    values: list[Value] | None = None
    scope: str | None = None
    source: RecipeSource

    @model_validator(mode="after")
    def _one_of_value_and_values(self) -> RecipeEntry:
        if (self.value is None) == (self.values is None):
            raise ValueError("give value or values (a grid), exactly one of them")
        return self

    def key(self) -> tuple[str, Any]:
        """What the paper states, wherever: name and value(s)."""
        return self.name, tuple(self.values) if self.values is not None else self.value


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipe: list[RecipeEntry]
