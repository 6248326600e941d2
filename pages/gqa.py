from ui import shell

shell.page("gqa")
import streamlit as st

st.info(shell.t("common.coming_soon"))
