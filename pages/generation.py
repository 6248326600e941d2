from ui import shell

shell.page("generation")
import streamlit as st

st.info(shell.t("coming_soon"))
