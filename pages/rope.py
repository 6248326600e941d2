from ui import shell

shell.page("rope")
import streamlit as st

st.info(shell.t("common.coming_soon"))
