"""LLM answering modes, through LlamaIndex LLM classes chosen by name.

``openai``: any OpenAI-compatible server (llama.cpp's, vLLM, LM Studio, OpenAI itself);
``ollama``: an Ollama server; ``llamacpp``: a local GGUF file run in-process by llama.cpp.

The model sees numbered excerpts of the evidence (``rag/prompts.py``). Its reply is checked
sentence by sentence while it streams (``rag/verify.py``): a sentence is passed on once it is
complete and judged — ``cited`` or ``attributed`` with the product's own sentence-level
citations, or ``unsupported`` (shown flagged after a supported one, or dropped, by setting). So
the streamed text is the final answer text; conflicting figures in the retrieved evidence are
added at the end (``rag/conflicts.py``). The answer is refused only when the model says the
passages lack the answer, or no sentence it wrote is supported; the refusal keeps the model's
reply and the verdicts.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cached_property
from pathlib import Path

from index.errors import ConfigError
from rag.answering import AnswerContext, Capabilities, Draft, Event
from rag.conflicts import find_conflicts
from rag.errors import LLMError, LLMTimeoutError, LLMUnavailableError
from rag.evidence import Candidate
from rag.prompts import CONDENSE_PROMPT, NOT_FOUND, Excerpt, excerpts, messages
from rag.question import Question
from rag.settings import RagSettings
from rag.statement import Statement, statement
from rag.tuning import Tuning
from rag.types import ANSWERED, REFUSED, UNSUPPORTED, AnswerSentence, Conflict, Refusal, Turn
from rag.verify import ClaimSentence, Verdict, Verifier, only_markers, parse_reply, strip_label

# A reply that starts a line the way the prompt does ("[3] Outlet ...", "[3] [1] Outlet ...",
# "Question:") has stopped answering and is echoing the prompt's format: it is cut there and
# generation stops. (A marker opening the reply, "[3] The drones ...", is a citation.)
_ECHO = re.compile(r"\n\s*(?:\[\d+\]\s*)*\[\d+\]\s+[A-Z]|(?:^|\n)\s*(?:Question|Passages?)\s*:")
SAID_NOT_FOUND = "the model said the passages do not contain the answer"
NONE_SUPPORTED = "no sentence of the model's reply is supported by the passages"
ONLY_MARKERS = "the model's reply was only citation markers"
EMPTY = "the model's reply was empty"
ECHOED = "the model repeated the prompt instead of answering"
# A follow-up is rewritten from the last turns of the conversation, each answer cut short; a
# rewrite longer than a question is unusable.
CONDENSE_TURNS = 3
CONDENSE_ANSWER_CHARS = 300
MAX_CONDENSED_CHARS = 300


def _is_not_found(text: str) -> bool:
    """Whether ``text`` opens with the prompt's "not in the articles" reply."""
    return " ".join(re.sub(r"[^A-Z ]", " ", strip_label(text).upper()).split()).startswith(NOT_FOUND)


def _translate(exc: Exception, where: str, timeout: float) -> LLMError:
    name = f"{type(exc).__module__}.{type(exc).__name__}".lower()
    text = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
    if "timeout" in name or isinstance(exc, TimeoutError):
        return LLMTimeoutError(f"The LLM at {where} did not answer within {timeout:g} s ({text}); raise "
                               "NEWSRAG_LLM_TIMEOUT or use --mode extractive.")
    if "connect" in name or isinstance(exc, ConnectionError) or "connection" in text.lower():
        return LLMUnavailableError(f"The LLM at {where} is unreachable ({text}); start the server or "
                                   "use --mode extractive.")
    status = getattr(exc, "status_code", None)
    detail = f"HTTP {status}: " if status else ""
    return LLMError(f"The LLM at {where} failed: {detail}{text}")


def _openai(settings: RagSettings):
    from llama_index.llms.openai_like import OpenAILike

    return OpenAILike(model=settings.llm_model, api_base=settings.llm_base_url, api_key=settings.llm_api_key,
                      is_chat_model=True, timeout=settings.llm_timeout, max_retries=0,
                      temperature=settings.llm_temperature, max_tokens=settings.llm_max_tokens,
                      context_window=8192)


