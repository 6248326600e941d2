from ui import shell

shell.page("bank")
import streamlit as st

st.info(shell.t("coming_soon"))
