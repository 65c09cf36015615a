"""The direct answer line: the entity or figure a question asks for, when the evidence says it.

"Who ...?" and "Which company ...?" get the name the evidence agrees on ("**Sam Bankman-Fried** —
named in 3 cited sentences from Fortune and TechCrunch [1][2][3]"); "How many X ...?" gets each
figure of X with its citation ("**25 drones** [1]"), every one of them when outlets differ; "Which
outlet ...?" gets the outlet of the best sentence. Yes/no and open questions get none: no guessed
verdict. No line rather than a wrong one: a name must be of the type asked for, named in several
evidence sentences, and weigh clearly more than any rival (``Tuning.name_ahead``; less when several
articles and every outlet the question names say it); its line cites the sentences that name it.

Names are read from the facts stored at ingest, completed by how each article names its people
(``index.language.name_index``): news writes "Sam Bankman-Fried" once and "Bankman-Fried" after, and
the recognizer types the surname alone as it likes; the article's own usage decides, and the name is
shown in the full form the articles introduce it by.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from index.figures import Figure
from index.language import Mention
from index.names import clean_name as _clean
from index.names import expansion, is_short_form, name_words, surname, word_key, word_keys
from index.names import initials_form as _initials
from index.text import STOPWORDS
from rag.evidence import Candidate
from rag.line_model import LEAD_CAP, VETO, LineModel
from rag.measures import first_measured, when
from rag.outlets import outlet_mentions
from rag.question import DATE, NUMBER, ORGANISATION, OUTLET, PERSON, PLACE, Question
from rag.tuning import Tuning
from rag.types import Direct

DEFAULT_TUNING = Tuning()  # for callers that answer with the shipped values

# Entity types that can answer each answer type.
LABELS = {PERSON: {"PERSON"}, ORGANISATION: {"ORG", "PRODUCT"}, PLACE: {"GPE", "LOC", "FAC"}}
_CAPITALISED = re.compile(r"\b[A-Z][\w’'-]*[\w]")


@dataclass
class NameChoice:
    """The name the evidence agrees on and the evidence sentences naming it, strongest first."""

    name: str
    kind: str
    sentences: list[Candidate] = field(default_factory=list)
    more: tuple[NameChoice, ...] = ()  # the further names a question asking for several gets
    short: str | None = None  # a short form the evidence also names it by ("RA" for "Rugby Australia")


def labels_for(question: Question) -> set[str] | None:
    if question.answer_type in LABELS:
        return LABELS[question.answer_type]
    if question.asks_entity:
        return LABELS[PERSON] | LABELS[ORGANISATION]
    return None


def choose_name(question: Question, cited: Sequence[Candidate], pool: Sequence[Candidate],
                outlets: Sequence[str] = (), names_of: Callable[[str], dict] | None = None, *,
                tuning: Tuning, model: LineModel | None = None) -> NameChoice | None:
    """The name asked for: every name of the cited and best evidence sentences (``Tuning.name_pool``),
    grouped (one person under full name and surname alone), weighted by the scores of the sentences
    naming it (a cited one ``Tuning.cited_weight`` times). It is shown when at least
    ``Tuning.name_min_sentences`` sentences name it and it weighs ``Tuning.name_ahead`` times as much
    as the next name (``Tuning.name_ahead_corroborated`` when corroborated). With ``model``
    (``rag.line_model``, as ``Tuning.line_model`` says): the model may withhold such a name (a
    probability under ``Tuning.line_probability``) and show one it gives at least
    ``Tuning.line_alone_probability``."""
    found = line_candidate(question, cited, pool, outlets, names_of, tuning=tuning)
    if found is None or isinstance(found, NameChoice):
        return found  # nothing, or several names
    choice, features, ahead = found
    if model is None:
        return choice if ahead else None
    probability = model.probability(features)
    if tuning.line_model == VETO:  # the ratio proposes and the model may withhold; a name the model
        # is sure of stands without the ratio
        return choice if ahead and probability >= tuning.line_probability \
            or probability >= tuning.line_alone_probability else None
    return choice if probability >= tuning.line_probability else None


def line_candidate(question: Question, cited: Sequence[Candidate], pool: Sequence[Candidate],
                   outlets: Sequence[str] = (), names_of: Callable[[str], dict] | None = None, *,
                   tuning: Tuning) -> NameChoice | tuple[NameChoice, tuple[float, ...], bool] | None:
    """``choose_name`` before its last test: ``None`` (no name of the type asked, or too few sentences
    naming the best), the names of a question asking for several, or the best name with its
    features (``rag.line_model.FEATURES``) and whether it is ``Tuning.name_ahead`` ahead of the next
    (what ``eval.train_line`` learns from)."""
    labels = labels_for(question)
    if labels is None:
        return None
    names_of = names_of or (lambda _: {})
    asked = _asked(question.text, outlets)
    outlet_names = [k for k in (word_keys(_outlet_name(o)) for o in outlets) if k]
    cited_ids = {id(c) for c in cited}
    sentences = list({id(c): c for c in [*cited, *sorted(pool, key=lambda c: -c.score)[:tuning.name_pool]]}.values())
    groups: list[dict] = []
    for candidate in sentences:
        for written in name_mentions(candidate, names_of):
            full = linked(written, candidate, names_of)
            mention = replace(written, text=full) if full else written  # "Fed": the Federal Reserve
            keys = word_keys(mention.text)
            # (a linked full form is the question's own name when the question names all of it: "RA" is
            # no name of a question about "Super Rugby", "Rugby Australia" may be)
            if not keys or (keys <= asked if full else keys & asked) or word_keys(written.text) & asked \
                    or any(keys <= o for o in outlet_names) \
                    or not written.text[:1].isupper() and not written.text[:1].isdigit():
                continue  # the question's own names, the outlets, and lower-case misreadings are not answers
            group = next((g for g in groups if _same(g, mention, keys)), None)
            if group is None:
                group = {"keys": set(), "labels": [], "forms": [], "sentences": {}, "surnames": set(),
                         "shorts": set(), "linked": {}}
                groups.append(group)
            group["keys"] |= keys
            group["labels"].append(mention.label)
            group["forms"].append(mention.text)
            group["surnames"].add(surname(mention.text))
            if full:
                group["shorts"].add(_clean(written.text))
                group["linked"][full] = group["linked"].get(full, 0) + 1
            weight = max(candidate.score, 0.0) * (tuning.cited_weight if id(candidate) in cited_ids else 1.0)
            group["sentences"][id(candidate)] = (candidate, weight)
    for group in groups:
        _type(group, names_of)
    groups = _merge_initials(groups)
    kept = sorted((g for g in groups if _of_type(g["typed"], labels)), key=_strength, reverse=True)
    if not kept:
        return None
    kind = question.answer_type if question.answer_type in LABELS else "entity"
    # several people or organisations (places are not listed: the recognizer types demonyms such as
    # "Ukrainian" as places, and a list would carry them)
    several = (_several(question, kept, tuning, names_of=names_of, kind=kind)
               if question.plural and kind in {PERSON, ORGANISATION, "entity"} else None)
    if several is not None:
        return several
    best = kept[0]
    rival = _strength(kept[1]) if len(kept) > 1 else 0.0
    corroborated = _corroborated(best, question.outlets, articles=tuning.corroborating_articles)
    ahead = tuning.name_ahead_corroborated if corroborated else tuning.name_ahead
    if len(best["sentences"]) < tuning.name_min_sentences:
        return None
    choice = _choice(best, kind, tuning)
    strength = _strength(best)
    total = sum(_strength(g) for g in kept) or 1.0
    typed = best["typed"]
    top = max(sentences, key=lambda c: c.score)
    features = (
        min(LEAD_CAP, math.log(strength / rival)) if rival > 0 and strength > 0 else LEAD_CAP,
        float(len(best["sentences"])),
        float(sum(1 for key in best["sentences"] if key in cited_ids)),
        float(len({a for c, _ in best["sentences"].values() for a in c.article_ids})),
        float(corroborated),
        sum(n for label, n in typed.items() if label in labels) / (sum(typed.values()) or 1),
        float(id(top) in best["sentences"]),
        max(w for _, w in best["sentences"].values()),
        float(len(name_words(choice.name))),
        float(kind == PERSON),
        strength / total,
        math.log1p(len(kept)),
    )
    return choice, features, strength >= ahead * rival


def _choice(group: dict, kind: str, tuning: Tuning) -> NameChoice:
    naming = [c for c, _ in sorted(group["sentences"].values(), key=lambda cw: -cw[1])]
    linked = group.get("linked")
    if linked and kind != PERSON:  # the full form its short one stands for, as its articles introduce it
        shown = max(linked, key=lambda f: (linked[f], len(f)))
    else:
        shown = _clean(_display(group, tuning.frequent_form))
    if len(name_words(shown)) == 1 or _initials(shown):  # a short form: the full one its articles write
        shown = expansion(shown, group.get("article_forms", {})) or shown
    forms = {_clean(f) for f in [*group["forms"], *group.get("shorts", ())]}
    short = [] if kind == PERSON else sorted(f for f in forms if f != shown and len(f) < len(shown)
                                             and is_short_form(f) and expansion(f, {shown: 1}) == shown)
    return NameChoice(name=shown, kind=kind, sentences=naming, short=short[0] if short else None)


def _several(question: Question, kept: list[dict], tuning: Tuning, *, names_of, kind: str) -> NameChoice | None:
    """The names a question asking for several gets ("Which two startups ...?"): those one evidence
    sentence lists together (the weightiest sentence naming at least two of them, or as many as the
    question asks for), each shown in full with every sentence naming it, at most
    ``Tuning.several_max``. News lists the parties of a deal or the winners of a round in one
    sentence; names gathered from different sentences answer different questions. ``None`` when
    no sentence lists enough: the question is then answered as asking for one."""
    # each named as the asked type in the evidence itself ("Ukrainian" shares the key of "Ukraine"
    # in the articles' names, but is no place)
    kept = [g for g in kept if set(g["labels"]) & LABELS.get(kind, LABELS[PERSON] | LABELS[ORGANISATION])]
    listing: dict[int, tuple[Candidate, float, list[dict]]] = {}
    for group in kept:
        for key, (candidate, weight) in group["sentences"].items():
            listing.setdefault(key, (candidate, weight, []))[2].append(group)
    need = question.asked_count or 2
    best = max((entry for entry in listing.values() if len(entry[2]) >= need), key=lambda e: e[1], default=None)
    if best is None:
        return None
    candidate, _, groups = best
    wanted = question.asked_count or tuning.several_max
    chosen: list[NameChoice] = []
    for group in sorted(groups, key=_strength, reverse=True)[:wanted]:
        choice = _choice(group, kind, tuning)
        if all(choice.name != c.name for c in chosen):  # two groups the articles name alike are one
            chosen.append(choice)
    if len(chosen) < need:
        return None
    first = candidate.text.find  # in the order the listing sentence names them
    chosen.sort(key=lambda c: (first(c.name) if first(c.name) >= 0 else len(candidate.text)))
    return replace(chosen[0], more=tuple(chosen[1:]))


def _asked(text: str, outlets: Sequence[str]) -> frozenset[str]:
    """The word keys of the question's own words, outside the outlets it names: "Which country ...
    in headlines from 'Globes English | Israel Business Arena'?" does not name Israel."""
    for start, end, _ in sorted(outlet_mentions(text, outlets), reverse=True):
        text = text[:start] + " " + text[end:]
    return word_keys(text)


