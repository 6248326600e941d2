from ui import shell

shell.page("kv_cache")
import streamlit as st

st.info(shell.t("common.coming_soon"))
