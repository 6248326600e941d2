"""Study logic (no Streamlit): progress store, scheduling, scoring, interviews, export, stats."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from questions.schema import Card

QUESTIONS_DIR = Path(__file__).resolve().parents[1] / "questions"


@dataclass
class Deck:
    """The cards a learner studies: the bank's, then their own imported ones."""

    cards: list[Card]
    problems: list[str] = field(default_factory=list)
    by_id: dict[str, Card] = field(init=False)

    def __post_init__(self) -> None:
        self.by_id = {c.id: c for c in self.cards}


def _load_yaml_cards() -> Deck:
    """Fallback loader (questions/*.yaml through the pydantic schema) when questions.bank is absent."""
    import yaml
    from pydantic import ValidationError

    cards: list[Card] = []
    problems: list[str] = []
    seen: set[str] = set()
    for path in sorted(QUESTIONS_DIR.glob("*.yaml")):
        if path.name == "synonyms.yaml":
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        except (OSError, yaml.YAMLError) as exc:
            problems.append(f"{path.name}: {exc}")
            continue
        for raw in data if isinstance(data, list) else []:
            try:
                card = Card.model_validate(raw)
            except ValidationError as exc:
                problems.append(f"{path.name}: {exc.errors()[0].get('msg')}")
                continue
            if card.id not in seen:
                seen.add(card.id)
                cards.append(card)
    return Deck(cards, problems)


def load_cards() -> Deck:
    """The question bank (via questions.bank when it is importable)."""
    try:
        from questions.bank import load_bank
    except ImportError:
        return _load_yaml_cards()
    bank = load_bank()
    return Deck(list(bank.cards), [str(p) for p in bank.problems])


def with_imported(deck: Deck, imported: list[dict]) -> Deck:
    """The deck plus a learner's imported cards (a bank id wins over an imported one)."""
    extra = []
    for raw in imported:
        try:
            card = Card.model_validate(raw)
        except ValueError:
            continue
        if card.id not in deck.by_id:
            extra.append(card)
    if not extra:
        return deck
    return Deck([*deck.cards, *extra], deck.problems)