def _outlet_name(outlet: str) -> str:
    """An outlet's name without its tagline: "Globes English" for "Globes English | Israel Business
    Arena"."""
    return outlet.split(" | ")[0]


def _corroborated(group: dict, outlets: Sequence[str], *, articles: int) -> bool:
    """Named in evidence from ``articles`` articles or more, and from every outlet the question names."""
    sentences = [c for c, _ in group["sentences"].values()]
    naming = {a for c in sentences for a in c.article_ids}
    return len(naming) >= articles and all(any(c.from_outlet(o) for c in sentences) for o in outlets)


def direct_answer(question: Question, cited: Sequence[tuple[int, Candidate]], choice: NameChoice | None = None,
                  *, tuning: Tuning = DEFAULT_TUNING) -> Direct | None:
    """The direct answer for ``question`` from its numbered citations, or ``None``."""
    if not cited:
        return None
    if question.answer_type == OUTLET:
        return _outlets(cited, every=question.plural)
    if question.answer_type == DATE:
        # each date the cited reports tie to the question; reports that differ ("Saturday" in reports
        # of different days) are each given, like figures, never one of them alone
        found: dict[str, list[tuple[int, str]]] = {}
        for n, shown, said in when(cited, question, max_path=tuning.measure_path):
            found.setdefault(shown, []).append((n, said))
        if not found:
            return None
        details = [f"“{said}” in a report of {_report_day(cited, n)}"
                   for dated in found.values() for n, said in dated[:1] if said]
        return Direct(kind=DATE, values=tuple((shown, tuple(n for n, _ in dated)) for shown, dated in found.items()),
                      detail="; ".join(details))
    if question.answer_type == NUMBER:
        # a figure for "shot down over the Ryazan region" comes from a sentence about that place
        places = [n for n in question.names if n.place]
        return _figures(question, [(n, c) for n, c in cited if all(p.found_in(c.keys) for p in places)],
                        tuning.measure_path)
    if choice is None:
        return None
    if choice.more:  # several names, each with the citations naming it
        values = [(c.name, tuple(sorted(n for n, cand in cited if any(cand is s for s in c.sentences))))
                  for c in (choice, *choice.more)]
        values = [(name, ns) for name, ns in values if ns]
        return Direct(kind=choice.kind, values=tuple(values), several=True) if len(values) > 1 else None
    numbers = tuple(sorted(n for n, c in cited if any(c is s for s in choice.sentences)))
    if not numbers:
        return None
    sources = sorted({s for n, c in cited if n in numbers for s in c.sources})
    detail = f"named in {len(numbers)} cited sentence{'s' if len(numbers) != 1 else ''}"
    if sources:
        detail += " from " + (" and ".join(sources) if len(sources) <= 2 else
                              ", ".join(sources[:-1]) + " and " + sources[-1])
    return Direct(kind=choice.kind, values=((choice.name, numbers),), detail=detail, short=choice.short)


