"""Interactive surfaces over the engine: the HTTP API and the Streamlit web app."""
