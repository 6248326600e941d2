from ui import shell

lang = shell.page("stats")
from datetime import UTC, date, datetime, timedelta

import streamlit as st

from drills import registry as drill_registry
from figures import study as figs
from questions.schema import TOPICS
from study import personal, stats
from study import plan as planner
from study import scheduler as sched
from ui import compute, plot, profile


def t(key: str, **fmt) -> str:
    return shell.t("stats." + key, **fmt)


# Figures are rebuilt only when their data (or the language) change: building one costs ~60 ms.
def _fig(builder: str, *args, **kwargs):
    return plot.call(getattr(figs, builder), *args, **kwargs)


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

topic_of = {c.id: c.topic for c in deck.cards}
by_topic = stats.retention_by_topic(reviews, topic_of, tz)
if by_topic:
    series = {TOPICS.get(tp, (tp, tp))[0 if lang == "zh" else 1]: tuple(by_topic[tp]) for tp in TOPICS if tp in by_topic}
    plot.show(_fig("retention_by_topic", series, title=t("topic_retention_title"), x_title=t("week"),
                   y_title=t("retained"), hover_reviews=t("reviews")), "retention_topic")

rows = stats.mastery({c.id: c.topic for c in deck.cards}, states, list(TOPICS))
names = tuple(TOPICS.get(r.topic, (r.topic, r.topic))[0 if lang == "zh" else 1] for r in rows)
plot.show(_fig("mastery_bar", names, tuple(r.share for r in rows), tuple(r.studied / r.cards for r in rows),
               title=t("mastery_title", days=int(stats.MASTERED_STABILITY_DAYS)), x_title=t("share"),
               mastered_label=t("mastered"), studied_label=t("studied_share")), "mastery")
st.caption(t("mastery_note", days=int(stats.MASTERED_STABILITY_DAYS)))
st.caption(t("today_note"))


# ---- interview date and plan (study/plan.py) ----------------------------------------------
memory = personal.load(store, me.id)
st.subheader(t("plan_title"))
st.caption(t("plan_caption"))
saved = store.get_setting(me.id, planner.KEY_PLAN) or {}
topic_ids = [tp for tp in TOPICS if any(c.topic == tp for c in deck.cards)]
topic_name = {tp: TOPICS[tp][0 if lang == "zh" else 1] for tp in topic_ids}


def _saved_date() -> date | None:
    try:
        return planner.parse_date(saved["date"])
    except (KeyError, TypeError, ValueError):
        return None


with st.form("stats:plan", border=True):
    c1, c2 = st.columns([1, 1])
    picked = c1.date_input(t("plan_date"), value=_saved_date() or today + timedelta(days=14),
                           min_value=today + timedelta(days=1), key="stats:plan_date")
    cap = c2.number_input(t("plan_cap"), 5, 500, int(saved.get("max_per_day", planner.DEFAULT_MAX_PER_DAY)),
                          key="stats:plan_cap")
    chosen = st.multiselect(t("plan_topics"), topic_ids, default=[x for x in saved.get("topics", []) if x in topic_ids],
                            format_func=topic_name.__getitem__, key="stats:plan_topics")
    b1, b2 = st.columns([1, 1])
    save = b1.form_submit_button(t("plan_save"), type="primary", icon=":material/event:")
    clear = b2.form_submit_button(t("plan_clear"), type="tertiary")
if save:
    if not isinstance(picked, date) or picked <= today:
        st.error(t("plan_bad_date"), icon=":material/error:")
    else:
        saved = {"date": picked.isoformat(), "topics": list(chosen), "max_per_day": int(cap)}
        with profile.saving(show=True):
            store.set_setting(me.id, planner.KEY_PLAN, saved)
        st.success(t("plan_saved"), icon=":material/check:")
elif clear:
    saved = {}
    with profile.saving(show=True):
        store.set_setting(me.id, planner.KEY_PLAN, None)

interview_day = _saved_date() if saved else None
if interview_day is None:
    st.caption(t("plan_none"))
