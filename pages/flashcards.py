from ui import shell

lang = shell.page("flashcards")
import time
from datetime import UTC, datetime

import streamlit as st
from fsrs import Rating

from questions.schema import TOPICS
from study import export, personal, scoring
from study import grade as grading
from study import scheduler as sched
from study.store import StoreError
from ui import profile, state
from ui.cards import render_card

T = "flashcards."
RATING_NAMES = {Rating.Again: "again", Rating.Hard: "hard", Rating.Good: "good", Rating.Easy: "easy"}
K_CURRENT, K_REVEALED, K_SHOWN, K_CRAM, K_CRAM_SIG, K_UPLOAD = (
    "fc:current", "fc:revealed", "fc:shown_at", "fc:cram", "fc:cram_sig", "fc:uploaded")


def t(key: str, **fmt) -> str:
    return shell.t(T + key, **fmt)


def _badge(text: str) -> str:
    """A keyword phrase safe inside a Markdown badge."""
    return text.replace("[", "(").replace("]", ")")


def fmt_interval(delta) -> str:
    value, unit = sched.interval_parts(delta)
    value = int(value) if float(value).is_integer() else value
    return t(f"unit_{unit}", n=value)


store = profile.store()
me = profile.learner()
deck = profile.deck(me.id)
scheduler = personal.scheduler_for(store, me.id)  # their fitted fsrs parameters and retention
tz = profile.tz_offset_minutes()

# ---- controls -----------------------------------------------------------------------------
topics = ["all", *[tp for tp in TOPICS if any(c.topic == tp for c in deck.cards)]]
c1, c2, c3 = st.columns([2, 3, 1], vertical_alignment="bottom")
with c1:
    mode_names = {m: t(f"mode_{m}") for m in ("review", "cram")}
    mode = state.select("mode", t("mode"), list(mode_names), "review", widget="segmented",
                        format_func=mode_names.__getitem__, help=t("mode_help"))
with c2:
    topic_names = {tp: t("all_topics") if tp == "all" else TOPICS[tp][0 if lang == "zh" else 1] for tp in topics}
    topic = state.select("topic", t("topic"), topics, "all", format_func=topic_names.__getitem__)
with c3:
    with st.popover(t("settings"), icon=":material/settings:", width="stretch"):
        new_limit_now = int(store.get_setting(me.id, "new_per_day", sched.DEFAULT_NEW_PER_DAY))
        new_limit = st.number_input(t("new_per_day"), 0, 500, new_limit_now, step=5, key=f"fc:newlim:{me.id}",
                                    help=t("new_per_day_help"))
        if new_limit != new_limit_now:
            with profile.saving(show=True):
                store.set_setting(me.id, "new_per_day", int(new_limit))
        self_check = state.toggle("check", t("self_check"), False, help=t("self_check_help"))

ids = [c.id for c in deck.cards if topic == "all" or c.topic == topic]

# ?cards=id1,id2 (demo pages link here): the cram set
raw_cards = st.query_params.get("cards")
link_ids: list[str] = []
if raw_cards:
    wanted = [x.strip() for x in raw_cards.split(",") if x.strip()][:200]
    link_ids = [x for x in wanted if x in deck.by_id]
    unknown = [x for x in wanted if x not in deck.by_id]
    if unknown:
        st.warning(t("unknown_cards", ids=shell.md_plain(", ".join(unknown[:5]), limit=200)), icon=":material/warning:")

now = datetime.now(UTC)


def _reset_card() -> None:
    st.session_state[K_CURRENT] = None
    st.session_state[K_REVEALED] = False


def _reveal() -> None:
    st.session_state[K_REVEALED] = True


def _rate(qid: str, rating: int) -> None:
    shown = st.session_state.get(K_SHOWN) or time.time()
    duration = int(min(600.0, max(0.0, time.time() - shown)) * 1000)
    with profile.saving():  # refused (disk full, read-only): the card stays, the learner is told
        rated = sched.rate(store, scheduler, me.id, qid, Rating(rating), duration_ms=duration)
        st.session_state["fc:last"] = (qid, int(rating), fmt_interval(rated.interval))
        _reset_card()


def _rate_cram(qid: str, rating: int) -> None:
    queue = [x for x in st.session_state.get(K_CRAM, []) if x != qid]
    if rating == Rating.Again:
        queue.append(qid)  # see it again at the end of the round
    st.session_state[K_CRAM] = queue
    st.session_state["fc:cram_done"] = st.session_state.get("fc:cram_done", 0) + (rating != Rating.Again)
    _reset_card()


def _undo() -> None:
    review = None
    with profile.saving():
        review = store.undo_last_review(me.id)
    if review is not None:
        st.session_state[K_CURRENT] = review.question_id
        st.session_state[K_REVEALED] = False
        st.session_state["fc:undone"] = review.question_id
    st.session_state.pop("fc:last", None)


def _restart_cram() -> None:
    st.session_state.pop(K_CRAM_SIG, None)
    _reset_card()


