"""The request bodies of the OpenAI-compatible and TEI-compatible routes: strict models (their JSON schemas are the
OpenAPI description), read with those APIs' own error shapes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from inferd.api.dialects import OpenAIError, TeiError
from inferd.control.request_body import StrictBody

MAX_INPUTS = 2048
"""OpenAI's limit of inputs per embeddings request."""
Text = Annotated[StrictStr, Field(min_length=1)]
"""OpenAI refuses an empty input."""


class EmbeddingsBody(StrictBody):
    """OpenAI's `POST /v1/embeddings`: text (a string or a list of strings), the model (a deployment id or model
    alias), `float` or `base64` vectors."""

    model_config = ConfigDict(extra="ignore")  # OpenAI ignores what it does not know (`user` among others)
    input: Text | Annotated[list[Text], Field(min_length=1, max_length=MAX_INPUTS)]
    model: StrictStr
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: Annotated[StrictInt | None, Field(ge=1)] = None
    user: StrictStr | None = None


def _is_token_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(item, int) or (isinstance(item, list) and all(isinstance(token, int) for token in item))
        for item in value)


def parse_embeddings(body: Any) -> EmbeddingsBody:
    if not isinstance(body, dict):
        raise OpenAIError("The request body must be a JSON object.")
    if _is_token_array(body.get("input")):
        raise OpenAIError("inferd takes text input only: token arrays (lists of integers) are not supported, since "
                          "each model tokenizes its own text. Send the text instead.", param="input")
    if body.get("input") == "" or body.get("input") == [] or (
            isinstance(body.get("input"), list) and "" in body["input"]):
        raise OpenAIError("'$.input' is invalid. Please check the API reference: "
                          "https://platform.openai.com/docs/api-reference.", param="input")
    request: EmbeddingsBody = _validated(EmbeddingsBody, body, lambda message, param: OpenAIError(message,
                                                                                                 param=param))
    return request


class EmbedBody(StrictBody):
    """TEI's `POST /embed` (and `/embed_sparse`): one text or a batch."""

    inputs: StrictStr | Annotated[list[StrictStr], Field(min_length=1)]
    normalize: StrictBool = True
    truncate: StrictBool | None = None
    truncation_direction: Literal["Left", "Right", "left", "right"] = "Right"
    prompt_name: StrictStr | None = None


class RerankBody(StrictBody):
    """TEI's `POST /rerank`: texts scored against a query, best first."""

    query: StrictStr
    texts: Annotated[list[StrictStr], Field(min_length=1)]
    raw_scores: StrictBool = False
    return_text: StrictBool = False
    truncate: StrictBool | None = None
    truncation_direction: Literal["Left", "Right", "left", "right"] = "Right"
    top_n: Annotated[StrictInt | None, Field(ge=1)] = None


def parse_tei(model: type[BaseModel], body: Any) -> Any:
    if not isinstance(body, dict):
        raise TeiError("Failed to deserialize the JSON body into the target type: expected a JSON object", status=422,
                       error_type="Validation")
    return _validated(model, body, lambda message, _: TeiError(
        f"Failed to deserialize the JSON body into the target type: {message}", status=422, error_type="Validation"))


def _validated(model: type[BaseModel], body: dict[str, Any], refusal: Any) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        param = ".".join(str(part) for part in first["loc"] if not isinstance(part, int)) or None
        raise refusal(f"{param}: {first['msg']}" if param else first["msg"], param) from None
