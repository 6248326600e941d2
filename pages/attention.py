from ui import shell

shell.page("attention")
import streamlit as st

st.info(shell.t("coming_soon"))