def _ollama(settings: RagSettings):
    from llama_index.llms.ollama import Ollama

    return Ollama(model=settings.llm_model, base_url=settings.ollama_url, request_timeout=settings.llm_timeout,
                  temperature=settings.llm_temperature, context_window=8192,
                  additional_kwargs={"num_predict": settings.llm_max_tokens})


def _llamacpp(settings: RagSettings):
    path = settings.gguf_path
    if not path:
        raise ConfigError("The llamacpp mode needs a model file: set NEWSRAG_GGUF_PATH to a local .gguf "
                          "path (nothing is downloaded).")
    if not Path(path).is_file():
        raise ConfigError(f"NEWSRAG_GGUF_PATH={path!r} is not a file: point it at a local .gguf model.")
    try:
        from llama_index.llms.llama_cpp import LlamaCPP
    except ImportError as exc:
        raise ConfigError("The llamacpp mode needs llama-cpp-python: `pip install 'newsrag[llamacpp]'`.") from exc
    template: list = []  # the model's own chat format, read once the model is loaded
    llm = LlamaCPP(model_path=str(path), temperature=max(settings.llm_temperature, 0.01),
                   max_new_tokens=settings.llm_max_tokens, context_window=4096, verbose=False,
                   model_kwargs={"n_threads": 2}, messages_to_prompt=lambda chat: template[0](chat))
    template.append(gguf_chat_format(llm._model, fallback=_generic_prompt()))
    stop = getattr(template[0], "stop", None)
    if stop:
        llm.generate_kwargs["stop"] = stop
    return llm


def _generic_prompt() -> Callable:
    from llama_index.core.base.llms.generic_utils import messages_to_prompt

    return messages_to_prompt


def gguf_chat_format(model, *, fallback: Callable) -> Callable:
    """Chat messages -> the prompt string, in the chat template stored in the GGUF file (the one
    llama.cpp's server applies), so the in-process mode shows a model the turns it was trained on;
    ``fallback`` (LlamaIndex's generic "user: ..." format) for a file without one. The function
    carries the template's end-of-turn text as ``stop``."""
    chat_template = model.metadata.get("tokenizer.chat_template")
    if not chat_template:
        return fallback
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    def text(token: int) -> str:
        return model.detokenize([token], special=True).decode("utf-8", "replace") if token != -1 else ""

    formatter = Jinja2ChatFormatter(template=chat_template, eos_token=text(model.token_eos()),
                                    bos_token=text(model.token_bos()))

    def to_prompt(chat) -> str:
        return formatter(messages=[{"role": m.role.value, "content": m.content or ""} for m in chat]).prompt

    to_prompt.stop = [formatter.eos_token] if formatter.eos_token else []
    return to_prompt


# name -> (factory, where it runs, for messages)
BACKENDS: dict[str, tuple[Callable[[RagSettings], object], Callable[[RagSettings], str]]] = {
    "openai": (_openai, lambda s: s.llm_base_url),
    "ollama": (_ollama, lambda s: s.ollama_url),
    "llamacpp": (_llamacpp, lambda s: str(s.gguf_path)),
}


class _Assembly:
    """The answer as verdicts come in: citation numbers in order of first use, the text so far,
    and unsupported sentences held back until a supported one shows the answer stands."""

    def __init__(self, *, drop_unsupported: bool):
        self.drop = drop_unsupported
        self.numbering: dict[tuple[str, int], int] = {}
        self.chosen: dict[int, Candidate] = {}
        self.sentences: list[AnswerSentence] = []  # in the answer
        self.verdicts: list[AnswerSentence] = []  # every sentence judged, dropped ones included
        self.held: list[AnswerSentence] = []
        self.text = ""

    def add(self, claim: ClaimSentence, verdict: Verdict) -> list[str]:
        """The deltas of the answer text this verdict releases."""
        if verdict.kind == UNSUPPORTED:
            sentence = AnswerSentence(text=claim.text, citations=(), supported=False, reason=verdict.reason,
                                      kind=UNSUPPORTED)
            self.verdicts.append(sentence)
            if not self.drop:
                self.held.append(sentence)
            return []
        numbers = []
        for _, candidate in verdict.evidence:
            key = (candidate.location.article_id, candidate.location.start)
            if key not in self.numbering:
                self.numbering[key] = len(self.numbering) + 1
                self.chosen[self.numbering[key]] = candidate
            numbers.append(self.numbering[key])
        sentence = AnswerSentence(text=claim.text, citations=tuple(dict.fromkeys(numbers)), kind=verdict.kind)
        self.verdicts.append(sentence)
        released, self.held = [*self.held, sentence], []
        return [self._write(s) for s in released]

    def _write(self, sentence: AnswerSentence) -> str:
        self.sentences.append(sentence)
        piece = sentence.text + ("".join(f" [{n}]" for n in sentence.citations[:1])
                                 + "".join(f"[{n}]" for n in sentence.citations[1:]))
        delta = piece if not self.text else " " + piece
        self.text += delta
        return delta

    @property
    def answered(self) -> bool:
        return any(s.supported for s in self.sentences)

    def finish(self) -> list[str]:
        """Unsupported sentences after the last supported one, once the answer stands."""
        held, self.held = self.held, []
        return [self._write(s) for s in held] if self.answered else []


