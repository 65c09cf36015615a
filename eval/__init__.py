"""Evaluation: gold sets, the MultiHop-RAG runner, metrics and reports."""