def _report_day(cited: Sequence[tuple[int, Candidate]], n: int) -> str:
    candidate = next(c for m, c in cited if m == n)
    return candidate.day.isoformat() if candidate.day else "no date"


def _outlets(cited: Sequence[tuple[int, Candidate]], *, every: bool) -> Direct | None:
    """"Which outlet ...?": the outlet of the best sentence. "Which outlets ...?": every outlet the
    cited sentences come from (a sentence carried by several articles counts for each), in the
    order they are first cited, each with its citations."""
    found: dict[str, list[int]] = {}
    for n, candidate in cited if every else cited[:1]:
        for outlet in candidate.sources:
            found.setdefault(outlet, []).append(n)
    if not found:
        return None
    return Direct(kind=OUTLET, values=tuple((outlet, tuple(ns)) for outlet, ns in found.items()))


def _figures(question: Question, cited: Sequence[tuple[int, Candidate]], max_path: int) -> Direct | None:
    """Each figure the cited sentences give of what the question asks (``rag.measures``: counting
    its unit, or tied by the grammar to what it measures), one per sentence, each with its
    citations; figures that differ are each given."""
    values: dict[float, list[int]] = {}
    shown: dict[float, str] = {}
    for n, figure in first_measured(cited, question, max_path=max_path):
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