# ---- pick the card ------------------------------------------------------------------------
if mode == "cram":
    cram_ids = link_ids or ids
    sig = (me.id, tuple(cram_ids))
    if st.session_state.get(K_CRAM_SIG) != sig:
        st.session_state[K_CRAM_SIG] = sig
        st.session_state[K_CRAM] = list(cram_ids)
        st.session_state["fc:cram_done"] = 0
        _reset_card()
    cram = st.session_state[K_CRAM]
    current = cram[0] if cram else None
    st.caption(t("cram_caption", left=len(cram), done=st.session_state.get("fc:cram_done", 0), total=len(cram_ids)))
else:
    states = store.card_states(me.id)
    new_today = store.new_cards_since(me.id, sched.today_start(now, tz))
    queue = sched.build_queue(ids, states, now, new_today, int(new_limit))
    current = st.session_state.get(K_CURRENT)
    if current not in queue.order():
        current = queue.next()
    st.caption(t("queue_caption", learning=len(queue.learning), review=len(queue.review), new=len(queue.new),
                 new_today=new_today, limit=int(new_limit)))
    if link_ids:
        st.info(t("link_hint"), icon=":material/info:")

if st.session_state.get(K_CURRENT) != current:
    st.session_state[K_CURRENT] = current
    st.session_state[K_REVEALED] = False
    st.session_state[K_SHOWN] = time.time()

last = st.session_state.pop("fc:last", None)
if last:
    st.toast(t("saved", interval=last[2]), icon=":material/check:")
if st.session_state.pop("fc:undone", None):
    st.toast(t("undone"), icon=":material/undo:")

# ---- the card -----------------------------------------------------------------------------
if current is None:
    if mode == "cram":
        st.success(t("cram_done"), icon=":material/celebration:")
        st.button(t("cram_again"), on_click=_restart_cram, icon=":material/replay:")
    else:
        upcoming = [s.due for q, s in states.items() if q in set(ids) and s.due > now]
        msg = t("all_done_next", when=fmt_interval(min(upcoming) - now)) if upcoming else t("all_done")
        st.success(msg, icon=":material/celebration:")
        if queue.new_total and len(queue.new) == 0:
            st.caption(t("new_limit_reached", n=queue.new_total))
else:
    card = deck.by_id[current]
    revealed = bool(st.session_state.get(K_REVEALED))
    answer_key = f"fc:ans:{current}"
    typed = str(st.session_state.get(answer_key) or "") if self_check else ""
    score = scoring.score_answer(typed, card.keywords.get(lang)) if revealed and typed.strip() else None
    verdict = grading.grade(card, typed, lang) if score is not None else None
    if verdict is not None and verdict.has_rubric:  # issue 19: the learner's ticks set the rating
        ticked = [st.session_state.get(f"fc:pt:{current}:{p['id']}", p["hit"]) for p in verdict.points]
        kept = st.session_state.get(f"fc:mis:{current}", bool(verdict.misconceptions))
        suggested = grading.confirmed_rating(len(ticked), sum(ticked), bool(kept))
    else:
        suggested = score.suggested_rating if score else None
    with st.container(border=True):
        # the question, then the actions right under it (visible without scrolling past a long answer)
        st.markdown(f"#### {card.question.get(lang)}")
        if not revealed:
            if self_check:
                st.text_area(t("your_answer"), key=answer_key, max_chars=10_000, height=120,
                             placeholder=t("your_answer_ph"))
            st.button(t("show_answer"), on_click=_reveal, type="primary", shortcut="Space", key="fc:reveal",
                      icon=":material/visibility:")
            st.button(t("show_answer"), on_click=_reveal, shortcut="Enter", key="fc_reveal_enter")
            st.html("<style>.st-key-fc_reveal_enter{display:none}</style>")
        else:
            rate_cb = _rate_cram if mode == "cram" else _rate
            intervals = {}
            if mode != "cram":
                with profile.saving(show=True):  # a card's first preview stores its id
                    intervals = sched.preview(scheduler, sched.current_card(store, me.id, current, now), now)
            cols = st.columns(4)
            for col, rating in zip(cols, sched.RATINGS, strict=True):
                label = t("rate_" + RATING_NAMES[rating])
                if rating in intervals:
                    label = f"{label} · {fmt_interval(intervals[rating])}"
                col.button(label, key=f"fc:rate{int(rating)}", on_click=rate_cb, args=(current, int(rating)),
                           shortcut=str(int(rating)), width="stretch",
                           type="primary" if suggested == int(rating) else "secondary")
            if mode == "cram":
                st.caption(t("cram_no_schedule"))
            if verdict is not None and verdict.has_rubric:
                with st.container(border=True):
                    st.markdown(f"**{t('verdict_' + verdict.verdict)}** · "
                                f"{t('suggest', rating=t('rate_' + RATING_NAMES[Rating(suggested)]))}")
                    if verdict.keyword_list:
                        st.caption(t("verdict_list"))
                    for m in verdict.misconceptions:
                        st.error(f"{t('misconception')} {shell.md_plain(m['claim'])}  \n{shell.md_plain(m['message'])}",
                                 icon=":material/report:")
                    st.markdown(t("confirm_points"))
                    for p in verdict.points:
                        st.checkbox(shell.md_plain(p["text"]), value=p["hit"], key=f"fc:pt:{current}:{p['id']}")
                    if verdict.misconceptions:
                        st.checkbox(t("mis_kept"), value=True, key=f"fc:mis:{current}")
                    with st.expander(t("your_answer")):
                        st.text(typed)  # the learner's text: plain text, never Markdown / HTML
                    st.caption(t("rubric_rule"))
            elif score is not None:
                with st.container(border=True):
                    rating_name = t("rate_" + RATING_NAMES[Rating(score.suggested_rating)])
                    st.markdown(f"**{t('coverage', pct=score.percent)}** · {t('suggest', rating=rating_name)}")
                    st.progress(score.coverage)
                    st.markdown(t("hit") + " " + (" ".join(f":green-badge[{_badge(g[0])}]" for g in score.hit) or "—"))
                    st.markdown(t("missed") + " " + (" ".join(f":red-badge[{_badge(g[0])}]" for g in score.missed) or "—"))
                    with st.expander(t("your_answer")):
                        st.text(typed)  # the learner's text: plain text, never Markdown / HTML
                    st.caption(t("rule"))
            elif self_check:
                st.caption(t("no_typed"))
            st.divider()
        render_card(card, lang, key_prefix=f"fc-{current}", show_answer=revealed, show_question=False)

