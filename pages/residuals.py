from ui import shell

shell.page("residuals")
import streamlit as st

st.info(shell.t("coming_soon"))
