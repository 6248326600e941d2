from ui import shell

shell.page("ffn_cost")
import streamlit as st

st.info(shell.t("coming_soon"))
