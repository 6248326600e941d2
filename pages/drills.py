from ui import shell

shell.page("drills")
import streamlit as st

st.info(shell.t("common.coming_soon"))
