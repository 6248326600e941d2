from ui import shell

lang = shell.page("stats")
from datetime import UTC, datetime, timedelta

import streamlit as st

from drills import registry as drill_registry
from figures import study as figs
from questions.schema import TOPICS
from study import stats
from ui import plot, profile


def t(key: str, **fmt) -> str:
    return shell.t("stats." + key, **fmt)


# Figures are rebuilt only when their data (or the language) change: building one costs ~60 ms.
@st.cache_resource(show_spinner=False, max_entries=64)
def _fig(builder: str, *args, **kwargs):
    return getattr(figs, builder)(*args, **kwargs)


store = profile.store()
me = profile.learner()
deck = profile.deck(me.id)
tz = profile.tz_offset_minutes()
now = datetime.now(UTC)
today = stats.local_date(now, tz)

reviews = store.reviews(me.id, since=now - timedelta(days=400))
states = store.card_states(me.id)
per_day = stats.reviews_per_day(reviews, tz)

m1, m2, m3, m4, m5 = st.columns(5)
m1.metric(t("today"), per_day.get(today, 0))
streak = stats.streak(per_day, today)
m2.metric(t("streak"), t("days_one" if streak == 1 else "days", n=streak))
m3.metric(t("studied"), f"{len(states)} / {len(deck.cards)}")
due_now = sum(1 for s in states.values() if s.due <= now)
m4.metric(t("due_now"), due_now)
drill_ids = [d.id for d in drill_registry.all_drills()]
m5.metric(t("drills_solved"), f"{stats.drills_solved(store.drill_status(me.id), drill_ids)} / {len(drill_ids)}")

if not reviews:
    st.info(t("empty"), icon=":material/info:")
    st.page_link("pages/flashcards.py", label=t("go_review"), icon=":material/style:", query_params={"lang": lang})

weekdays = tuple(t(f"wd{i}") for i in range(7))
plot.show(_fig("calendar_heatmap", tuple(per_day.items()), today, weeks=26, title=t("heatmap_title"),
               weekdays=weekdays, x_title=t("week_of"), hover_reviews=t("reviews")), "heatmap")

c1, c2 = st.columns(2)
with c1:
    points = stats.retention(reviews, tz)
    plot.show(_fig("retention_line", tuple(p.day for p in points), tuple(p.retained for p in points),
                   tuple(p.reviews for p in points), title=t("retention_title"), x_title=t("date"),
                   y_title=t("retained"), hover_reviews=t("reviews"), target=0.9, target_label=t("target"),
                   end=today), "retention")
with c2:
    forecast = stats.due_forecast(states.values(), today, days=30, tz_offset_minutes=tz)
    plot.show(_fig("forecast_bar", tuple(d for d, _ in forecast), tuple(n for _, n in forecast),
                   title=t("forecast_title"), x_title=t("date"), y_title=t("due_cards")), "forecast")

rows = stats.mastery({c.id: c.topic for c in deck.cards}, states, list(TOPICS))
names = tuple(TOPICS.get(r.topic, (r.topic, r.topic))[0 if lang == "zh" else 1] for r in rows)
plot.show(_fig("mastery_bar", names, tuple(r.share for r in rows), tuple(r.studied / r.cards for r in rows),
               title=t("mastery_title", days=int(stats.MASTERED_STABILITY_DAYS)), x_title=t("share"),
               mastered_label=t("mastered"), studied_label=t("studied_share")), "mastery")
st.caption(t("mastery_note", days=int(stats.MASTERED_STABILITY_DAYS)))
st.caption(t("today_note"))
