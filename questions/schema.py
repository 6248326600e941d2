"""Pydantic schema of a question card (one YAML file per topic under questions/)."""
from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# The fixed topics and demos live in questions/vocab.py (no imports); re-exported here.
from questions.vocab import DEMOS as DEMOS
from questions.vocab import TOPICS as TOPICS

# Sections (tabs) of each demo page: a card links to one with params {section: ...}.
# Other params a card may preset, per demo (the page reads them from the URL).
DEMO_SECTIONS: dict[str, tuple[str, ...]] = {
    "positional_encoding": ("heatmap", "curves", "wavelengths", "similarity", "rotation", "scale"),
    "attention": ("heatmaps", "six_steps", "scaling", "wq_wk", "multihead", "live_scaling"),
    "masks": ("padding", "causal", "combined", "key_vs_query", "nan_guard", "bert", "leak"),
    "norms": ("axes", "stats", "padding", "batch_noise", "train_eval"),
    "residuals": ("depth", "rnn_vs_attention", "pre_post_ln"),
    "ffn_cost": ("ffn", "flops", "memory"),
    "training_details": ("warmup", "dropout", "label_smoothing"),
    "tokenization": ("bpe", "wordpiece", "unseen"),
    "shapes": ("trace", "quiz"),
    "train_lab": ("train",),
    "generation": ("greedy", "beam", "teacher_forcing"),
    "kv_cache": ("steps", "timing", "memory", "bound"),
    "rope": ("rotation", "distance", "shift", "extrapolation", "interpolation"),
    "gqa": ("compare", "heads"),
    "sampling": ("distribution", "samples"),
    "bug_hunt": ("hunt",),
    "drills": ("list",),
}
DEMO_PARAMS: dict[str, tuple[str, ...]] = {
    "positional_encoding": ("d_model", "length"),
    "attention": ("d_k", "sentence"),
    "masks": (),
    "norms": (),
    "residuals": ("depth",),
    "ffn_cost": ("seq_len",),
    "training_details": ("warmup", "d_model"),
    "tokenization": (),
    "shapes": (),
    "train_lab": ("task",),
    "generation": ("sentence", "beam"),
    "kv_cache": ("preset", "length", "batch"),
    "rope": ("d_head", "length"),
    "gqa": ("n_kv_heads",),
    "sampling": ("prompt", "temperature", "top_k", "top_p"),
    "bug_hunt": (),
    "drills": ("drill",),
}

SOURCES = (
    "000_b89db42e4b77e6d3.txt",
    "001_74e94966f5d9b71e.txt",
    "002_b03c69b24614c308.txt",
    "003_fd01a975ac84a97c.txt",
    "004_c881328b852329e9.txt",
    "supplement",
)

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def check_slug(v: str) -> str:
    """An id: lowercase words joined by hyphens (a field validator of cards, rubrics, lessons)."""
    if not SLUG.match(v):
        raise ValueError(f"id {v!r} is not a lowercase-hyphen slug")
    return v


def validation_reason(err: dict, who: str | None = None) -> str:
    """One pydantic error as a line for a file:line problem: "who: field.path: message"."""
    loc = ".".join(str(p) for p in err.get("loc", ()) if not str(p).startswith("function-"))
    msg = err.get("msg", "invalid")
    if err.get("type") == "missing":
        msg = "missing field"
    elif err.get("type") == "extra_forbidden":
        msg = "unknown field"
    msg = msg.removeprefix("Value error, ")
    return ": ".join(x for x in (who, loc, msg) if x)


def _balanced_dollars(text: str) -> bool:
    """True when `$` delimiters (ignoring escaped \\$) pair up."""
    stripped = text.replace("\\$", "")
    stripped = stripped.replace("$$", "")  # display math delimiters come in pairs too
    return stripped.count("$") % 2 == 0 and text.replace("\\$", "").count("$$") % 2 == 0


class Bilingual(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zh: str
    en: str

    @field_validator("zh", "en")
    @classmethod
    def _not_empty(cls, v: str) -> str:
        if not v or not v.strip():
            raise ValueError("empty text for a language")
        if "TODO" in v:
            raise ValueError("contains TODO")
        if not _balanced_dollars(v):
            raise ValueError("unbalanced $ (LaTeX delimiters)")
        return v

    def get(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


class BilingualList(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zh: list[str] = Field(default_factory=list)
    en: list[str] = Field(default_factory=list)

    def get(self, lang: str) -> list[str]:
        return self.zh if lang == "zh" else self.en


class Keywords(BaseModel):
    """Groups of synonyms per language: a group is hit when any phrasing appears."""

    model_config = ConfigDict(extra="forbid")
    zh: list[list[str]]
    en: list[list[str]]

    @model_validator(mode="after")
    def _non_empty(self) -> Keywords:
        for lang in ("zh", "en"):
            groups = getattr(self, lang)
            if not groups:
                raise ValueError(f"keywords.{lang} has no groups")
            for g in groups:
                if not g or any(not str(s).strip() for s in g):
                    raise ValueError(f"keywords.{lang} has an empty group or phrase")
        return self

    def get(self, lang: str) -> list[list[str]]:
        return self.zh if lang == "zh" else self.en


ParamValue = str | int | float | bool  # a URL query value: plain scalars only (no lists, mappings, None)


class DemoLink(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    params: dict[str, ParamValue] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in DEMOS:
            raise ValueError(f"unknown demo id {v!r}; known: {', '.join(DEMOS)}")
        return v

    @model_validator(mode="after")
    def _known_params(self) -> DemoLink:
        for key, value in self.params.items():
            if key == "section":
                if value not in DEMO_SECTIONS[self.id]:
                    raise ValueError(
                        f"unknown section {value!r} for demo {self.id!r}; "
                        f"known: {', '.join(DEMO_SECTIONS[self.id])}"
                    )
            elif key not in DEMO_PARAMS[self.id]:
                raise ValueError(f"unknown param {key!r} for demo {self.id!r}")
        return self


class Correction(BaseModel):
    """Where the notes were wrong: what they said and why it is wrong."""

    model_config = ConfigDict(extra="forbid")
    said: Bilingual
    why: Bilingual


class Followup(BaseModel):
    """An interviewer's follow-up (追问): asked in the mock interview when the learner's answer
    missed any keyword group of `trigger` (or always, when `trigger` is absent)."""

    model_config = ConfigDict(extra="forbid")
    question: Bilingual
    answer: Bilingual
    trigger: Keywords | None = None


class Card(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    topic: str
    difficulty: int = Field(ge=1, le=3)
    question: Bilingual
    answer: Bilingual
    keywords: Keywords
    demo: DemoLink | None = None
    source: str
    aliases: BilingualList = Field(default_factory=BilingualList)
    related: list[str] = Field(default_factory=list)
    corrections: list[Correction] = Field(default_factory=list)
    followups: list[Followup] = Field(default_factory=list)

    _slug = field_validator("id")(check_slug)

    @field_validator("topic")
    @classmethod
    def _topic(cls, v: str) -> str:
        if v not in TOPICS:
            raise ValueError(f"unknown topic {v!r}; known: {', '.join(TOPICS)}")
        return v

    @field_validator("source")
    @classmethod
    def _source(cls, v: str) -> str:
        if v not in SOURCES:
            raise ValueError(f"unknown source {v!r}; use a seed file name or 'supplement'")
        return v