else:
    cards = [c for c in deck.cards if not saved.get("topics") or c.topic in saved["topics"]]
    plan = planner.build([c.id for c in cards], topic_of, states, today, interview_day,
                         parameters=memory.parameters, retention=memory.desired_retention,
                         max_per_day=int(saved.get("max_per_day", planner.DEFAULT_MAX_PER_DAY)))
    p1, p2, p3 = st.columns(3)
    p1.metric(t("plan_days_left"), t("days_one" if plan.days_left == 1 else "days", n=plan.days_left))
    p2.metric(t("plan_recall"), f"{100 * plan.predicted_recall_on_date:.0f}%")
    first = plan.days[0] if plan.days else planner.Day(today, 0, 0)
    p3.metric(t("plan_today"), t("plan_today_value", new=first.new, reviews=first.reviews))
    if plan.warning == "too_close":
        st.warning(t("plan_too_close", cap=plan.max_per_day, n=plan.cards_not_introduced, need=plan.needed_per_day),
                   icon=":material/warning:")
    if plan.days:
        plot.show(_fig("plan_bars", tuple(d.date for d in plan.days), tuple(d.new for d in plan.days),
                       tuple(d.reviews for d in plan.days), plan.max_per_day, title=t("plan_chart"),
                       x_title=t("date"), y_title=t("plan_cards"), new_label=t("plan_new"),
                       reviews_label=t("plan_reviews"), cap_label=t("plan_cap_line", n=plan.max_per_day)), "plan")
    order = [tp for tp in TOPICS if tp in plan.recall_by_topic]
    target = planner.exam_target(memory.desired_retention)
    plot.show(_fig("recall_on_date_bar", tuple(topic_name.get(tp, tp) for tp in order),
                   tuple(plan.recall_by_topic[tp] for tp in order), target, title=t("plan_recall_chart"),
                   x_title=t("plan_recall_axis"), target_label=t("plan_target", pct=round(100 * target))),
              "plan_recall")
    st.caption(t("plan_note"))

# ---- the learner's memory model (study/personal.py) ---------------------------------------
st.subheader(t("model_title"))
st.caption(t("model_caption", min=personal.MIN_REVIEWS))


def _cross_day() -> tuple[int, float]:
    logs = personal.review_logs(store.reviews(me.id))
    return personal.cross_day_reviews(logs), personal.log_loss(logs)


last_id = max((r.id for r in reviews), default=0)
n_cross, loss_default = compute.cached("cross_day", (me.id, len(reviews), last_id), _cross_day, keep=32)
k1, k2, k3 = st.columns(3)
k1.metric(t("model_reviews"), f"{n_cross} / {personal.MIN_REVIEWS}")
k2.metric(t("model_loss_default"), "—" if loss_default != loss_default else f"{loss_default:.4f}")
fitted = memory.fit
k3.metric(t("model_loss_fitted"), f"{fitted.loss_fitted:.4f}" if fitted and fitted.loss_fitted is not None else "—")
if st.button(t("model_fit"), disabled=n_cross < personal.MIN_REVIEWS, icon=":material/tune:", key="stats:fit"):
    with st.spinner(t("model_fitting")):
        result = personal.fit(personal.review_logs(store.reviews(me.id)))
    with profile.saving(show=True):
        personal.save_fit(store, me.id, result)
    memory = personal.load(store, me.id)
    fitted = memory.fit
if n_cross < personal.MIN_REVIEWS:
    st.caption(t("model_need_more", n=personal.MIN_REVIEWS - n_cross))
if memory.parameters is not None:
    st.success(t("model_using_own", when=fitted.fitted_at[:10]), icon=":material/person:")
    if st.button(t("model_reset"), type="tertiary", key="stats:reset"):
        with profile.saving(show=True):
            store.set_setting(me.id, personal.KEY_FIT, None)
        memory = personal.load(store, me.id)
elif fitted is not None and fitted.loss_fitted is not None:
    st.info(t("model_no_gain"), icon=":material/info:")
else:
    st.caption(t("model_using_default"))

retention = st.slider(t("retention_label"), personal.RETENTION_MIN, personal.RETENTION_MAX,
                      memory.desired_retention, 0.01, format="%.2f", help=t("retention_help"), key="stats:retention")
if st.button(t("retention_save"), icon=":material/save:", key="stats:retention_save"):
    with profile.saving(show=True):
        value = personal.save_retention(store, me.id, retention)
    st.success(t("retention_saved", pct=round(100 * value)), icon=":material/check:")


chosen_r = round(float(retention), 2)
retentions = tuple(sorted({*personal.WORKLOAD_RETENTIONS, chosen_r}))
new_per_day = int(store.get_setting(me.id, "new_per_day", sched.DEFAULT_NEW_PER_DAY))
load = compute.call(personal.workload, tuple(states.values()), max(0, len(deck.cards) - len(states)), new_per_day,
                    today, tuple(memory.parameters) if memory.parameters else None, retentions, keep=32)
plot.show(_fig("workload_lines", today, tuple((r, tuple(v)) for r, v in load.items()), chosen_r,
               title=t("workload_title"), x_title=t("date"), y_title=t("workload_axis"),
               retention_label=t("retention_label")), "workload")
st.caption(t("workload_note"))