def name_mentions(candidate: Candidate, names_of: Callable[[str], dict]) -> list[Mention]:
    """The names of a sentence: what the recognizer found, plus capitalised words that its articles
    use as a name elsewhere ("Altman has been telling investors ..." after "Sam Altman" earlier)."""
    found = list(candidate.facts.names())
    known: dict[str, dict] = {}
    for article in candidate.articles:
        known.update(names_of(article))
    taken = [(m.start, m.end) for m in found]
    for match in _CAPITALISED.finditer(candidate.text):
        entry = known.get(surname(match.group()) or "")
        if not entry or any(s <= match.start() < e for s, e in taken):
            continue
        label = max(entry["l"], key=lambda lb: (lb == "PERSON", entry["l"][lb]))
        found.append(Mention(match.group(), label, match.start(), match.end()))
    return found


def linked(mention: Mention, candidate: Candidate, names_of: Callable[[str], dict]) -> str | None:
    """The full form a short one stands for ("Federal Reserve" for "Fed"), by the links made at
    ingest (``index.language.name_links``): its own article's first, then the library's
    (``names_of.links``); ``None`` for a person, a full form, or a short form nothing links."""
    short = _clean(mention.text)
    if mention.label == "PERSON" or not is_short_form(short):
        return None
    key = surname(short) or ""
    for article in candidate.articles:
        full = names_of(article).get(key, {}).get("a", {}).get(short)
        if full:
            return full
    return getattr(names_of, "links", {}).get(short)


