"""The body that creates a build, and a build as `/_inferd/models/{model_id}/builds` renders it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from inferd.control.builds import MAX_COMMENT_CHARS
from inferd.control.views import DeploymentView
from inferd.control.inference_config import InferenceConfig
from inferd.control.request_body import Checked, StrictBody
from inferd.store import BuildRecord, ModelRecord


class BuildBody(StrictBody):
    """A new build of the model: its comment, and its `inference_config` (by default the default build's), which
    must keep the model's task."""

    comment: Annotated[str | None, Checked(maxLength=MAX_COMMENT_CHARS)] = None
    inference_config: InferenceConfig | None = None


def render_build(model: ModelRecord, build: BuildRecord, deployments: Sequence[DeploymentView]) -> dict[str, Any]:
    """One build, with whether it is the model's default and which of `deployments` (the model's) run it."""
    inference_config = build.config["inference_config"]
    rendered: dict[str, Any] = {
        "model_id": build.model_id,
        "build_number": build.build_number,
        "state": build.state,
        "create_time": build.create_time_ms,
        "comment": build.comment,
        "task_type": next(iter(inference_config)),
        "inference_config": inference_config,
        "definition_sha256": build.definition_sha256,
        "total_definition_length": build.total_definition_length,
        "total_parts": build.total_parts,
        "stored_parts": build.stored_parts,
        "has_vocabulary": build.has_vocabulary,
        "default": build.build_number == model.build.build_number,
        "deployments": [
            {"deployment_id": deployment.deployment_id, "state": str(deployment.state)}
            for deployment in deployments
            if build.build_number in deployment.builds_in_use
        ],
    }
    if build.failure_reason is not None:
        rendered["failure_reason"] = build.failure_reason
    return rendered
