from ui import shell

shell.page("lessons")
import streamlit as st

st.info(shell.t("coming_soon"))
