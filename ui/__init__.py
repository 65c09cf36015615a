"""Serving newsrag: the command line, the HTTP API and the Gradio chat."""
