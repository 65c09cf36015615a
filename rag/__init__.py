"""Answering: question -> hybrid retrieval -> answer with checked citations."""
