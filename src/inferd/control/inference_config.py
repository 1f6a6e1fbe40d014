"""The NLP `inference_config` of a pytorch model: every task and tokenization container, defaults filled in.

Field names, defaults and one-key containers follow Elasticsearch's (reference §1.1); unknown fields are
refused, as Elasticsearch's strict parser does on PUT.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

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


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def present(container: BaseModel) -> list[str]:
    """The members of a one-key container that were given a value (`{"ner": null}` names no task)."""
    return [name for name in container.model_fields_set if getattr(container, name) is not None]


class TokenizationOptions(Strict):
    do_lower_case: bool = False
    with_special_tokens: bool = True
    max_sequence_length: int = Field(512, gt=0)
    truncate: Literal["first", "second", "none"] = "first"
    span: int = -1

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


class Tokenization(Strict):
    """A one-key container naming the tokenizer; absent means BERT with defaults."""

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


class NlpTaskConfig(Strict):
    tokenization: Tokenization = Field(default_factory=_default_tokenization)
    results_field: str = "predicted_value"
    vocabulary: dict[str, Any] | None = None


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

    @model_validator(mode="after")
    def _fill_mask_token(self) -> FillMaskConfig:
        expected = MASK_TOKENS[self.tokenization.kind]
        if self.mask_token is not None and self.mask_token != expected:
            raise ValueError(f"Mask token requested was [{self.mask_token}] but must be [{expected}] for this model")
        self.mask_token = expected
        return self


class ZeroShotClassificationConfig(NlpTaskConfig):
    classification_labels: list[str]
    hypothesis_template: str = "This example is {}."
    multi_label: bool = False
    labels: list[str] | None = None

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


class InferenceConfig(Strict):
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
    regression: dict[str, Any] | None = None
    classification: dict[str, Any] | None = None
    learning_to_rank: dict[str, Any] | None = None

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


class InputConfig(Strict):
    field_names: list[str]


class PrefixStrings(Strict):
    ingest: str | None = None
    search: str | None = None


# Fields Elasticsearch generates itself; setting them on PUT is refused by name.
GENERATED_AT_CREATION = ("version", "created_by", "create_time", "license_level", "location")


class TrainedModelConfigBody(Strict):
    """The body of `PUT /_ml/trained_models/{model_id}`."""

    model_id: str | None = None
    model_type: Literal["pytorch", "tree_ensemble", "lang_ident"] | None = None
    inference_config: InferenceConfig | None = None
    input: InputConfig = Field(default_factory=lambda: InputConfig(field_names=["input"]))
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] | None = None
    model_size_bytes: int | None = Field(None, ge=0)
    platform_architecture: str | None = None
    prefix_strings: PrefixStrings | None = None
    default_field_map: dict[str, str] | None = None
    version: Any = None
    created_by: Any = None
    create_time: Any = None
    license_level: Any = None
    location: Any = None
    definition: Any = None
    compressed_definition: Any = None
