from ui import shell

lang = shell.page("interview")
import time
from datetime import UTC, datetime

import streamlit as st
from fsrs import Rating

from drills import registry as drill_registry
from drills import sandbox
from questions.schema import TOPICS
from study import grade as grading
from study import interview as iv
from study import personal
from study import scheduler as sched
from study.store import InterviewAnswer
from ui import profile
from ui.cards import render_card

S = "iv:session"
GRADES = ((1, "again"), (2, "hard"), (3, "good"), (4, "easy"))
SECONDS = (60, 120, 180, 300, 600)
CODING_SECONDS = 900


def t(key: str, **fmt) -> str:
    return shell.t("interview." + key, **fmt)


def mmss(seconds: float) -> str:
    s = max(0, int(round(seconds)))
    return f"{s // 60}:{s % 60:02d}"


store = profile.store()
me = profile.learner()
deck = profile.deck(me.id)
sess = st.session_state.get(S)
if sess is not None and sess.get("profile") != me.id:
    sess = None  # another learner picked in the sidebar: start over


# ---- callbacks ----------------------------------------------------------------------------
def _start() -> None:
    n = int(st.session_state["iv:n"])
    topics = st.session_state.get("iv:topics") or []
    diffs = st.session_state.get("iv:diff") or []
    ids = iv.draw(deck.cards, n, topics, diffs, seed=time.time_ns())
    if not ids:
        st.session_state["iv:empty"] = True
        return
    st.session_state[S] = {
        "profile": me.id, "ids": ids, "idx": 0, "phase": "question", "answers": [], "audio": {},
        "seconds": int(st.session_state["iv:secs"]), "started_at": datetime.now(UTC).isoformat(),
        "q_started": time.time(), "saved": None,
        "config": {"n": n, "topics": list(topics), "difficulties": list(diffs),
                   "seconds": int(st.session_state["iv:secs"]), "lang": lang},
        "fu_queue": [], "coding": _coding_choice(), "coding_result": None, "rescheduled": False,
    }


def _submit(timed_out: bool = False) -> None:
    s = st.session_state[S]
    if s["phase"] != "question":
        return
    idx = s["idx"]
    qid = s["ids"][idx]
    text = str(st.session_state.get(f"iv:text:{idx}") or "")
    audio = st.session_state.get(f"iv:audio:{idx}")
    if audio is not None:
        s["audio"][idx] = audio.getvalue()
    cov, hit, missed = iv.grade(deck.by_id[qid], text, lang)
    elapsed = min(time.time() - s["q_started"], float(s["seconds"]))
    s["answers"].append(iv.Answer(qid, text, round(elapsed, 1), timed_out, idx in s["audio"], cov, hit, missed,
                                  confidence=st.session_state.get(f"iv:conf:{idx}")))
    s["answers"][-1].apply_suggestion(iv.suggest(deck.by_id[qid], text, lang))  # issue 19: pre-ticks only
    s["phase"] = "review"


def _grade(value: int) -> None:
    s = st.session_state[S]
    ans = s["answers"][s["idx"]]
    ans.self_grade = value
    if ans.rubric:  # the points the learner ticked (pre-ticked from the suggestion)
        ans.confirmed = [p["id"] for p in ans.rubric
                         if st.session_state.get(f"iv:pt:{s['idx']}:{p['id']}", p["id"] in ans.suggested)]
    s["fu_queue"] = iv.followups_due(deck.by_id[ans.question_id], ans.text, lang)
    if s["fu_queue"]:
        _next_followup(s)
    else:
        _advance(s)


# ---- follow-ups and the coding round (issue 17) --------------------------------------------
def _coding_choice() -> str | None:
    if not st.session_state.get("iv:coding"):
        return None
    drill_id = st.session_state.get("iv:drill")
    return drill_id if drill_id in drill_registry.ids() else None


def _advance(s: dict) -> None:
    """The next card, else the coding round (when chosen), else the summary."""
    if s["idx"] + 1 < len(s["ids"]):
        s["idx"] += 1
        s["phase"] = "question"
        s["q_started"] = time.time()
    elif s.get("coding") and s.get("coding_result") is None:
        s["phase"] = "coding"
        s["q_started"] = time.time()
    else:
        s["phase"] = "summary"


def _next_followup(s: dict) -> None:
    ans = s["answers"][s["idx"]]
    ans.followups.append(iv.FollowupAnswer(s["fu_queue"].pop(0)))
    s["phase"] = "followup"
    s["q_started"] = time.time()