def conflicts_with_evidence(info: Question, cited: dict[int, Candidate], evidence: Sequence[Candidate],
                            *, stated: Statement, tuning: Tuning, names_of=None
                            ) -> tuple[list[tuple[int, Candidate]], list[Conflict]]:
    """Conflicts between what the answer says and the rest of the retrieved evidence (sentences
    scoring at least ``Tuning.refusal_threshold``): an answer giving only "55 [1]" still shows that
    another outlet says 64. A conflict is kept when one of its sides is a citation of the answer and gives a
    figure or name the answer ``stated``; the evidence sentences it names join the citations,
    numbered after the answer's own."""
    def about_answer(conflict: Conflict) -> bool:
        return any(claim.n <= own and (statement(claim.text).figures & stated.figures
                                       or any(stated.has_name(n) for n in statement(claim.text, with_names=True).names))
                   for claim in conflict.claims)

    numbered = sorted(cited.items())
    own = len(numbered)
    taken = {(c.location.article_id, c.location.start) for c in cited.values()}
    pool = [c for c in sorted(evidence, key=lambda c: -c.score)
            if c.score >= tuning.refusal_threshold and (c.location.article_id, c.location.start) not in taken]
    extra = pool
    for _ in range(3):  # renumber the extra sentences a conflict names until the set is stable
        listed = numbered + [(own + i, c) for i, c in enumerate(extra, start=1)]
        found = [c for c in find_conflicts(info, listed, tuning=tuning, names_of=names_of) if about_answer(c)]
        named = {claim.n for c in found for claim in c.claims}
        kept = [c for n, c in listed[own:] if n in named]
        if len(kept) == len(extra):
            return listed, found
        extra = kept
    listed = numbered + [(own + i, c) for i, c in enumerate(extra, start=1)]
    return listed, [c for c in find_conflicts(info, listed, tuning=tuning, names_of=names_of) if about_answer(c)]


