from ui import shell

shell.page("flashcards")
import streamlit as st

st.info(shell.t("coming_soon"))