def _submit_followup() -> None:
    s = st.session_state[S]
    if s["phase"] != "followup":
        return
    fu = s["answers"][s["idx"]].followups[-1]
    key = f"iv:fu:{s['idx']}:{fu.index}"
    fu.text = str(st.session_state.get(key + ":text") or "")
    fu.confidence = st.session_state.get(key + ":conf")
    fu.seconds = round(min(time.time() - s["q_started"], float(s["seconds"])), 1)
    s["phase"] = "followup_review"


def _grade_followup(value: int) -> None:
    s = st.session_state[S]
    s["answers"][s["idx"]].followups[-1].self_grade = value
    if s["fu_queue"]:
        _next_followup(s)
    else:
        _advance(s)


def _submit_code(timed_out: bool = False) -> None:
    s = st.session_state[S]
    if s["phase"] != "coding":
        return
    code = str(st.session_state.get("iv:code") or "")[:20_000]
    elapsed = min(time.time() - s["q_started"], float(CODING_SECONDS))
    result = sandbox.check(s["coding"], code) if code.strip() else {"passed": False, "checks": []}
    s["coding_result"] = iv.coding_result(s["coding"], code, elapsed, timed_out, result)
    s["phase"] = "summary"


def _skip_code() -> None:
    s = st.session_state[S]
    s["coding_result"] = iv.CodingRound(s["coding"])
    s["phase"] = "summary"


def _finish_early() -> None:
    s = st.session_state[S]
    s["ids"] = s["ids"][: len(s["answers"])]
    s["phase"] = "summary" if s["answers"] else "setup"
    if not s["answers"]:
        st.session_state.pop(S, None)


def _new() -> None:
    st.session_state.pop(S, None)


# ---- setup --------------------------------------------------------------------------------
if sess is None:
    st.caption(t("intro"))
    topics = [tp for tp in TOPICS if any(c.topic == tp for c in deck.cards)]
    topic_names = {tp: TOPICS[tp][0 if lang == "zh" else 1] for tp in topics}
    diff_names = {d: t(f"diff_{d}") for d in (1, 2, 3)}
    with st.container(border=True):
        c1, c2 = st.columns(2)
        c1.number_input(t("n_questions"), 1, 30, 5, key="iv:n")
        c2.selectbox(t("seconds"), SECONDS, index=2, key="iv:secs", format_func=lambda s: mmss(s))
        st.multiselect(t("topics"), topics, key="iv:topics", format_func=topic_names.__getitem__,
                       placeholder=t("all_topics"))
        st.pills(t("difficulty"), [1, 2, 3], selection_mode="multi", key="iv:diff", format_func=diff_names.__getitem__)
        code_on, _why = sandbox.enabled(st.get_option("server.address"))
        if code_on:
            drills = {d.id: d.title[lang] for d in drill_registry.all_drills()}
            c3, c4 = st.columns(2)
            if c3.toggle(t("coding_toggle"), key="iv:coding"):
                c4.selectbox(t("coding_drill"), list(drills), key="iv:drill", format_func=drills.__getitem__)
        else:
            st.caption(t("coding_off"))
        st.button(t("start"), type="primary", on_click=_start, icon=":material/play_arrow:", key="iv:start")
    if st.session_state.pop("iv:empty", False):
        st.warning(t("no_questions"), icon=":material/warning:")
    history = store.interviews(me.id, limit=10)
    if history:
        st.subheader(t("history"))
        st.dataframe(
            [{t("col_date"): h.finished_at.astimezone().strftime("%Y-%m-%d %H:%M"),
              t("col_questions"): len(h.summary.get("rows", [])),
              t("col_mean"): f"{round(100 * h.summary.get('mean_score', 0))}%",
              t("col_weak"): ", ".join(TOPICS.get(w, (w, w))[0 if lang == "zh" else 1]
                                       for w in h.summary.get("weak_topics", []))}
             for h in history],
            hide_index=True, width="stretch")
    st.stop()

s = sess
n_total = len(s["ids"])