if mode == "review":
    st.button(t("undo"), on_click=_undo, icon=":material/undo:", key="fc:undo", shortcut="U", type="tertiary",
              disabled=not store.reviews(me.id, since=sched.today_start(now, tz)))
if current is not None:
    st.caption(t("keys_hint"))

# ---- export / import ----------------------------------------------------------------------
with st.expander(t("export_import"), icon=":material/import_export:"):
    export_cards = [deck.by_id[i] for i in (link_ids or ids)]
    st.caption(t("export_caption", n=len(export_cards)))
    e1, e2 = st.columns(2)
    e1.download_button(t("export_apkg"), data=lambda: export.to_apkg(export_cards), file_name="transformer-interview-lab.apkg",
                       mime="application/octet-stream", icon=":material/download:", key="fc:apkg", on_click="ignore")
    e2.download_button(t("export_csv"), data=lambda: export.to_csv(export_cards).encode("utf-8-sig"),
                       file_name="transformer-interview-lab.csv", mime="text/csv", icon=":material/download:",
                       key="fc:csv", on_click="ignore")
    st.divider()
    up = st.file_uploader(t("import_label"), type=["yaml", "yml"], key="fc:upload", help=t("import_help"))
    if up is not None and st.session_state.get(K_UPLOAD) != (me.id, up.file_id):
        st.session_state[K_UPLOAD] = (me.id, up.file_id)
        try:
            cards = export.parse_import(up.getvalue(), reserved_ids=profile.bank().by_id)
        except export.ImportRejected as exc:
            st.session_state["fc:import_msg"] = ("error", t("import_failed", n=len(exc.errors)), exc.errors[:20])
        else:
            try:
                store.replace_imported_cards(me.id, cards)
            except StoreError as exc:
                st.session_state[K_UPLOAD] = None  # the same file may be uploaded again
                st.session_state["fc:import_msg"] = ("error", t("write_error", reason=profile.fault_reason(exc)), [])
            else:
                st.session_state["fc:import_msg"] = ("ok", t("import_ok", n=len(cards)), [])
                st.rerun()
    msg = st.session_state.get("fc:import_msg")
    if msg:
        kind, text, errors = msg
        if kind == "ok":
            st.success(text, icon=":material/check:")
        else:
            st.error(text, icon=":material/error:")
            if errors:
                st.code("\n".join(errors), language=None)
    mine = [c["id"] for c in store.imported_cards(me.id)]
    if mine:  # the learner's own cards: listed by id, deletable (all or some)
        st.caption(t("imported_caption", n=len(mine)))
        chosen = st.multiselect(t("imported_pick"), mine, key=f"fc:imported:{me.id}")
        d1, d2 = st.columns(2)
        drop = None
        if d1.button(t("imported_delete"), disabled=not chosen, key="fc:imported_del", icon=":material/delete:"):
            drop = chosen
        if d2.button(t("imported_delete_all"), key="fc:imported_del_all", icon=":material/delete_sweep:"):
            drop = mine
        if drop:
            with profile.saving(show=True):
                n = store.delete_imported_cards(me.id, drop)
                st.session_state.pop(f"fc:imported:{me.id}", None)
                st.session_state["fc:import_msg"] = ("ok", t("imported_deleted", n=n), [])
                st.rerun()
