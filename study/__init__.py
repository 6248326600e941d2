"""Study logic (no Streamlit): progress store, scheduling, scoring, interviews, export, stats.

The package itself imports nothing: `from study import store` must not load the question bank
(a newcomer's home page needs the store, not the bank; cold start, bench/cold_start.py). The
deck (bank + imported cards) is in study.deck.
"""
