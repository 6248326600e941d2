"""The question bank: cards in questions/<topic>.yaml, their schema, loader, search and checks.

    from questions.bank import load_bank
    from questions.search import search

    bank = load_bank()
    hits = search(bank, "为什么除以根号 dk", top=3)

Command line: `python -m questions validate` and `python -m questions search "…" --json`.
"""
