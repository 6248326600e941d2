"""首页 / Home: what the app is, the learner's day (due cards, streak, weakest topics), entry points."""
from ui import shell

lang = shell.page("home")
from datetime import UTC, datetime, timedelta

import streamlit as st

from questions.vocab import DEMOS, topic_label
from study import personal, stats
from study import plan as planner
from study import scheduler as sched
from ui import profile
from ui.nav import PAGES

WEAK_DAYS = 30


def t(key: str, **fmt) -> str:
    return shell.t("home." + key, **fmt)


st.markdown(f"#### {t('what')}")
st.markdown(t("how"))

# ---- the learner's day ----
store = profile.store()
me = profile.learner()
tz = profile.tz_offset_minutes()
now = datetime.now(UTC)
today = stats.local_date(now, tz)
states = store.card_states(me.id)
reviews = store.reviews(me.id, since=now - timedelta(days=400))
plan_setting = store.get_setting(me.id, planner.KEY_PLAN) or {}
# a first visit (no reviews, no interview date) shows no numbers and does not wait for the bank
deck = profile.deck(me.id) if reviews or plan_setting.get("date") else None

with st.container(border=True):
    st.subheader(t("progress", name=shell.md_plain(profile.display_name(me))))
    if not reviews:
        st.info(t("start_first"), icon=":material/waving_hand:")
        st.page_link("pages/flashcards.py", label=t("start_review"), icon=":material/play_circle:",
                     query_params={"lang": lang})
    else:
        per_day = stats.reviews_per_day(reviews, tz)
        streak = stats.streak(per_day, today)
        new_limit = int(store.get_setting(me.id, "new_per_day", sched.DEFAULT_NEW_PER_DAY))
        new_today = store.new_cards_since(me.id, sched.today_start(now, tz))
        due = sched.due_summary([c.id for c in deck.cards], states, now, new_today, new_limit, tz)
        c1, c2, c3, c4 = st.columns(4)
        c1.metric(t("due_now"), due.now, help=t("due_help"))
        c2.metric(t("streak"), t("days_one" if streak == 1 else "days", n=streak))
        c3.metric(t("reviewed_today"), per_day.get(today, 0))
        c4.metric(t("new_cards"), max(0, len(deck.cards) - len(states)))
        if due.now:
            st.page_link("pages/flashcards.py", label=t("review_now", n=due.now), icon=":material/play_circle:",
                         query_params={"lang": lang})
        elif due.new:
            st.page_link("pages/flashcards.py", label=t("learn_new", n=due.new), icon=":material/play_circle:",
                         query_params={"lang": lang})
        if due.later_today:
            st.caption(t("later_today", n=due.later_today))
        topic_of = {c.id: c.topic for c in deck.cards}
        recent = [r for r in reviews if r.reviewed_at >= now - timedelta(days=WEAK_DAYS)]
        weak = stats.weakest_topics(recent, topic_of)
        st.markdown(f"**{t('weakest')}**", help=t("weakest_help"))
        if not weak:
            st.caption(t("no_weak"))
        with st.container(horizontal=True, gap="small"):
            for topic, n_again, n in weak:
                st.page_link("pages/flashcards.py", icon=":material/trending_down:",
                             label=t("weak_line", topic=topic_label(topic, lang), again=n_again, n=n),
                             query_params={"lang": lang, "topic": topic})

# ---- the interview date (set on the stats page; study/plan.py) ----
if plan_setting.get("date"):
    try:
        interview_day = planner.parse_date(plan_setting["date"])
    except (TypeError, ValueError):
        interview_day = None
    if interview_day is not None:
        memory = personal.load(store, me.id)
        chosen = [c for c in deck.cards if not plan_setting.get("topics") or c.topic in plan_setting["topics"]]
        plan = planner.build([c.id for c in chosen], {c.id: c.topic for c in chosen}, states, today, interview_day,
                             parameters=memory.parameters, retention=memory.desired_retention,
                             max_per_day=int(plan_setting.get("max_per_day", planner.DEFAULT_MAX_PER_DAY)))
        first = plan.days[0] if plan.days else planner.Day(today, 0, 0)
        with st.container(border=True):
            i1, i2, i3 = st.columns(3)
            i1.metric(t("interview_in"), t("days_one" if plan.days_left == 1 else "days", n=plan.days_left),
                      help=interview_day.isoformat())
            i2.metric(t("plan_today"), t("plan_today_value", new=first.new, reviews=first.reviews))
            i3.metric(t("plan_recall"), f"{100 * plan.predicted_recall_on_date:.0f}%")
            if plan.warning == "too_close":
                st.warning(t("plan_too_close", n=plan.cards_not_introduced), icon=":material/warning:")
            st.page_link("pages/stats.py", label=t("plan_open"), icon=":material/event:", query_params={"lang": lang})

# ---- entry points ----
st.subheader(t("entry_title"))
entries = [("bank", ":material/quiz:"), ("flashcards", ":material/style:"), ("interview", ":material/record_voice_over:"),
           ("lessons", ":material/school:"), ("stats", ":material/monitoring:")]
cols = st.columns(len(entries))
for col, (page_id, icon) in zip(cols, entries, strict=True):
    with col.container(border=True, height="stretch"):
        st.page_link(f"pages/{page_id}.py", label=shell.t(f"common.page_{page_id}"), icon=icon,
                     query_params={"lang": lang})
        st.caption(t(f"entry_{page_id}"))

# ---- demos ----
st.subheader(t("demos_title"))
st.caption(t("demos_caption"))
icons = {p.id: p.icon for p in PAGES}
demo_ids = [d for d in DEMOS if d in icons]
per_row = 4
for start in range(0, len(demo_ids), per_row):
    row = st.columns(per_row)
    for col, demo_id in zip(row, demo_ids[start:start + per_row], strict=False):
        with col.container(border=True, height="stretch"):
            st.page_link(f"pages/{demo_id}.py", label=shell.t(f"common.page_{demo_id}"), icon=icons[demo_id],
                         query_params={"lang": lang})
            st.caption(t(f"demo_{demo_id}"))
