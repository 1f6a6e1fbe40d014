"""The control plane: the source of truth for models (and, later, deployments). Owns the store."""

from inferd.control.inference_config import TrainedModelConfigBody
from inferd.control.registry import ModelRegistry

__all__ = ["ModelRegistry", "TrainedModelConfigBody"]