class LLMAnswerer:
    capabilities = Capabilities(condense=True)

    def __init__(self, *, backend: str, settings: RagSettings):
        if backend not in BACKENDS:
            raise ConfigError(f"Unknown LLM backend {backend!r}: use one of {', '.join(BACKENDS)}.")
        self.name = backend
        self.settings = settings
        factory, where = BACKENDS[backend]
        self._factory = factory
        self.where = where(settings)

    @cached_property
    def llm(self):
        return self._factory(self.settings)

    def generate(self, chat: Sequence[tuple[str, str]]) -> Iterator[str]:
        """The model's reply to ``(role, content)`` messages as text deltas. The whole reply must
        arrive within ``llm_timeout`` seconds; backend errors leave as ``LLMError``s."""
        from llama_index.core.llms import ChatMessage

        deadline = time.monotonic() + self.settings.llm_timeout
        stream = None
        try:
            stream = self.llm.stream_chat([ChatMessage(role=role, content=content) for role, content in chat])
            for chunk in stream:
                if chunk.delta:
                    yield chunk.delta
                if time.monotonic() > deadline:
                    raise LLMTimeoutError(
                        f"The LLM at {self.where} did not finish its answer within {self.settings.llm_timeout:g} s; "
                        "raise NEWSRAG_LLM_TIMEOUT, lower NEWSRAG_LLM_MAX_TOKENS or use --mode extractive.")
        except (ConfigError, LLMError):
            raise
        except Exception as exc:  # every client library raises its own types; all end here
            raise _translate(exc, self.where, self.settings.llm_timeout) from exc
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()  # stop the server generating what nobody reads

    def condense(self, question: str, history: Sequence[Turn]) -> str | None:
        """A standalone version of a follow-up question, or ``None`` when the model's is unusable."""
        conversation = "\n".join(f"Q: {t.question}\nA: {t.answer[:CONDENSE_ANSWER_CHARS]}"
                                 for t in history[-CONDENSE_TURNS:])
        prompt = CONDENSE_PROMPT.format(conversation=conversation, question=question)
        reply = "".join(self.generate([("user", prompt)])).strip().split("\n")[0].strip()
        known = set(re.findall(r"\w+", (question + " " + " ".join(t.question for t in history)).lower()))
        if not reply or len(reply) > MAX_CONDENSED_CHARS or not known & set(re.findall(r"\w+", reply.lower())):
            return None
        return reply

    def stream(self, context: AnswerContext) -> Iterator[Event]:
        passages = self.passages(context)
        yield from self.check(self.generate(messages(context.info, passages)), context, passages)

    def passages(self, context: AnswerContext) -> list[Excerpt]:
        """The numbered passages of the prompt: the sentences the extractive answerer would quote
        (each claim's best, the other side of a figure, every outlet and name asked about), at
        most ``llm_sentences``. A small model given only these copies the right fact; given the
        next best sentences too, it glues in their figures and names."""
        return excerpts([p.candidate for p in context.picks], max_sentences=self.settings.llm_sentences)

    def check(self, deltas: Iterable[str], context: AnswerContext, passages: Sequence[Excerpt]) -> Iterator[Event]:
        """The checked answer to a reply arriving as ``deltas``: text deltas of verified sentences,
        then the final ``Draft``. Stops reading once the reply says it has nothing, echoes the
        prompt, or has ``max_sentences`` sentences."""
        verifier = Verifier(passages, embed=context.embed, tuning=self.settings.tuning)
        answer = _Assembly(drop_unsupported=self.settings.unsupported == "drop")
        reply, text, judged, complete = "", "", 0, False
        deltas = iter(deltas)
        for delta in deltas:
            reply += delta
            echo = _ECHO.search(reply)
            text = reply[:echo.start()] if echo else reply
            complete = echo is not None
            if _is_not_found(text):
                break
            claims = parse_reply(text, len(passages), final=complete)
            yield from self._judge(claims[judged:], verifier, answer)
            judged = len(claims)
            if complete or judged >= self.settings.max_sentences:
                break
        else:
            complete = True
        close = getattr(deltas, "close", None)
        if close is not None:
            close()  # stop the model generating what nobody reads
        if _is_not_found(text):
            yield Event.final(self._refused(SAID_NOT_FOUND, reply, answer))
            return
        if complete:
            yield from self._judge(parse_reply(text, len(passages))[judged:], verifier, answer)
        for piece in answer.finish():
            yield Event.delta(piece)
        if not answer.answered:
            reason = (ECHOED if reply.strip() and not text.strip() else EMPTY if not text.strip()
                      else ONLY_MARKERS if only_markers(text) else NONE_SUPPORTED)
            yield Event.final(self._refused(reason, reply, answer))
            return
        listed, conflicts = conflicts_with_evidence(context.info, answer.chosen, context.candidates,
                                                    stated=statement(" ".join(s.text for s in answer.sentences)),
                                                    tuning=self.settings.tuning, names_of=context.names_of)
        if conflicts:
            note = "\n\n" + " ".join(c.note for c in conflicts)
            answer.text += note
            yield Event.delta(note)
        yield Event.final(Draft(status=ANSWERED, text=answer.text,
                                citations=tuple(c.citation(n) for n, c in listed),
                                conflicts=tuple(conflicts), sentences=tuple(answer.sentences)))

    @staticmethod
    def _judge(claims: Sequence[ClaimSentence], verifier: Verifier, answer: _Assembly) -> Iterator[Event]:
        for claim in claims:
            if _is_not_found(claim.text):
                continue  # the "not in the articles" reply after an answer: the answer stands
            for piece in answer.add(claim, verifier.judge(claim)):
                yield Event.delta(piece)

    @staticmethod
    def _refused(reason: str, reply: str, answer: _Assembly) -> Draft:
        return Draft(status=REFUSED, text=reply, refusal=Refusal(reason=reason, reply=reply.strip(),
                                                                 verdicts=tuple(answer.verdicts)))