# ---- question -----------------------------------------------------------------------------
if s["phase"] == "question":
    idx = s["idx"]
    card = deck.by_id[s["ids"][idx]]
    st.progress(idx / n_total, text=t("progress", i=idx + 1, n=n_total))
    with st.container(border=True):
        st.markdown(f"### {card.question.get(lang)}")

    @st.fragment(run_every=1)
    def countdown() -> None:
        cur = st.session_state.get(S)
        if not cur or cur["phase"] != "question":
            return
        left = cur["seconds"] - (time.time() - cur["q_started"])
        if left <= 0:
            _submit(timed_out=True)
            st.rerun(scope="app")
        st.progress(max(0.0, left / cur["seconds"]), text=t("time_left", left=mmss(left)))

    countdown()
    by_names = {h: t(f"by_{h}") for h in ("type", "voice")}
    how = st.segmented_control(t("answer_by"), list(by_names), default="type", key=f"iv:how:{idx}",
                               format_func=by_names.__getitem__)
    if how == "voice":
        st.audio_input(t("record"), key=f"iv:audio:{idx}")
        st.caption(t("record_hint"))
        st.text_area(t("notes_optional"), key=f"iv:text:{idx}", max_chars=10_000, height=100)
    else:
        st.text_area(t("your_answer"), key=f"iv:text:{idx}", max_chars=10_000, height=200,
                     placeholder=t("answer_ph"))
    conf_names = {c: t(f"conf_{c}") for c in iv.CONFIDENCE}
    st.segmented_control(t("confidence"), list(iv.CONFIDENCE), key=f"iv:conf:{idx}", format_func=conf_names.__getitem__,
                         help=t("confidence_help"))
    c1, c2 = st.columns([1, 4])
    c1.button(t("submit"), type="primary", on_click=_submit, key="iv:submit", icon=":material/send:")
    c2.button(t("finish_early"), on_click=_finish_early, key="iv:finish", type="tertiary")

# ---- review of one answer -----------------------------------------------------------------
elif s["phase"] == "review":
    idx = s["idx"]
    ans: iv.Answer = s["answers"][idx]
    card = deck.by_id[ans.question_id]
    st.progress((idx + 1) / n_total, text=t("progress", i=idx + 1, n=n_total))
    st.markdown(f"### {card.question.get(lang)}")
    a1, a2 = shell.panels(2, key="review")
    with a1:
        st.markdown(f"**{t('your_answer')}** · {mmss(ans.seconds)}" + (f" · {t('timed_out')}" if ans.timed_out else ""))
        if ans.text.strip():
            st.text(ans.text)  # user text: shown as plain text, never as HTML / Markdown
        else:
            st.caption(t("no_text"))
        if idx in s["audio"]:
            st.audio(s["audio"][idx], format="audio/wav")
        pct = round(100 * ans.coverage)
        st.markdown(f"**{t('coverage', pct=pct)}**")
        st.progress(ans.coverage)
        st.markdown(t("hit") + " " + (" ".join(f":green-badge[{h}]" for h in ans.hit) or "—"))
        st.markdown(t("missed") + " " + (" ".join(f":red-badge[{m}]" for m in ans.missed) or "—"))
    with a2:
        st.markdown(f"**{t('reference')}**")
        with st.container(border=True, height=420):
            render_card(card, lang, key_prefix=f"iv-{idx}", show_question=False)
    confirmed_value = None
    if ans.rubric:  # issue 19: the suggestion pre-ticks; the learner's ticks set the grade
        with st.container(border=True):
            st.markdown(f"**{shell.t('flashcards.verdict_' + ans.verdict)}**")
            for m in ans.misconceptions:
                st.error(f"{shell.t('flashcards.misconception')} {shell.md_plain(m['claim'])}  \n"
                         f"{shell.md_plain(m['message'])}", icon=":material/report:")
            st.markdown(t("rubric_confirm"))
            ticks = [st.checkbox(shell.md_plain(p["text"]), value=p["id"] in ans.suggested, key=f"iv:pt:{idx}:{p['id']}")
                     for p in ans.rubric]
            kept = st.checkbox(t("mis_kept"), value=True, key=f"iv:mis:{idx}") if ans.misconceptions else False
            confirmed_value = grading.confirmed_rating(len(ticks), sum(ticks), kept)
            st.button(t("confirm_grade", rating=shell.t(f"flashcards.rate_{dict(GRADES)[confirmed_value]}")),
                      key="iv:confirm", on_click=_grade, args=(confirmed_value,), type="primary",
                      icon=":material/task_alt:")
    st.markdown(f"**{t('self_grade')}**")
    cols = st.columns(4)
    for col, (value, name) in zip(cols, GRADES, strict=True):
        col.button(shell.t(f"flashcards.rate_{name}"), key=f"iv:grade{value}", on_click=_grade, args=(value,),
                   shortcut=str(value), width="stretch")
    st.caption(t("grade_hint"))

