"""Every weight and threshold of answering, in one frozen object.

``Tuning`` is built once at the entry point (``RagSettings.tuning``: the defaults below, a JSON file
named by ``NEWSRAG_TUNING`` or ``newsrag eval ... --tuning FILE``, then the single-value variables
``NEWSRAG_DENSE_WEIGHT``, ``NEWSRAG_RRF_K`` and ``NEWSRAG_REFUSAL_THRESHOLD``) and handed to each
stage of the answer (``rag/pipeline.py``). No stage keeps a tuned number of its own: to try another
value, write it in a file and run the evaluation with it, without editing code.

The fields are grouped by stage, in the order a question meets them: understand, retrieve, score,
gate, select, answer line, conflicts, verify. Each says what it does and how its value was chosen;
"dev slice" is the MultiHop-RAG dev subset (60 articles, 263 questions) measured with
``newsrag eval multihop``, and every number quoted was measured against the value before. The
fields ``eval.tune`` searches (``eval.tune.SPACE``) are chosen together by 5-fold cross-validation
over the questions of the MultiHop-RAG train split (549 articles, 1,642 questions): run it again to
reproduce them (the answer line's model: ``python -m eval.train_line``). Held-out figures of the
values shipped (mean ± sd over the folds, int8 encoder): inference answer line right 0.970 ± 0.010
(0.904 ± 0.030 without the most frequent answer), shown 0.708 ± 0.056, gold answer in the answer
0.853 ± 0.034; refusal recall 0.946 ± 0.018 with 1.4 % of answerable questions refused; citation
precision 0.426 ± 0.013, evidence coverage 0.808 ± 0.010.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from index.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class Tuning:
    # ------------------------------------------------------------------------------ understand
    followup_max_words: int = 8
    """A question of at most this many words that holds a pronoun ("And over Ryazan, did they ...?")
    is a follow-up, read against the conversation before it. Set by hand with the follow-ups of the
    sample gold set; not swept."""
    followup_bare_words: int = 3
    """A question of at most this many words is a follow-up whatever its words ("And Moscow?"). Set
    by hand with the sample gold set's follow-ups; not swept."""
    followup_turns: int = 2
    """A follow-up is widened with at most this many questions before it (back to the last one
    that was not itself a follow-up). Set by hand with the sample gold set; not swept."""

    # -------------------------------------------------------------------------------- retrieve
    dense_weight: float = 0.4
    """Share of the dense lists in the reciprocal-rank fusion (split evenly between the chunk list
    and the sentence list); BM25 gets the rest. 0.3 was the best of a sweep on the dev slice with
    the chunk list alone; raised to 0.4 when the sentence list joined (2026-11-23), so that each
    dense list keeps a fifth."""
    rrf_k: int = 10
    """The constant of reciprocal-rank fusion, ``weight / (rrf_k + rank)``: small, so the first
    places of each list weigh much more than the tenth. Chosen on the dev slice with
    ``dense_weight`` (10 against the textbook 60)."""
    claim_rrf_k: float = 1.0
    """The constant of the merge of the whole question's and each claim's rankings: small, so the
    first passage of every claim comes early. Set by hand with the multi-claim search
    (2026-11-23); not swept."""
    outlet_boost: float = 1.0
    """A claim's ranking scores a passage from an outlet the claim names ``1 + outlet_boost`` times
    as much (a soft boost, not a filter: a misread outlet never hides the evidence). Set by hand
    with the multi-claim search (2026-11-23); not swept."""
    date_boost: float = 1.0
    """The same for a passage of an article published on a day the claim names. Set by hand with
    ``outlet_boost``; not swept."""
    cover_per_source: int = 2
    """When none of the passages comes from an outlet the question names, this many of that
    outlet's best passages are added. Set by hand (2026-11-22); not swept."""
    further_reports: int = 2
    """The answerer also reads the first passage of this many further articles after the ``top_k``
    passages (within the next ``top_k``). Dev slice, alone: evidence coverage 0.801 -> 0.812,
    citation precision 0.370 -> 0.363; with ``multi_claim_floor`` 0.810 / 0.378. Five further
    articles within the next 3 k: 0.814 / 0.376, but inference containment 0.905 -> 0.869 and
    warm p50 +8 ms."""
    name_probe_k: int = 3
    """A name the question depends on that the evidence lacks is looked up on its own (BM25): this
    many passages mentioning it join the evidence. Set by hand (2026-11-22); not swept."""

    # ----------------------------------------------------------------------------------- score
    min_words: int = 4
    """A sentence of fewer words is no evidence (too short to state anything). Set by hand
    (2026-11-22); not swept."""
    semantic_weight: float = 0.45
    """Weight of meaning (the cosine of the sentence's and the question's vectors) in a sentence's
    score; ``lexical_weight`` weighs the words. Set by hand with the first extractive answerer
    (2026-11-22) and kept since. Chosen by ``eval.tune`` (5-fold cross-validation over the train split's
    1,642 questions, 2026-12-07): 0.45, was 0.55."""
    lexical_weight: float = 0.55
    """Weight of idf-weighted coverage of the question's words in a sentence's score. Set with
    ``semantic_weight`` (they add up to 1). 0.55 since ``eval.tune`` chose ``semantic_weight`` 0.45."""
    min_idf: float = 0.1
    """The least weight a question word has in the coverage, however common (BM25's idf of a word
    in most chunks is near 0). Set by hand (2026-11-22); not swept."""
    context_weight: float = 0.5
    """A follow-up's words weigh 1, the words of the questions it follows this much. Set by hand
    with the sample gold set's follow-ups; not swept."""
    asked_weight: float = 0.5
    """A widened follow-up is scored with the mean of the widened question's vector and its own:
    this is the share of its own. Set by hand with ``context_weight``; not swept."""
    previous_sentence: float = 0.5
    """A question word (or name) found only in the sentence before counts this much ("The
    statement described the attempt as ..."). Set by hand (2026-11-22); not swept."""
    names_floor: float = 0.8
    """The share of its score a sentence keeps when it covers none of the question's names; it keeps all
    of it when it covers every name, in proportion between. Set by hand (2026-11-23). Chosen by
    ``eval.tune`` (5-fold cross-validation over the train split's 1,642 questions, 2026-12-07): 0.8, was
    0.6."""
    already_said: float = 0.6
    """A follow-up asks for something new: a sentence the conversation already quoted scores this
    much of its score. Set by hand with the sample gold set's follow-ups; not swept."""
    same_story: float = 1.1
    """A follow-up's "it", "there" are the story the conversation is about: a sentence of an
    article the previous answer cited scores this much of its score. Set by hand with the sample
    gold set's follow-ups; not swept."""
    unfinished: float = 0.8
    """A line with no closing punctuation (a heading, a caption, a link) names a topic rather than
    stating something: its scores weigh this much. On the dev slice none of the 1,270 such lines among
    the evidence was a gold fact; with it citation precision 0.380 -> 0.387, evidence coverage 0.811 ->
    0.812. Kept by ``eval.tune`` (5-fold cross-validation over the train split's 1,642 questions,
    2026-12-07)."""
    source_match: float = 1.15
    """A claim's score of a sentence from the outlet (and of one published on the day) the claim
    names is multiplied by this. Set by hand with the multi-claim search (2026-11-23); not swept."""
    source_miss: float = 0.85
    """... and of a sentence from another outlet (or day), when the claim names one. Set with
    ``source_match``; not swept."""

    # ------------------------------------------------------------------------------------ gate
    refusal_threshold: float = 0.25
    """The answer is "not in the articles" when the best evidence sentence scores under this. Swept on
    the dev slice (0.150 -> 0.375) with the name gate on: at 0.200 one null question slips through;
    0.225 is the lowest value with full refusal recall on both the dev nulls and the sample set's
    unanswerable items (eval/README.md, "Refusal threshold"). Every share-of-the-best floor of
    ``select`` is also held at least this high. Chosen by ``eval.tune`` (5-fold cross-validation over
    the train split's 1,642 questions, 2026-12-07): 0.25, was 0.225."""

    measure_pool: int = 10
    """A "how many X" question whose evidence counts no X in its own words is refused only when none
    of this many best sentences holding a figure gives one the grammar ties to what is asked
    ("revenue of $12.94 billion"; ``rag.measures``): each is parsed. Set by hand with the
    plain-question set (2026-12-07); not swept."""
    measure_path: int = 3
    """A figure measures what a number question asks when the sentence's grammar ties it to one of
    the question's words within this many steps ("raised *$65 million*": one; "revenue of *$12.94
    billion*": two). Set by hand with the plain-question set's "how much" questions (4 let a
    company's head count answer for its funding); not swept."""

    # ---------------------------------------------------------------------------------- select
    relative_floor: float = 0.9
    """The floor of the sentences an answer may take, as a share of the best sentence's weight
    (``relative_floor * best``): a claim's, an outlet's or a name's own sentence needs ``side_floor`` of
    it, the other side of a figure ``other_side_floor``. Set by hand with the first extractive answerer
    (2026-11-22); the shares below were measured against it. Chosen by ``eval.tune`` (5-fold
    cross-validation over the train split's 1,642 questions, 2026-12-07): 0.9, was 0.8."""
    side_floor: float = 0.5
    """A claim's, an outlet's or a name's own sentence needs this share of the floor: it is there
    for what the question asks, not for how well it matches the whole question. Set by hand with
    the claims (2026-11-23); not swept."""
    other_side_floor: float = 0.75
    """The other side of a figure the question asks about (a report giving another number) needs
    this share of the floor. Set by hand with the conflicts (2026-11-22); not swept."""
    new_report_floor: float = 0.8
    """A further sentence from a report not quoted yet needs this share of the best one's weight (a
    second source for the answer). Dev slice, against 0.8 for both: evidence coverage 0.796 -> 0.801,
    citation precision 0.373 -> 0.370; 0.78, 0.72 or 0.70 gave 0.796 / 0.808 / 0.812 coverage and 0.373
    / 0.361 / 0.355 precision. Chosen by ``eval.tune`` (5-fold cross-validation over the train split's
    1,642 questions, 2026-12-07): 0.8, was 0.75."""
    quoted_report_floor: float = 0.75
    """... from a report already quoted (which mostly says more of the same). Measured with
    ``new_report_floor``. Chosen by ``eval.tune`` (5-fold cross-validation over the train split's 1,642
    questions, 2026-12-07): 0.75, was 0.85."""
    multi_claim_floor: float = 0.95
    """A question of several claims has given each claim its sentence: a further one must add a report
    not quoted yet, at this share of the best. Dev slice: citation precision 0.370 -> 0.387, evidence
    coverage 0.801 -> 0.795 (with ``further_reports`` 0.378 / 0.810). On the captured evidence: a report
    not quoted yet alone 0.377 / 0.800; the share alone 0.384 / 0.792. Chosen by ``eval.tune`` (5-fold
    cross-validation over the train split's 1,642 questions, 2026-12-07): 0.95, was 0.85."""
    next_floor: float = 0.65
    """The sentence right after the best one often completes it ("The statement described ..."):
    it needs this share of the best. Set by hand (2026-11-22); not swept."""
    claim_floor: float = 0.85
    """A claim's own sentence must score at least this share of the best score for that claim. Set by
    hand with the claims (2026-11-23). Chosen by ``eval.tune`` (5-fold cross-validation over the train
    split's 1,642 questions, 2026-12-07): 0.85, was 0.75."""
    claim_new_report: float = 0.85
    """... and comes from a report not quoted yet when one scores this share of the claim's best: a
    multi-hop question draws each claim from another report (on the dev slice a claim's sentence
    from a report already quoted was gold evidence 31 % of the time, against 44 % from a new one;
    citation precision 0.397 -> 0.400 with ``rank_prior``)."""
    other_report: float = 0.85
    """A claim naming an outlet and no day may mean any of its reports: the outlet's next report
    is quoted too when its best sentence scores this share of the claim's best. Dev slice: evidence
    coverage 0.773 -> 0.785, citation precision 0.384 -> 0.375 (one report in three of those is gold
    evidence)."""
    claim_share: float = 0.5
    """A question of several claims weighs a sentence this much by its best claim's score (which counts
    the outlet and day that claim names) and the rest by the whole question's. Dev slice, against 0:
    citation precision 0.328 -> 0.339, evidence coverage 0.723 -> 0.737; 0.3-1.0 within 0.005 of these.
    Kept by ``eval.tune`` (5-fold cross-validation over the train split's 1,642 questions,
    2026-12-07)."""
    rank_prior: float = 0.04
    """Sentences of nearly the same weight are taken in the ranking's order: a sentence's weight counts
    this much less for each place its passage has below the first (on the dev slice a cited sentence
    from the ranking's first three passages lay in a gold article 83 % of the time, from its tenth to
    twelfth 30 %). The floors stay on the weights themselves. Chosen by ``eval.tune`` (5-fold
    cross-validation over the train split's 1,642 questions, 2026-12-07): 0.04, was 0.02."""
    no_number: float = 0.6
    """"How many X": the weight of a sentence that gives no number of X. (The same weight for
    sentences naming no entity of the asked type was measured and dropped: on the dev slice's
    inference questions containment 0.750 vs 0.762, evidence coverage 0.632 vs 0.677.) Set by hand
    with the sample gold set's number questions; not swept."""
    redundant: float = 0.9
    """Two sentences whose vectors have a cosine above this say the same thing: the second is not
    quoted. Set by hand (2026-11-22); not swept."""
    per_article: int = 2
    """At most this many sentences from one article (unless it is the only one): a name or figure
    often sits in the sentence beside the one describing it. Set by hand (2026-11-22)."""
    per_report: int = 1
    """... or this many, for a yes/no question: each report it compares gives its claim once.
    Measured on the dev slice against 2: citation precision 0.311 -> 0.331, evidence coverage 0.709
    -> 0.723."""
    claims_within_limit: int = 2
    """A question of more than this many claims may quote one sentence more than ``max_sentences``
    for each further claim. Set by hand with the claims (2026-11-23); not swept."""
    extra_sentences: int = 2
    """The outlets and names a question asks about and the other side of a figure may take this
    many sentences beyond the limit. Set by hand (2026-11-22); not swept."""
    naming_cited: int = 2
    """A name given as the direct answer is cited in at least this many sentences (the evidence
    naming it is added when the chosen sentences hold fewer). Set by hand with the answer line
    (2026-11-23); not swept."""

    # ----------------------------------------------------------------------------- answer line
    name_ahead: float = 2.5
    """The name shown in the answer line must weigh at least this many times as much as the next one
    (the weight of a name: the scores of the evidence sentences naming it). Set by hand with the answer
    line (2026-11-23). Chosen by ``eval.tune`` (5-fold cross-validation over the train split's 1,642
    questions, 2026-12-07): 2.5, was 2.0."""
    name_ahead_corroborated: float = 1.1
    """... or this many times, when it is corroborated: named in evidence from at least
    ``corroborating_articles`` articles and from every outlet the question names (a multi-hop question's
    answer is what its reports share). Dev slice, with the names' full forms: inference containment
    0.774 -> 0.881, answer-line precision 0.894 -> 0.944. Chosen by ``eval.tune`` (5-fold
    cross-validation over the train split's 1,642 questions, 2026-12-07): 1.1, was 1.4."""
    corroborating_articles: int = 2
    """The articles a name must be named in to be corroborated. Set with
    ``name_ahead_corroborated``."""
    line_model: int = 2
    """How the answer line's name is decided: 0, by the ratio ``name_ahead`` alone; 1, by the learned
    model (``rag/line_model.py``, trained by ``python -m eval.train_line``) alone; 2, the ratio
    proposes and the model may withhold it (and shows alone a name it is sure of:
    ``line_alone_probability``). Chosen with ``eval.train_line``'s 5-fold cross-validation over the
    train split (2026-12-07, the model trained again once the evidence scores no longer depended on
    the process's string hashes; inference questions, line right / shown): ratio 0.960 / 0.743
    (0.890 / 0.544 without the most frequent answer), model 0.971 / 0.752 (0.922 / 0.525), both
    0.973 / 0.706 (0.914 / 0.477): 2, the fewest wrong lines; on the plain-question set the model
    alone showed 17 wrong lines against 13 (ratio) and 11 (both), on questions unlike the
    benchmark's. No model file: the ratio."""
    line_probability: float = 0.75
    """... the model's probability of the name being right under which the line is withheld (or, at
    1, from which it is shown). A wrong line costs four times what a right one earns (``eval.tune``'s
    utility). Chosen by ``eval.train_line`` from its ``THRESHOLDS`` on every example of the train
    split: 0.75 as the veto (``veto_probability`` in the model's file; 0.8 for the model alone)."""
    line_alone_probability: float = 0.97
    """With ``line_model`` 2: a name the model gives at least this probability is shown even when the
    ratio does not propose it (1.01: never). A person the evidence names in one article, whose
    rivals are the places of that article, weighs less than ``name_ahead`` times them and is still
    right nine times in ten. Chosen by ``eval.train_line`` (5-fold cross-validation over the train
    split, 2026-12-07): 0.85 in 4 of 5 folds (0.9 in one): inference questions, line right 0.973 ->
    0.967, shown 0.706 -> 0.755, gold answer in the answer 0.853 -> 0.883. On the plain-question set
    (fp32) 0.85 and 0.9 show 3 wrong lines more and 0.95 one (a company the recognizer types as a
    person, a name for a question the articles do not answer, the other side of a match). Shipped:
    0.97, the lowest value of ``eval.train_line.ALONE`` that adds no wrong line there
    (cross-validated: 0.973 right, 0.713 shown, 0.860 contained): the benchmark's questions alone
    choose it looser than questions unlike them bear."""
    name_min_sentences: int = 2
    """A name is shown in the answer line only when at least this many evidence sentences name it.
    Set by hand with the answer line (2026-11-23); not swept."""
    name_pool: int = 15
    """The best evidence sentences a name is counted in, cited or not. Set by hand with the answer
    line (2026-11-23); not swept."""
    cited_weight: float = 1.5
    """A cited sentence counts this much more towards a name's weight than one only in the evidence. Set
    by hand with the answer line (2026-11-23). Kept by ``eval.tune`` (5-fold cross-validation over the
    train split's 1,642 questions, 2026-12-07)."""
    frequent_form: float = 0.5
    """A name its articles never introduce in full is shown by the fullest of its frequent forms:
    those its articles use at least this share as often as the most frequent one ("Alameda
    Research", not "Alameda"). Set by hand with the names' full forms (2026-11-23); not swept."""
    verdict_support: float = 1.01
    """A "Yes" verdict on the order of two reports (``rag.verdicts``): the dates agree with the order
    the question states, and each report's cited sentence scores at least this against its claim
    (``Candidate.parts``: the claim's words and meaning, from the outlet the claim names). Above 1, no
    "Yes" is ever given. Chosen by ``eval.tune`` (5-fold cross-validation over the train split's
    1,642 questions, 2026-12-07): 1.01, no "Yes". At 0.6, 7 "Yes" verdicts on the train split were
    5 right and 2 wrong: a claim the report words alike but contradicts ("less than $400 off" where
    it says "over $400 off", "fail to report a discount" where it reports none) scores as high as one
    it supports; 4 folds of 5 chose 1.01."""
    several_max: int = 5
    """A question asking for several names ("Which companies ...?") gets those one evidence sentence
    lists together, at most this many when it does not say how many. Set by hand with the
    plain-question set (2026-12-07); few benchmark questions ask for several names, so not swept."""

    # ------------------------------------------------------------------------------- conflicts
    conflict_similar: float = 0.7
    """When the question names no unit, two figures conflict only when they count the same thing
    in sentences whose vectors have at least this cosine. Set by hand (2026-11-22); not swept."""
    same_frame: float = 0.7
    """Two sentences naming different people conflict when at least this share of their words,
    names removed, is the same ("X won the election in Springfield"). Set by hand (2026-11-22); not
    swept."""

    # ---------------------------------------------------------------------------------- verify
    min_term_share: float = 0.5
    """An LLM sentence whose figures and names a passage holds is stated by it when the passage
    also holds at least this share of its key terms, or ... Set by hand with the verifier
    (2026-11-22); checked by hand on 30 verdicts (eval/README.md)."""
    verify_similar: float = 0.6
    """... when one of the passage's sentences has at least this cosine with it. Set by hand with the
    verifier (2026-11-23); checked by hand on 30 verdicts (eval/README.md)."""
    verify_min_terms: int = 3
    """The terms rule applies to a sentence of at least this many key terms (or one with no figure
    and no name): a shorter one is judged by its figures and names. Set by hand with the verifier
    (2026-11-23); not swept."""
    max_narrowed: int = 3
    """An LLM sentence's citation names at most this many sentences of its passage. Set by hand with
    the verifier (2026-11-23); not swept."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ConfigError(f"tuning {f.name}={value!r} is not a number: give one such as {f.default!r}.")
            if f.type == "int" and not isinstance(value, int):
                raise ConfigError(f"tuning {f.name}={value!r} must be a whole number, such as {f.default!r}.")
            least = -1.0 if f.name == "refusal_threshold" else 0
            if value < least:
                raise ConfigError(f"tuning {f.name}={value!r} must be at least {least}; the default is {f.default!r}.")
        for name in ("rrf_k", "followup_turns", "per_article", "per_report", "max_narrowed", "name_pool"):
            if getattr(self, name) < 1:
                raise ConfigError(f"tuning {name}={getattr(self, name)} must be at least 1.")
        if not 0.0 <= self.dense_weight <= 1.0:
            raise ConfigError(f"tuning dense_weight={self.dense_weight} must be between 0 and 1.")
        if self.refusal_threshold > 1.0:
            raise ConfigError(f"tuning refusal_threshold={self.refusal_threshold} must be between -1 and 1.")

    def with_(self, **changes) -> Tuning:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    @classmethod
    def from_mapping(cls, values: Mapping[str, object], *, source: str = "tuning") -> Tuning:
        """A ``Tuning`` with ``values`` over the defaults; an unknown name is an error listing the
        known ones (a misspelt weight must not be ignored). An integer given for a weight is read as
        a number."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(f"{source}: unknown tuning field {', '.join(map(repr, unknown))}; the fields "
                              f"are {', '.join(known)}.")
        given = {k: float(v) if known[k].type == "float" and isinstance(v, int) and not isinstance(v, bool) else v
                 for k, v in values.items()}
        try:
            return cls(**given)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None

    @classmethod
    def from_file(cls, path: str | Path) -> Tuning:
        """A ``Tuning`` from a JSON object of field names and values (the defaults for the rest)."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"tuning file {path} does not exist: give the path of a JSON file such as "
                              '{"dense_weight": 0.4}.') from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"tuning file {path} cannot be read ({exc}).") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"tuning file {path} is not valid JSON ({exc.msg}, line {exc.lineno}).") from None
        if not isinstance(data, dict):
            raise ConfigError(f"tuning file {path} must hold one JSON object of field names and values, "
                              f"not a {type(data).__name__}.")
        return cls.from_mapping(data, source=f"tuning file {path}")
