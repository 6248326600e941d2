"""Hand-write-it drills: statements, graders and the sandbox that runs learners' code (no Streamlit here)."""
