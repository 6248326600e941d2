from ui import shell

shell.page("positional_encoding")
import streamlit as st

st.info(shell.t("coming_soon"))
