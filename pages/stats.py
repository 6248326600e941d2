from ui import shell

shell.page("stats")
import streamlit as st

st.info(shell.t("coming_soon"))
