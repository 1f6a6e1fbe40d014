"""The model registry: creating, reading, deleting models, their builds, vocabularies and aliases.

The store only guarantees atomicity, so the registry serialises what must not interleave: writes to
one model's parts and vocabulary (a striped per-model lock), and creating or deleting names, since
model ids, aliases and tags share one name space (one lock).
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path

from inferd.clock import Clock
from inferd.control.alias_moves import Assignments, check_alias_move
from inferd.control.builds import (
    ES_BUILD,
    check_comment,
    check_deletable,
    check_ready,
    check_writable,
    find_build,
    new_build_config,
    refuse_vocabulary,
)
from inferd.control.definition_files import definition_file
from inferd.control.definitions import DefinitionAssembler, checked_part
from inferd.control.ids import alias_problems, id_problems
from inferd.control.inference_config import (
    GENERATED_AT_CREATION,
    MEMORY_METADATA,
    TREE_TASKS,
    InferenceConfig,
    TrainedModelConfigBody,
)
from inferd.control.matching import expand_ids, is_wildcard
from inferd.control.upload_limits import UploadLimits
from inferd.errors import (
    BadRequest,
    IllegalArgument,
    NotFound,
    ResourceAlreadyExists,
    ResourceNotFound,
    StatusConflict,
    ValidationFailed,
)
from inferd.store import BuildRecord, ModelExists, ModelRecord, ModelStore, VocabularyRecord

LOCK_STRIPES = 64


@dataclass(frozen=True)
class Deployable:
    """What a deployment needs of a model: its build, vocabulary and the definition as a file."""

    model: ModelRecord
    """The model, its `build` being the one to deploy."""
    vocabulary: VocabularyRecord
    definition_path: Path

    @property
    def build(self) -> BuildRecord:
        return self.model.build


# What a stored config keeps of the PUT body (the rest is refused, derived, or rendered on GET).
STORED_FIELDS = {
    "model_type", "input", "description", "tags", "metadata", "model_size_bytes",
    "platform_architecture", "prefix_strings", "default_field_map",
}


def missing_model(model_id: str) -> ResourceNotFound:
    return ResourceNotFound(f"Could not find trained model [{model_id}]")


def check_vocabulary(vocabulary: VocabularyRecord, limits: UploadLimits) -> None:
    """Elasticsearch's checks of a vocabulary request, then the server's bounds."""
    if vocabulary.vocabulary is None:
        raise IllegalArgument("[vocabulary] must not be null.")
    if not vocabulary.vocabulary:
        raise ValidationFailed(["[vocabulary] must not be empty"])
    limits.check_vocabulary(vocabulary)


class ModelRegistry:
    def __init__(self, store: ModelStore, clock: Clock, data_dir: Path, limits: UploadLimits | None = None) -> None:
        self._store = store
        self._definitions_dir = data_dir / "definitions"
        scratch_dir = data_dir / "tmp"
        self._clock = clock
        self._limits = limits or UploadLimits()
        self._definitions = DefinitionAssembler(
            store, scratch_dir, self._limits.check_timeout_s, self._limits.check_memory_bytes
        )
        self._locks = [threading.Lock() for _ in range(LOCK_STRIPES)]
        # Model ids, aliases and tags share one name space: creating or deleting any of them is serialised.
        self._names = threading.Lock()

    def _lock(self, key: str) -> threading.Lock:
        """A lock per model id, from a fixed set: ids chosen by clients cannot grow it."""
        return self._locks[zlib.crc32(key.encode()) % LOCK_STRIPES]

    # --- models ----------------------------------------------------------------------------------

    def put_model(self, model_id: str, body: TrainedModelConfigBody) -> ModelRecord:
        config = self._stored_config(model_id, body)
        with self._names:
            if self._store.get_model(model_id) is not None:
                raise ResourceAlreadyExists(f"Trained machine learning model [{model_id}] already exists")
            if self._store.get_alias(model_id) is not None:
                raise BadRequest(
                    f"requested model_id [{model_id}] is the same as an existing model_alias. "
                    "Model model_aliases and ids must be unique"
                )
            self._check_tags(model_id, body.tags)
            try:
                self._store.create_model(model_id, config, self._clock.now_ms())
            except ModelExists:
                raise ResourceAlreadyExists(f"Trained machine learning model [{model_id}] already exists") from None
        return self.get_model(model_id)

    @staticmethod
    def _stored_config(model_id: str, body: TrainedModelConfigBody) -> dict[str, object]:
        """Check the config as Elasticsearch does, in its order, and return it with defaults filled in."""
        if body.model_id is not None and body.model_id != model_id:
            raise IllegalArgument(
                f"Inconsistent model_id; '{body.model_id}' specified in the body differs from '{model_id}' "
                "specified as a URL argument"
            )
        problems = []
        if body.model_type is None and body.definition is None and body.compressed_definition is None:
            problems.append("[model_type] must be set if [definition] is not defined.")
        if body.inference_config is None:
            problems.append("[inference_config] must not be null.")
        problems += id_problems("model_id", model_id)
        bad_tags = [tag for tag in body.tags if id_problems("tag", tag)]
        if bad_tags:
            problems.append(
                f"Invalid tags [{', '.join(bad_tags)}]; must only can contain lowercase alphanumeric (a-z and 0-9), "
                "hyphens or underscores, must start and end with alphanumeric, and must be less than 64 characters."
            )
        if model_id in body.tags:
            problems.append("none of the tags must equal the model_id")
        if not body.input.field_names:
            problems.append("[input.field_names] must not be empty")
        problems += [
            f"illegal to set [{name}] at inference model creation"
            for name in GENERATED_AT_CREATION
            if getattr(body, name) is not None
        ]
        if body.metadata and "model_aliases" in body.metadata:
            problems.append("illegal to set [metadata.model_aliases] at inference model creation")
        for name in MEMORY_METADATA:
            value = (body.metadata or {}).get(name, 0)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                problems.append(f"[metadata.{name}] must be a non-negative integer")
        if problems:
            raise ValidationFailed(problems)
        assert body.inference_config is not None
        task = body.inference_config.task_type
        refuse_vocabulary(body.inference_config)
        if body.definition is not None or body.compressed_definition is not None:
            raise IllegalArgument(
                "inferd serves pytorch models, whose definition is uploaded in parts with PUT "
                f"_ml/trained_models/{model_id}/definition/{{part}}; [definition] and [compressed_definition] "
                "belong to tree models"
            )
        if task in TREE_TASKS or body.model_type != "pytorch":
            raise IllegalArgument(
                f"inferd serves [pytorch] NLP models; model_type [{body.model_type}] with inference_config "
                f"[{task}] is not supported"
            )
        config = body.model_dump(exclude_none=True, include=STORED_FIELDS)
        config["inference_config"] = body.inference_config.render()
        return config

    def _check_tags(self, model_id: str, tags: list[str]) -> None:
        models = self._store.list_models()
        clashing = sorted(set(tags) & {model.model_id for model in models})
        if clashing:
            raise BadRequest(f"The provided tags [{', '.join(clashing)}] must not match existing model_ids.")
        if any(model_id in model.build.config.get("tags", ()) for model in models):
            raise BadRequest(f"The provided model_id {model_id} must not match existing tags.")

    def get_model(self, model_id: str) -> ModelRecord:
        model = self._store.get_model(model_id)
        if model is None:
            raise missing_model(model_id)
        return model

    def has_model(self, model_id: str) -> bool:
        """Whether a model has this id (deployment and endpoint ids may not take one that names another model)."""
        return self._store.get_model(model_id) is not None

    def find_models(self, expression: str | None, *, allow_no_match: bool) -> list[ModelRecord]:
        """The models an id expression names (ids, aliases, wildcards, `_all`), sorted by id."""
        models = {model.model_id: model for model in self._store.list_models()}
        expansion = expand_ids(expression, models, self._store.list_aliases(), allow_no_match=allow_no_match)
        if expansion.unmatched:
            explicit = [token for token in expansion.unmatched if not is_wildcard(token)]
            if explicit:
                raise missing_model(",".join(explicit))
            raise ResourceNotFound(f"No known trained model with model_id [{','.join(expansion.unmatched)}]")
        return [models[model_id] for model_id in expansion.matched]

    def delete_model(self, model_id: str) -> None:
        """Delete the model with its builds and aliases (the API stops its deployments first, with `force`)."""
        with self._names, self._lock(model_id):
            self.get_model(model_id)
            self._store.delete_model(model_id)

    # --- builds ----------------------------------------------------------------------------------

    def create_build(self, model_id: str, inference_config: InferenceConfig | None, comment: str | None,
                     ) -> BuildRecord:
        """The model's next build, empty: the default build's config, with `inference_config` replaced if given."""
        check_comment(comment)
        with self._lock(model_id):
            config = new_build_config(self.get_model(model_id), inference_config)
            number = self._store.create_build(model_id, config, comment, self._clock.now_ms())
        if number is None:
            raise missing_model(model_id)
        return self.get_build(model_id, number)

    def get_build(self, model_id: str, build_number: int) -> BuildRecord:
        return find_build(self.get_model(model_id), build_number)

    def set_default_build(self, model_id: str, build_number: int) -> None:
        """Pin the build Elasticsearch's API uses (as TorchServe's set-default); only a ready one."""
        with self._lock(model_id):
            check_ready(self.get_build(model_id, build_number), "be the default")
            self._store.set_default_build(model_id, build_number)

    def delete_build(self, model_id: str, build_number: int, in_use: Collection[str]) -> None:
        """Delete a build no deployment runs (`in_use`: the ids of those that do); never the model's only one."""
        with self._lock(model_id):
            model = self.get_model(model_id)
            check_deletable(model, find_build(model, build_number), in_use)
            self._store.delete_build(model_id, build_number)

    # --- definition and vocabulary ---------------------------------------------------------------

    def put_definition_part(
        self, model_id: str, part: int, definition: str | None, total_definition_length: int, total_parts: int,
        build_number: int | None = None,
    ) -> None:
        """Add a part to the build (None: build 1, which Elasticsearch's upload fills)."""
        data = checked_part(part, definition, total_definition_length, total_parts, self._limits)
        with self._lock(model_id):
            build = self._writable_build(model_id, build_number)
            self._definitions.add_part(build, part, data, total_definition_length, total_parts)

    def put_vocabulary(self, model_id: str, vocabulary: VocabularyRecord, build_number: int | None = None) -> None:
        """Set the build's vocabulary (None: build 1); once the build is complete, only the same one again."""
        check_vocabulary(vocabulary, self._limits)
        with self._lock(model_id):
            build = self._writable_build(model_id, build_number)
            if build.fully_defined and build.has_vocabulary:
                if self._store.get_vocabulary(model_id, build.build_number) == vocabulary:
                    return
                raise BadRequest(
                    f"the vocabulary of model [{model_id}] cannot change: build [{build.build_number}] is complete "
                    "and builds are immutable"
                )
            self._store.put_vocabulary(model_id, build.build_number, vocabulary)

    def _writable_build(self, model_id: str, build_number: int | None) -> BuildRecord:
        build = self.get_build(model_id, ES_BUILD if build_number is None else build_number)
        check_writable(build)
        return build

    def deployable(self, model_id: str, build_number: int | None = None) -> Deployable:
        """The build (None: the default one), its vocabulary and definition file, or why it cannot be deployed.

        For the default build the errors are those Elasticsearch gives at `_start`; a named build must be ready.
        """
        model = self.get_model(model_id)
        if build_number is None:
            build = model.build
            if build.stored_parts == 0:
                raise ResourceNotFound(f"Could not find trained model definition [{model_id}]")
            if not build.fully_defined:
                raise BadRequest(
                    f"Model definition truncated. Unable to deserialize trained model definition [{model_id}]"
                )
        else:
            build = find_build(model, build_number)
            check_ready(build, "be deployed")
        vocabulary = self._store.get_vocabulary(model_id, build.build_number)
        if vocabulary is None:
            raise ResourceNotFound(f"Could not find vocabulary for model [{model_id}]")
        with self._lock(model_id):
            path = definition_file(self._store, build, self._definitions_dir)
        return Deployable(replace(model, build=build), vocabulary, path)

    # --- aliases ---------------------------------------------------------------------------------

    def put_alias(self, model_id: str, alias: str, *, reassign: bool, assignments: Assignments) -> None:
        """Point `alias` at the model; moving it from another model follows Elasticsearch's rules, judged by the
        `assignments` (the deployments) as they were when the request came."""
        problems = alias_problems(model_id, alias)
        if problems:
            raise ValidationFailed(problems)
        with self._names:
            current = self._store.get_alias(alias)
            if current is not None and current != model_id and not reassign:
                raise BadRequest(
                    f"cannot assign model_alias [{alias}] to model_id [{model_id}] as model_alias already "
                    f"refers to [{current}]. Set parameter [reassign] to [true] if model_alias should be "
                    "reassigned."
                )
            if self._store.get_model(alias) is not None:
                raise BadRequest("model_alias cannot be the same as an existing trained model_id")
            model = self._store.get_model(model_id)
            if model is None:
                raise ResourceNotFound(f"No known trained model with model_id [{model_id}]")
            previous = self._store.get_model(current) if current not in (None, model_id) else None
            if previous is not None:
                check_alias_move(alias, model, previous, assignments)
            self._store.set_alias(alias, model_id)

    def delete_alias(self, model_id: str, alias: str) -> None:
        with self._names:
            current = self._store.get_alias(alias)
            if current is None:
                raise NotFound(f"model_alias [{alias}] could not be found")
            if current != model_id:
                raise StatusConflict(f"model_alias [{alias}] does not refer to provided model_id [{model_id}]")
            self._store.delete_alias(alias)
