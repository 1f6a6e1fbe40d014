"""The NLP `inference_config` of a pytorch model: every task and tokenization container, defaults filled in.

Field names, defaults and one-key containers follow Elasticsearch's (reference §1.1); unknown fields are
refused, as Elasticsearch's strict parser does on PUT. These models are also the OpenAPI description of the
config (`control/request_body.py`): what they leave to a check of their own or of `ModelRegistry._stored_config`,
they say with `Checked` or `describe_rules`.
"""

from __future__ import annotations

from itertools import groupby
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from inferd.control.request_body import MODEL_ID, Checked, OneKey, Schema, StrictBody

NLP_TASKS = (
    "ner",
    "text_classification",
    "text_embedding",
    "fill_mask",
    "zero_shot_classification",
    "question_answering",
    "text_similarity",
    "text_expansion",
    "pass_through",
)
TREE_TASKS = ("regression", "classification", "learning_to_rank")
MASK_TOKENS = {
    "bert": "[MASK]",
    "bert_ja": "[MASK]",
    "deberta_v2": "[MASK]",
    "mpnet": "<mask>",
    "roberta": "<mask>",
    "xlm_roberta": "<mask>",
}
ZERO_SHOT_LABELS = ("entailment", "neutral", "contradiction")
MEMORY_METADATA = ("per_deployment_memory_bytes", "per_allocation_memory_bytes")
"""eland's profiled memory figures in a config's `metadata`, used by the memory estimate."""
DEFAULT_MAX_SEQUENCE_LENGTH = 512


def present(container: BaseModel) -> list[str]:
    """The members of a one-key container that were given a value (`{"ner": null}` names no task)."""
    return [name for name in container.model_fields_set if getattr(container, name) is not None]


def describe_span(schema: Schema) -> None:
    """`span` only with `truncate: none` and no longer than `max_sequence_length`: that comparison spans two fields
    (or the stored config), so the description says the part of it a schema can: a span up to the default length,
    with a length (where the object has one) at least that."""
    properties = schema.pop("properties")
    unspanned = {**schema, "properties": {**properties, "span": {"type": "integer", "enum": [-1]}}}
    length = {"max_sequence_length": {"type": "integer", "minimum": DEFAULT_MAX_SEQUENCE_LENGTH}}
    spanned = {**schema, "required": ["truncate", "span"], "properties": {
        **properties, **(length if "max_sequence_length" in properties else {}),
        "truncate": {"type": "string", "enum": ["none"]},
        "span": {"type": "integer", "minimum": 0, "maximum": DEFAULT_MAX_SEQUENCE_LENGTH}}}
    schema.clear()
    schema["anyOf"] = [unspanned, spanned]


class TokenizationOptions(StrictBody):
    do_lower_case: bool = False
    with_special_tokens: bool = True
    max_sequence_length: int = Field(DEFAULT_MAX_SEQUENCE_LENGTH, gt=0)
    truncate: Literal["first", "second", "none"] = "first"
    span: int = -1

    @classmethod
    def describe_rules(cls, schema: Schema) -> None:
        describe_span(schema)

    @model_validator(mode="after")
    def _check_span(self) -> TokenizationOptions:
        if self.span != -1:
            if self.span < 0:
                raise ValueError(f"[span] must be greater than or equal to 0 or -1; provided [{self.span}]")
            if self.truncate != "none":
                raise ValueError(f"[span] must not be provided when [truncate] is [{self.truncate}]")
            if self.span > self.max_sequence_length:
                raise ValueError(
                    f"[span] provided [{self.span}] must not be greater than "
                    f"[max_sequence_length] provided [{self.max_sequence_length}]"
                )
        return self


class RobertaTokenizationOptions(TokenizationOptions):
    add_prefix_space: bool = False


