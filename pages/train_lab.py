from ui import shell

shell.page("train_lab")
import streamlit as st

st.info(shell.t("coming_soon"))
