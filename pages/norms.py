from ui import shell

shell.page("norms")
import streamlit as st

st.info(shell.t("coming_soon"))
