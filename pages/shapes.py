from ui import shell

shell.page("shapes")
import streamlit as st

st.info(shell.t("coming_soon"))
