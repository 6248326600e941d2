from ui import shell

shell.page("masks")
import streamlit as st

st.info(shell.t("coming_soon"))
