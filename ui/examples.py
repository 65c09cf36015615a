"""Example questions drawn from what the library holds: the subjects of its newest stories.

A subject is the name an article mentions most (a person, an organisation, a place: the name index
stored with each article at ingest, ``index.language.name_index``), by its full form; the newest
articles come first, each subject once. Then a question about the library itself. Nothing here
reads article text or loads a model: a page load costs a look at the catalog.
"""

from __future__ import annotations

import json

from index.library import Library
from index.store import ArticleRecord

COUNT = 3
SUBJECTS = frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW"})  # spaCy labels
LIBRARY_QUESTION = "Which outlets are in the library?"


def subject(record: ArticleRecord) -> str | None:
    """The name ``record`` mentions most, in the full form it introduces it by; None without one."""
    try:
        names = json.loads(record.names or "{}")
    except ValueError:
        return None
    best, most = None, 0
    for entry in names.values():
        labels = entry.get("l") or {}
        if max(labels, key=labels.get, default=None) not in SUBJECTS:
            continue  # "Ukrainian" (a nationality) or a date is no subject
        forms = entry.get("f") or {}
        mentions = sum(forms.values())
        full = entry.get("p") or entry.get("o") or max(forms, key=lambda f: (forms[f], len(f)), default=None)
        if full and mentions > most:
            best, most = full, mentions
    return best


def library_examples(library: Library, *, count: int = COUNT) -> list[str]:
    """Questions about the newest stories' subjects, then one about the library; [] when it is empty."""
    newest = library.listing().orders["newest"]
    questions: list[str] = []
    seen: set[str] = set()
    for record in newest[:50]:
        if len(questions) == count - 1:
            break
        name = subject(record)
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            name = "the" + name[3:] if name.startswith("The ") else name
            questions.append(f"What do the articles say about {name}?")
    return [*questions, LIBRARY_QUESTION] if newest else []


def examples(library: Library, configured: tuple[str, ...]) -> list[str]:
    """``NEWSRAG_EXAMPLES`` when set, else questions drawn from the library."""
    return list(configured) if configured else library_examples(library)
