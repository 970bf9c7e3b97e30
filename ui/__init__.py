"""Small Streamlit helpers shared by the pages: the lake handle, cached reads, charts, messages."""
