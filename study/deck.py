"""A learner's deck: the bank's cards, then their own imported ones."""
from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from questions.bank import load_bank
from questions.schema import Card


@dataclass
class Deck:
    """The cards a learner studies: the bank's, then their own imported ones."""

    cards: list[Card]
    problems: list[str] = field(default_factory=list)
    by_id: dict[str, Card] = field(init=False)

    def __post_init__(self) -> None:
        self.by_id = {c.id: c for c in self.cards}


def load_cards() -> Deck:
    """The question bank (questions.bank: the valid cards, and one line per problem)."""
    bank = load_bank()
    return Deck(list(bank.cards), [str(p) for p in bank.problems])


def with_imported(deck: Deck, imported: list[dict]) -> Deck:
    """The deck plus a learner's imported cards (a bank id wins over an imported one)."""
    extra = []
    for raw in imported:
        try:
            card = Card.model_validate(raw)
        except ValidationError:  # a card stored by an older version that the schema no longer accepts
            continue
        if card.id not in deck.by_id:
            extra.append(card)
    if not extra:
        return deck
    return Deck([*deck.cards, *extra], deck.problems)
