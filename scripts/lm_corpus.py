"""Write the decoder LM's corpus snapshot (model/data/lm_corpus.json) from the question bank:
one record per card, {"id", "en", "zh"}, each a "Q: …\\nA: …\\n\\n" document (model.lm_data).
The LM checkpoints are trained and evaluated on this snapshot, so a later card edit does not
silently change a shipped model's held-out set. Run it before retraining `lm*`:

    python scripts/lm_corpus.py && python -m model.train --task lm --force
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.lm_data import CORPUS_FILE, card_documents  # noqa: E402
from questions.bank import load_bank  # noqa: E402


def main() -> int:
    records = []
    for card in load_bank().cards:
        en, zh = card_documents(card)
        records.append({"id": card.id, "en": en, "zh": zh})
    CORPUS_FILE.parent.mkdir(parents=True, exist_ok=True)
    CORPUS_FILE.write_text(json.dumps(records, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"{len(records)} cards -> {CORPUS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