def _same(group: dict, mention: Mention, keys: frozenset[str]) -> bool:
    """One name under several forms: "Sam Bankman-Fried" and "Bankman-Fried" (the same surname,
    whatever type the recognizer gave each), "Caesars Sportsbook" and "Caesars" (one form's words
    inside the other's)."""
    if surname(mention.text) in group["surnames"]:
        single = len(mention.text.split()) == 1 or all(len(f.split()) == 1 for f in group["forms"])
        person = mention.label == "PERSON" and "PERSON" in group["labels"]
        if person or single and ("PERSON" in group["labels"] or mention.label == "PERSON"):
            return True  # "Bankman-Fried" for "Sam Bankman-Fried"; not "Bonus Bet" for "ESPN Bet"
    if _initials(mention.text) and any(_initials(mention.text) == _initials_of(f) for f in group["forms"]):
        return True  # "SBF" for "Sam Bankman-Fried"
    return keys <= group["keys"] or group["keys"] <= keys


def _merge_initials(groups: list[dict]) -> list[dict]:
    """A group named only by initials ("SBF") joins the group whose full form they abbreviate."""
    out = list(groups)
    for group in groups:
        short = {f for f in group["forms"] if _initials(f)}
        if not short or len(short) != len(set(group["forms"])):
            continue
        target = next((h for h in out if h is not group and any(
            _initials_of(f) in short for f in [*h["forms"], *h["known_forms"]])), None)
        if target is not None:
            target["sentences"].update(group["sentences"])
            target["forms"] += group["forms"]
            out.remove(group)
    return out


def _initials_of(name: str) -> str | None:
    words = re.split(r"[\s-]+", name.strip())
    return "".join(w[0] for w in words if w[:1].isupper()) if len(words) > 1 else None


