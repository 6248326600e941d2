from ui import shell

shell.page("sampling")
import streamlit as st

st.info(shell.t("common.coming_soon"))
