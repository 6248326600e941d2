from ui import shell

shell.page("training_details")
import streamlit as st

st.info(shell.t("coming_soon"))
