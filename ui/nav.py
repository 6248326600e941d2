"""The page registry: one entry per page; app.py builds st.navigation from it.

Each page's URL path equals its file stem in pages/, so that the page has the same identity
whether Streamlit routes it through st.navigation or through its legacy pages/ discovery.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    id: str          # url path and file stem (pages/<id>.py); demo pages use their demo id
    section: str     # i18n key suffix of the sidebar section
    icon: str
    default: bool = False

    @property
    def path(self) -> str:
        return f"pages/{self.id}.py"


PAGES: tuple[PageSpec, ...] = (
    PageSpec("home", "section_home", ":material/home:", default=True),
    PageSpec("bank", "section_study", ":material/quiz:"),
    PageSpec("flashcards", "section_study", ":material/style:"),
    PageSpec("interview", "section_study", ":material/record_voice_over:"),
    PageSpec("stats", "section_study", ":material/monitoring:"),
    PageSpec("drills", "section_study", ":material/code:"),
    PageSpec("positional_encoding", "section_demos", ":material/waves:"),
    PageSpec("attention", "section_demos", ":material/grid_on:"),
    PageSpec("masks", "section_demos", ":material/visibility_off:"),
    PageSpec("norms", "section_demos", ":material/view_in_ar:"),
    PageSpec("residuals", "section_demos", ":material/trending_down:"),
    PageSpec("ffn_cost", "section_demos", ":material/speed:"),
    PageSpec("training_details", "section_demos", ":material/tune:"),
    PageSpec("tokenization", "section_demos", ":material/content_cut:"),
    PageSpec("shapes", "section_demos", ":material/data_array:"),
    PageSpec("train_lab", "section_lab", ":material/model_training:"),
    PageSpec("generation", "section_lab", ":material/auto_awesome:"),
    PageSpec("kv_cache", "section_llm", ":material/memory:"),
    PageSpec("rope", "section_llm", ":material/rotate_right:"),
    PageSpec("gqa", "section_llm", ":material/call_split:"),
    PageSpec("sampling", "section_llm", ":material/casino:"),
    PageSpec("bug_hunt", "section_llm", ":material/bug_report:"),
    PageSpec("lessons", "section_teach", ":material/school:"),
)

PAGE_IDS = tuple(p.id for p in PAGES)
