"""Errors of the task post-processors, under ``inferd.nlp.errors.NlpError``.

The tree::

    NlpError
    +-- InvalidTaskOptions   bad request: the task options (labels, mask token...) cannot be used
    +-- InvalidTaskInput     bad request: the document does not suit the task (no mask token)
    +-- InvalidModelOutput   server error: the model output does not have the shape the task needs

Messages are Elasticsearch's where it has one, so callers can render them unchanged.
"""

from __future__ import annotations

from inferd.nlp.errors import NlpError


class InvalidTaskOptions(NlpError):
    """The task configuration cannot be applied (Elasticsearch answers 400)."""


class InvalidTaskInput(NlpError):
    """A document the task cannot process as given (Elasticsearch answers 400)."""


class InvalidModelOutput(NlpError):
    """The model returned something the task cannot read (Elasticsearch answers 500)."""
