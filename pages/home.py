from ui import shell

shell.page("home")
import streamlit as st

st.info(shell.t("coming_soon"))