# ---- a follow-up (追问): asked, then its own reveal and self-grade ---------------------------
elif s["phase"] in ("followup", "followup_review"):
    idx = s["idx"]
    ans = s["answers"][idx]
    card = deck.by_id[ans.question_id]
    fu = ans.followups[-1]
    item = card.followups[fu.index]
    n_fu = len(ans.followups) + len(s["fu_queue"])
    st.progress((idx + 1) / n_total, text=t("progress", i=idx + 1, n=n_total))
    st.caption(card.question.get(lang))
    with st.container(border=True):
        st.markdown(f"**{t('followup_title', i=len(ans.followups), n=n_fu)}**")
        st.caption(t("followup_why") if item.trigger is not None else t("followup_always"))
        st.markdown(f"### {item.question.get(lang)}")
    key = f"iv:fu:{idx}:{fu.index}"
    conf_names = {c: t(f"conf_{c}") for c in iv.CONFIDENCE}
    if s["phase"] == "followup":
        st.text_area(t("your_answer"), key=key + ":text", max_chars=10_000, height=160, placeholder=t("answer_ph"))
        st.segmented_control(t("confidence"), list(iv.CONFIDENCE), key=key + ":conf",
                             format_func=conf_names.__getitem__, help=t("confidence_help"))
        st.button(t("followup_submit"), type="primary", on_click=_submit_followup, key="iv:fu_submit",
                  icon=":material/send:")
    else:
        a1, a2 = shell.panels(2, key="followup")
        with a1:
            st.markdown(f"**{t('your_answer')}** · {mmss(fu.seconds)}"
                        + (f" · {conf_names[fu.confidence]}" if fu.confidence else ""))
            if fu.text.strip():
                st.text(fu.text)  # user text: plain, never Markdown
            else:
                st.caption(t("no_text"))
        with a2:
            st.markdown(f"**{t('followup_ref')}**")
            with st.container(border=True):
                st.markdown(item.answer.get(lang))
        st.markdown(f"**{t('self_grade')}**")
        cols = st.columns(4)
        for col, (value, name) in zip(cols, GRADES, strict=True):
            col.button(shell.t(f"flashcards.rate_{name}"), key=f"iv:fu_grade{value}", on_click=_grade_followup,
                       args=(value,), shortcut=str(value), width="stretch")
        st.caption(t("followup_grade_hint"))

# ---- the coding round: one drill, graded only by drills.sandbox.check ----------------------
elif s["phase"] == "coding":
    drill = drill_registry.get(s["coding"])
    st.subheader(t("coding_title", title=drill.title[lang]))

    @st.fragment(run_every=1)
    def code_countdown() -> None:
        cur = st.session_state.get(S)
        if not cur or cur["phase"] != "coding":
            return
        left = CODING_SECONDS - (time.time() - cur["q_started"])
        if left <= 0:
            _submit_code(timed_out=True)
            st.rerun(scope="app")
        st.progress(max(0.0, left / CODING_SECONDS), text=t("time_left", left=mmss(left)))

    code_countdown()
    left, right = shell.panels([1, 1.4], key="coding", gap="medium")
    with left:
        st.markdown(drill.statement[lang])
        st.code(drill.signature, language="python", wrap_lines=True)
    with right:
        if "iv:code" not in st.session_state:
            st.session_state["iv:code"] = drill.starter
        st.text_area("code", key="iv:code", height=420, max_chars=20_000, label_visibility="collapsed")
        c1, c2 = st.columns([2, 1])
        c1.button(t("coding_submit"), type="primary", on_click=_submit_code, key="iv:code_submit", icon=":material/send:")
        c2.button(t("coding_skip"), on_click=_skip_code, key="iv:code_skip", type="tertiary")