def _type(group: dict, names_of: Callable[[str], dict]) -> None:
    """The types and full forms a group's surname has in the articles naming it."""
    typed: dict[str, int] = {}
    forms: dict[str, int] = {}
    for candidate, _ in group["sentences"].values():
        for article in candidate.articles:
            index = names_of(article)
            for key in group["surnames"]:
                entry = index.get(key or "", {})
                for label, count in entry.get("l", {}).items():
                    typed[label] = typed.get(label, 0) + count
                for form, count in entry.get("f", {}).items():
                    forms[form] = forms.get(form, 0) + count
    typed = typed or {label: group["labels"].count(label) for label in group["labels"]}
    group["typed"] = typed
    group["known_forms"] = forms
    # every name its articles write (the forms of every key): where a short form's full one is found
    every: dict[str, int] = {}
    for article in dict.fromkeys(a for candidate, _ in group["sentences"].values() for a in candidate.articles):
        for entry in names_of(article).values():
            for form, count in entry.get("f", {}).items():
                every[form] = every.get(form, 0) + count
            for kind in ("p", "o"):
                if entry.get(kind):
                    every[entry[kind]] = every.get(entry[kind], 0) + 1
    group["article_forms"] = every
    # how the group's articles introduce it: the first full form of its main word, one vote each
    main = _main_key(group)
    intros: dict[str, dict[str, int]] = {"p": {}, "o": {}}
    for article in dict.fromkeys(a for candidate, _ in group["sentences"].values() for a in candidate.articles):
        entry = names_of(article).get(main or "", {})
        for kind in ("p", "o"):
            if entry.get(kind):
                form = _clean(entry[kind])
                intros[kind][form] = intros[kind].get(form, 0) + 1
        # a short form is of the type of the name it shortens ("Alameda" of "Alameda Research": an
        # organisation, whatever the recognizer makes of the word alone), unless it is a person's
        if entry.get("ot") and "PERSON" not in entry.get("l", {}):
            typed[entry["ot"]] = typed.get(entry["ot"], 0) + sum(entry["l"].values())
    group["intros"] = intros


def _strength(group: dict) -> float:
    return sum(w for _, w in group["sentences"].values())


def _of_type(typed: dict[str, int], labels: set[str]) -> bool:
    """Whether a name can be of the type asked for: its articles call it so at least once (the
    recognizer types a surname alone as it likes; every plausible name competes, and the one shown
    must weigh ``Tuning.name_ahead`` times as much as any other)."""
    return any(typed.get(label, 0) for label in labels)


def _main_key(group: dict) -> str | None:
    """The key of the group's most frequent form: "trump" for "Trump" beside "Trump Park Avenue"."""
    forms = [f for f in group["forms"] if not _initials(f)] or group["forms"]  # "SBF" is no name to look up
    return surname(max(forms, key=lambda f: (forms.count(f), -len(f)))) if forms else None


def _display(group: dict, frequent: float) -> str:
    """How the articles name it in full. A person: the full form of the group's main name that its
    own sentences use and its articles introduce ("Sam Bankman-Fried"; "Donald Trump", not "Ivanka
    Trump", for a group of "Trump"). Anything else: the full form its articles introduce it by
    ("Alameda Research" for "Alameda"), or else its fullest frequent form ("Uber": named at least
    ``frequent`` times as often as its most frequent form)."""
    main = _main_key(group)
    if "PERSON" in group["typed"]:
        votes: dict[str, int] = dict(group["intros"]["p"])
        for form in group["forms"]:
            if len(form.split()) > 1 and surname(form) == main:
                votes[_clean(form)] = votes.get(_clean(form), 0) + 1
        if votes:
            return max(votes, key=lambda f: (votes[f], group["known_forms"].get(f, 0), len(f)))
        full = {f: n for f, n in group["known_forms"].items() if len(f.split()) > 1 and surname(f) == main}
        if full:
            return max(full, key=lambda f: (full[f], len(f)))
    else:
        intros = {f: n for f, n in group["intros"]["o"].items() if word_key((name_words(f) or [""])[0]) == main}
        if intros:
            return max(intros, key=lambda f: (intros[f], len(f)))
    known = {f: n for f, n in group["known_forms"].items() if word_keys(f) & group["keys"]
             and f.split()[0].lower() not in STOPWORDS}
    if known:  # the fullest of the frequent forms ("Alameda Research", not "Alameda"; "Uber")
        top = max(known.values())
        return max((f for f, n in known.items() if n >= frequent * top), key=lambda f: (len(f.split()), known[f]))
    return max(group["forms"], key=lambda f: (len(f.split()), len(f)))
