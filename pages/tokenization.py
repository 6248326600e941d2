from ui import shell

shell.page("tokenization")
import streamlit as st

st.info(shell.t("coming_soon"))