# ---- summary ------------------------------------------------------------------------------
else:
    answers: list[iv.Answer] = s["answers"]
    summary = iv.summarize(answers, deck.by_id, s.get("coding_result"))
    if not s.get("rescheduled") and summary.confident_wrong:
        with profile.saving(show=True):  # confident but wrong: rated Again, back in minutes (study/interview.py)
            scheduler = personal.scheduler_for(store, me.id)
            for qid in summary.confident_wrong:
                sched.rate(store, scheduler, me.id, qid, Rating.Again)
            s["rescheduled"] = True
    st.session_state.pop("iv:code", None)
    if s["saved"] is None:
        with profile.saving(show=True):  # refused (disk full, read-only): told, retried on the next run
            s["saved"] = store.save_interview(
                me.id, datetime.fromisoformat(s["started_at"]), datetime.now(UTC), s["config"], summary.to_dict(),
                [InterviewAnswer(i, a.question_id, a.text, s["audio"].get(i), a.seconds, a.coverage, a.self_grade)
                 for i, a in enumerate(answers)])
    st.subheader(t("summary"))
    m1, m2, m3 = st.columns(3)
    m1.metric(t("mean_score"), f"{round(100 * summary.mean_score)}%")
    m2.metric(t("total_time"), mmss(summary.total_seconds))
    m3.metric(t("answered"), f"{len(answers)}")
    grade_names = {v: shell.t(f"flashcards.rate_{n}") for v, n in GRADES}
    st.dataframe(
        [{"#": r["n"], t("col_question"): deck.by_id[r["question_id"]].question.get(lang),
          t("col_score"): f"{round(100 * r['score'])}%", t("col_coverage"): f"{round(100 * r['coverage'])}%",
          t("col_grade"): grade_names.get(r["self_grade"], "—"),
          t("col_points"): f"{r['points'][0]}/{r['points'][1]}" if r.get("points", [0, 0])[1] else "—",
          t("col_time"): mmss(r["seconds"]) + (" ⏱" if r["timed_out"] else ""),
          t("col_confidence"): (t(f"conf_{r['confidence']}") if r.get("confidence") else "—")
          + (" ⚠" if r["question_id"] in summary.confident_wrong else ""),   # confident but wrong
          t("col_followups"): len(r.get("followups", []))}
         for r in summary.rows],
        hide_index=True, width="stretch",
        column_config={t("col_question"): st.column_config.TextColumn(width="large")})
    with st.expander(t("rubric_title"), expanded=True, icon=":material/checklist:"):  # issue 19
        for i, a in enumerate(answers):
            if not a.rubric:
                continue
            mine = set(a.confirmed if a.confirmed is not None else a.suggested)
            st.markdown(f"**{i + 1}. {deck.by_id[a.question_id].question.get(lang)}** · "
                        f"{shell.t('flashcards.verdict_' + a.verdict).split(' —')[0].split(' ——')[0]}")
            st.markdown("\n".join(f"- {':material/check_box:' if p['id'] in mine else ':material/check_box_outline_blank:'} {shell.md_plain(p['text'])}" for p in a.rubric))
            for m in a.misconceptions:
                st.markdown(f":red[{shell.t('flashcards.misconception')} {shell.md_plain(m['claim'])}] — "
                            f"{shell.md_plain(m['message'])}")
    if summary.confident_wrong:
        st.error(t("conf_wrong_summary") + "\n\n" + "\n".join(
            f"- {shell.md_plain(deck.by_id[q].question.get(lang))}" for q in summary.confident_wrong),
            icon=":material/priority_high:")
    if summary.coding:
        c = summary.coding
        if c.get("passed") is None:
            st.info(t("coding_none"), icon=":material/code:")
        elif c["passed"]:
            st.success(t("coding_passed", ok=c["checks_passed"], n=c["checks"]), icon=":material/code:")
        else:
            st.error(t("coding_failed", ok=c["checks_passed"], n=c["checks"]), icon=":material/code:")
    weak = [TOPICS.get(w, (w, w))[0 if lang == "zh" else 1] for w in summary.weak_topics]
    if weak:
        st.warning(t("weak", topics=", ".join(weak)), icon=":material/trending_down:")
    else:
        st.success(t("no_weak"), icon=":material/thumb_up:")
    if summary.suggested:
        st.markdown(f"**{t('suggested')}**")
        for qid in summary.suggested:
            st.markdown(f"- {deck.by_id[qid].question.get(lang)}")
        st.page_link("pages/flashcards.py", label=t("drill"), icon=":material/style:",
                     query_params={"mode": "cram", "cards": ",".join(summary.suggested), "lang": lang})
    md = iv.to_markdown(summary, answers, deck.by_id, lang, when=datetime.now().astimezone())
    c1, c2 = st.columns([1, 3])
    c1.download_button(t("export_md"), data=md.encode("utf-8"), file_name="mock-interview.md",
                       mime="text/markdown", icon=":material/download:", key="iv:md", on_click="ignore")
    c2.button(t("new"), on_click=_new, icon=":material/replay:", key="iv:new")
    with st.expander(t("details")):
        for i, a in enumerate(answers):
            st.markdown(f"**{i + 1}. {deck.by_id[a.question_id].question.get(lang)}**")
            st.text(a.text or "—")
            if i in s["audio"]:
                st.audio(s["audio"][i], format="audio/wav")