class Tokenization(OneKey):
    """A one-key container naming the tokenizer; absent means BERT with defaults."""

    described_as_forms = False  # in every task's config: forms of forms would flood the coverage phase

    bert: TokenizationOptions | None = None
    bert_ja: TokenizationOptions | None = None
    mpnet: TokenizationOptions | None = None
    roberta: RobertaTokenizationOptions | None = None
    xlm_roberta: TokenizationOptions | None = None
    deberta_v2: TokenizationOptions | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Tokenization:
        if len(present(self)) != 1:
            raise ValueError("[tokenization] must contain exactly one tokenizer")
        return self

    @property
    def kind(self) -> str:
        return present(self)[0]


def _default_tokenization() -> Tokenization:
    return Tokenization(bert=TokenizationOptions())


class NlpTaskConfig(StrictBody):
    tokenization: Tokenization = Field(default_factory=_default_tokenization)
    results_field: str = "predicted_value"
    vocabulary: SkipJsonSchema[dict[str, Any] | None] = None
    """Uploaded on its own, never set (`builds.refuse_vocabulary`)."""


class NerConfig(NlpTaskConfig):
    classification_labels: list[str] | None = None


class TextClassificationConfig(NlpTaskConfig):
    classification_labels: list[str] | None = None
    num_top_classes: int = 0


class TextEmbeddingConfig(NlpTaskConfig):
    embedding_size: int | None = Field(None, gt=0)


class FillMaskConfig(NlpTaskConfig):
    mask_token: str | None = None
    num_top_classes: int = 0

    @classmethod
    def describe_rules(cls, schema: Schema) -> None:
        """`mask_token`, when given, is the tokenizer's own; with no tokenization the tokenizer is BERT. One whole
        form per mask token (schemathesis' coverage phase explores whole forms)."""
        properties = schema.pop("properties")
        forms = []
        for token, kinds in groupby(sorted(MASK_TOKENS, key=MASK_TOKENS.__getitem__), key=MASK_TOKENS.__getitem__):
            tokenizers = list(kinds)
            form: Schema = {**schema, "properties": {
                **properties, "mask_token": {"anyOf": [{"type": "string", "enum": [token]}, {"type": "null"}]},
                "tokenization": {**properties["tokenization"], "propertyNames": {"enum": tokenizers}}}}
            if "bert" not in tokenizers:
                form["required"] = ["tokenization"]
            forms.append(form)
        schema.clear()
        schema["anyOf"] = forms

    @model_validator(mode="after")
    def _fill_mask_token(self) -> FillMaskConfig:
        expected = MASK_TOKENS[self.tokenization.kind]
        if self.mask_token is not None and self.mask_token != expected:
            raise ValueError(f"Mask token requested was [{self.mask_token}] but must be [{expected}] for this model")
        self.mask_token = expected
        return self


ZERO_SHOT_LABEL: Schema = {"type": "string", "pattern": "^(" + "|".join(
    "".join(f"[{c.lower()}{c.upper()}]" for c in label) for label in ZERO_SHOT_LABELS) + ")$"}
"""One of the three labels, in any case."""


class ZeroShotClassificationConfig(NlpTaskConfig):
    classification_labels: Annotated[list[str], Checked(minItems=3, maxItems=3, items=ZERO_SHOT_LABEL)]
    hypothesis_template: str = "This example is {}."
    multi_label: bool = False
    labels: Annotated[list[str] | None, Checked(minItems=1)] = None

    @model_validator(mode="after")
    def _check_labels(self) -> ZeroShotClassificationConfig:
        required = ", ".join(sorted(ZERO_SHOT_LABELS))
        given = [label.lower() for label in self.classification_labels]
        if len(given) != len(ZERO_SHOT_LABELS):
            raise ValueError(f"[classification_labels] must contain exactly the three values [{required}]")
        invalid = [label for label in given if label not in ZERO_SHOT_LABELS]
        if invalid:
            raise ValueError(
                f"[classification_labels] must contain exactly the three values [{required}]. "
                f"Invalid labels [{', '.join(invalid)}]"
            )
        if self.labels is not None and not self.labels:
            raise ValueError("[labels] must not be empty")
        return self


