"""One real MiniLM for the whole language test package: loading it is the slow part (~5 s on 2 cores)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import torch

from nasvl.language import LanguageEncoder


@pytest.fixture(scope="session")
def minilm() -> LanguageEncoder:
    return LanguageEncoder("minilm").load()


class ForwardCounter:
    """Counts calls into the real BERT forward and the sentences they carried."""

    def __init__(self) -> None:
        self.calls = 0
        self.texts = 0


@pytest.fixture
def count_forward() -> object:
    """`with count_forward(encoder) as count:` counts real BERT calls (count.calls) and texts (count.texts)."""
    return _count_forward


@contextmanager
def _count_forward(encoder: LanguageEncoder) -> Iterator[ForwardCounter]:
    model = encoder.model
    original = model.forward
    counter = ForwardCounter()

    def wrapped(*args: object, **kwargs: object) -> object:
        input_ids = kwargs["input_ids"] if "input_ids" in kwargs else args[0]
        assert isinstance(input_ids, torch.Tensor)
        counter.calls += 1
        counter.texts += int(input_ids.shape[0])
        return original(*args, **kwargs)

    model.forward = wrapped  # instance attribute shadows the class method; nn.Module.__call__ uses it
    try:
        yield counter
    finally:
        del model.forward
