from ui import shell

shell.page("interview")
import streamlit as st

st.info(shell.t("coming_soon"))
