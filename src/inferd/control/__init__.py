"""The control plane: the source of truth for models and deployments. Owns the store."""

from inferd.control.adaptive import ScalerSettings
from inferd.control.deployments import DeploymentManager, RuntimeLimits
from inferd.control.inference_config import TrainedModelConfigBody
from inferd.control.registry import ModelRegistry

__all__ = ["DeploymentManager", "ModelRegistry", "RuntimeLimits", "ScalerSettings", "TrainedModelConfigBody"]