class QuestionAnsweringConfig(NlpTaskConfig):
    num_top_classes: int = 0
    max_answer_length: int = Field(15, gt=0)
    question: str | None = None


class TextSimilarityConfig(NlpTaskConfig):
    text: str | None = None
    span_score_combination_function: Literal["max", "mean"] = "max"


class InferenceConfig(OneKey):
    """A one-key container naming the task."""

    ner: NerConfig | None = None
    text_classification: TextClassificationConfig | None = None
    text_embedding: TextEmbeddingConfig | None = None
    fill_mask: FillMaskConfig | None = None
    zero_shot_classification: ZeroShotClassificationConfig | None = None
    question_answering: QuestionAnsweringConfig | None = None
    text_similarity: TextSimilarityConfig | None = None
    text_expansion: NlpTaskConfig | None = None
    pass_through: NlpTaskConfig | None = None
    # Tree-model tasks are recognised only to be refused with a clear message.
    regression: SkipJsonSchema[dict[str, Any] | None] = None
    classification: SkipJsonSchema[dict[str, Any] | None] = None
    learning_to_rank: SkipJsonSchema[dict[str, Any] | None] = None

    @model_validator(mode="after")
    def _one_task(self) -> InferenceConfig:
        if len(present(self)) != 1:
            raise ValueError("[inference_config] must contain exactly one task")
        return self

    @property
    def task_type(self) -> str:
        return present(self)[0]

    def render(self) -> dict[str, Any]:
        """The stored and answered form: the task container with every default filled in."""
        task = getattr(self, self.task_type)
        body = task if isinstance(task, dict) else task.model_dump(exclude_none=True)
        return {self.task_type: body}


class InputConfig(StrictBody):
    field_names: Annotated[list[str], Checked(minItems=1)]


class PrefixStrings(StrictBody):
    ingest: str | None = None
    search: str | None = None


# Fields Elasticsearch generates itself; setting them on PUT is refused by name.
GENERATED_AT_CREATION = ("version", "created_by", "create_time", "license_level", "location")


MEMORY: Schema = {"properties": {name: {"type": "integer", "minimum": 0} for name in MEMORY_METADATA},
                  "propertyNames": {"not": {"enum": ["model_aliases"]}}}
"""What `_stored_config` takes of `metadata`: the memory figures as counts of bytes, and no `model_aliases`."""


class TrainedModelConfigBody(StrictBody):
    """A pytorch model's config; its definition is uploaded in parts, its vocabulary on its own."""

    # `ModelRegistry._stored_config` checks it in Elasticsearch's order; two of its rules span the path (a
    # `model_id` here must equal the path's, and no tag may equal it, nor an existing model's id).

    model_id: Annotated[str | None, Checked(**MODEL_ID, description="the path's model_id")] = None
    model_type: Annotated[Literal["pytorch", "tree_ensemble", "lang_ident"] | None,
                          Checked(required=True, enum=["pytorch"])] = None
    inference_config: Annotated[InferenceConfig | None, Checked(required=True)] = None
    input: InputConfig = Field(default_factory=lambda: InputConfig(field_names=["input"]))
    description: str | None = None
    tags: Annotated[list[str], Checked(items={**MODEL_ID, "description": "not the model's id, nor an existing "
                                                                         "model's"})] = Field(default_factory=list)
    metadata: Annotated[dict[str, Any] | None, Checked(**MEMORY)] = None
    model_size_bytes: int | None = Field(None, ge=0)
    platform_architecture: str | None = None
    prefix_strings: PrefixStrings | None = None
    default_field_map: dict[str, str] | None = None
    # Elasticsearch sets these itself (refused by name), or they belong to tree models (refused): not described.
    version: SkipJsonSchema[Any] = None
    created_by: SkipJsonSchema[Any] = None
    create_time: SkipJsonSchema[Any] = None
    license_level: SkipJsonSchema[Any] = None
    location: SkipJsonSchema[Any] = None
    definition: SkipJsonSchema[Any] = None
    compressed_definition: SkipJsonSchema[Any] = None
