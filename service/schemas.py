"""Request and response models of the REST API (they make the OpenAPI schema at /docs)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

# Any character outside ECMA-262's white space (\s in JSON Schema patterns).
_NON_BLANK = re.compile("[^\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]")

EXAMPLE_TEXT = (
    "Russian missiles struck Kharkiv overnight, officials said.\n"
    "Kyiv said it was ready to discuss a ceasefire if Russian forces withdrew."
)


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(None, max_length=256, description="your id; echoed back")
    text: str = Field(
        json_schema_extra={"pattern": r"\S"}, description="article text; sentences are found by the service"
    )

    @field_validator("text")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        # Blank as the published schema's pattern `\S` means it (JSON Schema regexes are
        # ECMA-262, whose white space is narrower than Python's str.isspace).
        if not _NON_BLANK.search(v):
            raise ValueError("text is empty or only white space")
        return v


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    thresholds: dict[str, dict[str, Annotated[float, Field(ge=0, le=1, strict=True)]]] = Field(
        default_factory=dict,
        description="per-label decision thresholds for multi-label heads, e.g. "
        '{"frames": {"security_threat": 0.3}}',
    )
    include_sentences: StrictBool = Field(True, description="return every sentence, not only the summary")


def _text_schema(schema: dict[str, Any]) -> None:
    # Present means a non-blank string: say so in the OpenAPI schema (no "null").
    schema.clear()
    schema.update({"type": "string", "pattern": "\\S", "description": "one document"})


def _documents_schema(schema: dict[str, Any]) -> None:
    items = next(s for s in schema.pop("anyOf") if s.get("type") == "array")
    schema.update(items)


class ClassifyRequest(BaseModel):
    """Either `text` (one document) or `documents` (several), not both."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [{"required": ["text"]}, {"required": ["documents"]}],
            "examples": [
                {"text": EXAMPLE_TEXT},
                {
                    "documents": [{"id": "a1", "text": EXAMPLE_TEXT}],
                    "options": {
                        "thresholds": {"frames": {"security_threat": 0.4}},
                        "include_sentences": True,
                    },
                },
            ],
        },
    )

    text: str | None = Field(None, description="one document", json_schema_extra=_text_schema)
    documents: list[Document] | None = Field(
        None, min_length=1, description="several documents", json_schema_extra=_documents_schema
    )
    options: Options = Field(default_factory=Options)

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in ("text", "documents"):
                if key in data and data[key] is None:
                    raise ValueError(f"{key!r} must not be null; leave it out instead")
        return data

    @model_validator(mode="after")
    def _one_of(self) -> ClassifyRequest:
        if (self.text is None) == (self.documents is None):
            raise ValueError("give either 'text' or 'documents', not both and not neither")
        if self.text is not None and not _NON_BLANK.search(self.text):
            raise ValueError("text is empty or only white space")
        return self

    def docs(self) -> list[Document]:
        return self.documents if self.documents is not None else [Document(text=self.text or "")]


class Sentence(BaseModel):
    index: int
    start: int = Field(description="character offset: text[start:end] is the sentence")
    end: int
    text: str
    labels: dict[str, Any] = Field(
        description="per head: a list of labels (multi-label) or one label; page furniture: [] and null"
    )
    scores: dict[str, dict[str, float]] = Field(
        description="per head, per label probability; empty for page furniture"
    )
    truncated: bool = Field(description="longer than the model's max length; scored in windows")
    content: bool = Field(True, description="article content; false for page furniture, which is not scored")
    furniture: str | None = Field(
        None, description="the kind of page furniture (navigation, time, byline, ...), null for content"
    )


class DocumentResult(BaseModel):
    id: str | None = None
    summary: dict[str, Any]
    sentences: list[Sentence] | None = None


class ModelRef(BaseModel):
    name: str
    version: str = Field(description="content hash of the model directory")


class ClassifyResponse(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    model: ModelRef
    documents: list[DocumentResult]


class HeadInfo(BaseModel):
    name: str
    type: str
    labels: list[str]
    thresholds: dict[str, float]


class ModelInfo(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    name: str
    version: str
    schema_version: str
    precision: str
    base_model: str
    max_length: int
    heads: list[HeadInfo]
    metrics: dict[str, Any] = Field(description="macro-F1 per head for each evaluation set")


class ErrorResponse(BaseModel):
    error: str
    detail: Any = None
    request_id: str | None = None
