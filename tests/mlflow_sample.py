"""Log two training runs into a fresh MLflow store, the way the classic MLflow sample does.

Run as `python -m tests.mlflow_sample STORE_DIR`: a SQLite tracking store at
STORE_DIR/mlflow.db with its artifacts under STORE_DIR/artifacts, written by MLflow itself
through its public API. Two runs of one experiment train a tiny PyTorch model on the same
seeded data (so MLflow shares one dataset row between them), and their models are
registered as versions 1 and 2 of one registered model. A run of a second experiment logs
no model and a metric that is not a number.
"""

import sys
from pathlib import Path

import mlflow
import mlflow.pytorch
import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import torch
from mlflow.data.pandas_dataset import from_pandas
from torch import nn

EXPERIMENT = "credit-scoring"
SMOKE_EXPERIMENT = "smoke-tests"
REGISTERED_MODEL = "Credit Scorer"
COMMIT = "3f786850e387550fdab836ed7e6dc881de23001b"
REPOSITORY = "git@git.bank.example:risk/credit-scorer.git"
# Pinned, as a lock file would: inferring them runs the model in a subprocess (seconds).
REQUIREMENTS = [f"mlflow=={mlflow.__version__}", f"torch=={torch.__version__.split('+')[0]}"]


def training_data() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    features = rng.normal(size=(64, 3)).round(6)
    target = (features.sum(axis=1) > 0).astype("float64")
    frame = pd.DataFrame(features, columns=["income", "debt", "age"])
    frame["default"] = target
    return frame


def train(frame: pd.DataFrame, *, learning_rate: float, epochs: int) -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    features = torch.tensor(frame[["income", "debt", "age"]].to_numpy(), dtype=torch.float32)
    target = torch.tensor(frame[["default"]].to_numpy(), dtype=torch.float32)
    loss_fn = nn.BCEWithLogitsLoss()
    for epoch in range(epochs):
        optimizer.zero_grad()
        loss = loss_fn(model(features), target)
        loss.backward()
        optimizer.step()
        mlflow.log_metric("loss", float(loss.item()), step=epoch)
    with torch.no_grad():
        accuracy = ((model(features) > 0).float() == target).float().mean().item()
    mlflow.log_metric("accuracy", accuracy)
    return model


def log_run(frame: pd.DataFrame, *, learning_rate: float, epochs: int, name: str) -> str:
    with mlflow.start_run(run_name=name) as run:
        mlflow.set_tags(
            {
                "mlflow.source.git.commit": COMMIT,
                "mlflow.source.git.repoURL": REPOSITORY,
                "mlflow.source.git.branch": "main",
            }
        )
        mlflow.log_param("learning_rate", learning_rate)
        mlflow.log_param("epochs", epochs)
        dataset = from_pandas(frame, name="applications", targets="default")
        mlflow.log_input(dataset, context="training")
        model = train(frame, learning_rate=learning_rate, epochs=epochs)
        info = mlflow.pytorch.log_model(
            model, name=name, serialization_format="pickle", pip_requirements=REQUIREMENTS
        )
        mlflow.register_model(info.model_uri, REGISTERED_MODEL)
        return str(run.info.run_id)


def log_smoke_test() -> None:
    """A run of another experiment, with no model and a metric that is not a number."""
    with mlflow.start_run(run_name="smoke"):
        mlflow.log_param("rows", 64)
        mlflow.log_metric("latency_ms", 12.5)
        mlflow.log_metric("drift", float("nan"))


def use_experiment(name: str, store: Path) -> None:
    if mlflow.get_experiment_by_name(name) is None:
        mlflow.create_experiment(name, artifact_location=(store / "artifacts" / name).as_uri())
    mlflow.set_experiment(name)


def main(store: Path) -> None:
    store.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(f"sqlite:///{store / 'mlflow.db'}")
    use_experiment(EXPERIMENT, store)
    frame = training_data()
    log_run(frame, learning_rate=0.1, epochs=3, name="scorer_v1")
    log_run(frame, learning_rate=0.05, epochs=4, name="scorer_v2")
    client = mlflow.MlflowClient()
    client.set_registered_model_tag(REGISTERED_MODEL, "auditreg.risk_tier", "high")
    client.set_registered_model_tag(REGISTERED_MODEL, "auditreg.owner", "Retail Credit Risk")
    use_experiment(SMOKE_EXPERIMENT, store)
    log_smoke_test()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
