from ui import shell

shell.page("bug_hunt")
import streamlit as st

st.info(shell.t("common.coming_soon"))
