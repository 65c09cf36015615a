"""The direct answer line: the entity or figure a question asks for, when the cited evidence says it.

"Who ...?" and "Which company ...?" get the name that the cited sentences agree on ("**Sam
Bankman-Fried** — named in 3 cited sentences from Fortune and TechCrunch [1][2][3]"); "How many
X ...?" gets each figure of X with its citation ("**25** drones [1]"), every one of them when
outlets differ; "Which outlet ...?" gets the outlet of the best sentence. Yes/no and open questions
get none: no guessed verdict. No line rather than a wrong one: a name must be named in a cited
sentence and in at least one more, and weigh clearly more than any rival.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from index.language import Figure, Mention, counts, name_words, word_key, word_keys
from rag.evidence import Candidate
from rag.question import NUMBER, ORGANISATION, OUTLET, PERSON, PLACE, Question
from rag.types import Direct

# Entity types that can answer each answer type.
LABELS = {PERSON: {"PERSON"}, ORGANISATION: {"ORG", "PRODUCT"}, PLACE: {"GPE", "LOC", "FAC"}}
AHEAD = 2.0  # the name shown must be named at least this many times as often as the next one


def direct_answer(question: Question, cited: Sequence[tuple[int, Candidate]], outlets: Sequence[str] = (),
                  pool: Sequence[Candidate] = ()) -> Direct | None:
    """The direct answer for ``question`` from its numbered citations, or ``None``."""
    if not cited:
        return None
    if question.answer_type == OUTLET:
        n, best = cited[0]
        return Direct(kind=OUTLET, values=((best.location.source, (n,)),)) if best.location.source else None
    if question.answer_type == NUMBER and question.unit:
        return _figures(question.unit, cited)
    labels = LABELS.get(question.answer_type) or (LABELS[PERSON] | LABELS[ORGANISATION]
                                                 if question.asks_entity else None)
    if labels is None:
        return None
    return _names(question, cited, labels, outlets, pool)


def _figures(unit: str, cited: Sequence[tuple[int, Candidate]]) -> Direct | None:
    values: dict[float, list[int]] = {}
    shown: dict[float, str] = {}
    for n, candidate in cited:
        found = [f for f in counts(candidate.text, unit)]
        totals = [f for f in found if not f.part] or found
        for figure in totals[:1]:
            values.setdefault(figure.value, []).append(n)
            shown.setdefault(figure.value, _label(figure))
    if not values:
        return None
    return Direct(kind=NUMBER, values=tuple((shown[v], tuple(ns)) for v, ns in values.items()))


def _label(figure: Figure) -> str:
    """"25 drones" for "25 of these drones"; the phrase itself otherwise."""
    words = figure.phrase.split()
    if figure.part and len(words) > 2:
        rest = [w for w in words[1:] if w.lower() not in {"of", "out", "these", "those", "the", "them"}]
        return " ".join([words[0], *rest])
    return figure.phrase


POOL = 15  # the best evidence sentences a name is counted in, cited or not
CITED_WEIGHT = 1.5  # a cited sentence counts this much more than one only in the evidence


def _names(question: Question, cited: Sequence[tuple[int, Candidate]], labels: set[str],
           outlets: Sequence[str], pool: Sequence[Candidate]) -> Direct | None:
    """The name the evidence agrees on: every name of the best evidence sentences, grouped (one
    person under their full name and surname alone), weighted by the scores of the sentences naming
    it; shown when it is of the type asked for, named in a cited sentence and in at least two
    sentences, and at least ``AHEAD`` times as strong as the next name."""
    asked = word_keys(question.text) | {k for o in outlets for k in word_keys(o)}
    number = {id(c): n for n, c in cited}
    best_pool = sorted(pool, key=lambda c: -c.score)[:POOL]
    sentences = list({id(c): c for c in [c for _, c in cited] + best_pool}.values())
    groups: list[dict] = []
    for candidate in sentences:
        for mention in candidate.facts.names():
            keys = _keys(mention)
            if not keys or keys & asked:
                continue  # the question's own names and the outlets are not answers
            group = next((g for g in groups if _same(g, mention, keys)), None)
            if group is None:
                group = {"keys": set(keys), "labels": [], "forms": [], "sentences": {}, "surnames": set()}
                groups.append(group)
            group["keys"] |= keys
            group["labels"].append(mention.label)
            group["forms"].append(mention.text)
            group["surnames"].add(_surname(mention.text))
            weight = max(candidate.score, 0.0) * (CITED_WEIGHT if id(candidate) in number else 1.0)
            group["sentences"][id(candidate)] = weight
    # the recognizer types one name differently from sentence to sentence ("Bankman-Fried" ORG here,
    # "Sam Bankman-Fried" PERSON there): a group takes every type its forms get in the evidence
    for candidate in pool:
        for mention in candidate.facts.names():
            for group in groups:
                if _surname(mention.text) in group["surnames"] or _keys(mention) == group["keys"]:
                    group["labels"].append(mention.label)
                    if mention.label == "PERSON":
                        group["forms"].append(mention.text)
    kept = [g for g in groups if labels & set(g["labels"])]
    if not kept:
        return None
    kept.sort(key=lambda g: -sum(g["sentences"].values()))
    best = kept[0]
    strength = sum(best["sentences"].values())
    rival = max((sum(g["sentences"].values()) for g in kept[1:]), default=0.0)
    cites = sorted(number[i] for i in best["sentences"] if i in number)
    if not cites or len(best["sentences"]) < 2 or strength < AHEAD * rival:
        return None
    name = max(best["forms"], key=lambda f: (len(f.split()), len(f)))
    sources = sorted({s for n, c in cited if n in cites for s in c.sources})
    count = len(cites)
    detail = f"named in {count} cited sentence{'s' if count != 1 else ''}"
    if sources:
        detail += " from " + (" and ".join(sources) if len(sources) <= 2 else ", ".join(sources[:-1])
                              + " and " + sources[-1])
    return Direct(kind=question.answer_type if question.answer_type in LABELS else "entity",
                  values=((_clean(name), tuple(cites)),), detail=detail)


def _clean(name: str) -> str:
    """"Sam Altman’s" -> "Sam Altman"; "the All Blacks" -> "All Blacks"."""
    name = re.sub(r"['’]s?$", "", name.strip())
    return re.sub(r"^(the|The)\s+", "", name)


def _keys(mention: Mention) -> set[str]:
    return word_keys(mention.text)


def _surname(text: str) -> str | None:
    words = name_words(text)
    return word_key(words[-1]) if words else None


def _same(group: dict, mention: Mention, keys: set[str]) -> bool:
    """One name under several forms: "Sam Bankman-Fried" and "Bankman-Fried" (the same surname,
    whatever type the recognizer gave each), "Caesars Sportsbook" and "Caesars" (one form's words
    inside the other's)."""
    if _surname(mention.text) in group["surnames"] and ("PERSON" in group["labels"] or mention.label == "PERSON"):
        return True
    return keys <= group["keys"] or group["keys"] <= keys
