"""A model's builds: the config of a new build, which build a request names, and when a build may change.

A build is immutable once `ready` and dead once `failed`; the checks here are pure, and the registry applies
them under the model's lock.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from inferd.control.inference_config import InferenceConfig
from inferd.errors import BadRequest, IllegalArgument, ResourceNotFound, StatusConflict, ValidationFailed
from inferd.store import BuildRecord, ModelRecord
from inferd.store.records import FAILED, READY

MAX_COMMENT_CHARS = 1024
"""The store's `builds.comment` column."""
MAX_BUILD_NUMBER = 2**31 - 1
"""The store keeps build numbers as 32-bit integers."""

ES_BUILD = 1
"""The build Elasticsearch's upload (`PUT _ml/trained_models/{id}`, its parts and vocabulary) creates and fills."""


def missing_build(model_id: str, build_number: int) -> ResourceNotFound:
    return ResourceNotFound(f"Could not find build [{build_number}] of trained model [{model_id}]")


def find_build(model: ModelRecord, build_number: int) -> BuildRecord:
    found = next((build for build in model.builds if build.build_number == build_number), None)
    if found is None:
        raise missing_build(model.model_id, build_number)
    return found


def refuse_vocabulary(inference_config: InferenceConfig) -> None:
    """The vocabulary is uploaded on its own, never set in the config (Elasticsearch's check on PUT)."""
    if getattr(getattr(inference_config, inference_config.task_type), "vocabulary", None) is not None:
        raise IllegalArgument("illegal setting [vocabulary] on inference model creation")


def check_comment(comment: str | None) -> None:
    if comment is not None and len(comment) > MAX_COMMENT_CHARS:
        raise ValidationFailed([f"[comment] must be at most [{MAX_COMMENT_CHARS}] characters; found [{len(comment)}]"])


def new_build_config(model: ModelRecord, inference_config: InferenceConfig | None) -> dict[str, Any]:
    """The default build's config, with `inference_config` replaced when given: same task, else refused."""
    config = dict(model.build.config)
    if inference_config is None:
        return config
    refuse_vocabulary(inference_config)
    current = next(iter(config["inference_config"]))
    if inference_config.task_type != current:
        raise IllegalArgument(
            f"a new build of model [{model.model_id}] must keep its task type [{current}]; the given "
            f"inference_config has [{inference_config.task_type}]"
        )
    config["inference_config"] = inference_config.render()
    return config


def check_writable(build: BuildRecord) -> None:
    """A failed build takes no more parts or vocabulary: its definition was refused, so it can never be ready."""
    if build.state == FAILED:
        raise BadRequest(
            f"build [{build.build_number}] of model [{build.model_id}] failed ({build.failure_reason}) and takes no "
            f"more definition parts or vocabulary; create a new build with PUT /_inferd/models/{build.model_id}/builds"
        )


def check_ready(build: BuildRecord, purpose: str) -> None:
    if build.state != READY:
        raise BadRequest(
            f"build [{build.build_number}] of model [{build.model_id}] is [{build.state}]; only a [{READY}] build "
            f"can {purpose}"
        )


def check_deletable(model: ModelRecord, build: BuildRecord, in_use: Collection[str]) -> None:
    if in_use:
        raise StatusConflict(
            f"Cannot delete build [{build.build_number}] of model [{model.model_id}] as deployments "
            f"[{', '.join(sorted(in_use))}] use it"
        )
    if len(model.builds) == 1:
        raise BadRequest(
            f"Cannot delete build [{build.build_number}] of model [{model.model_id}]: it is the model's only build; "
            "delete the model instead"
        )
