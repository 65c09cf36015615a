"""newsrag's hybrid retrieval as a LlamaIndex ``BaseRetriever``, usable in any LlamaIndex app:

    from rag.llamaindex import NewsRetriever
    retriever = NewsRetriever.from_settings(RagSettings.from_env(), top_k=5, sources=["TechCrunch"])
    nodes = retriever.retrieve("Who is on trial?")   # list[NodeWithScore]

Inside newsrag we call ``HybridRetriever`` directly; this is the one level of subclassing
LlamaIndex requires, and it only converts our ``Passage`` into a ``TextNode``.
"""

from __future__ import annotations

from collections.abc import Sequence

from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from index.library import Library
from rag.filters import make_filters
from rag.retrieval import HybridRetriever
from rag.settings import RagSettings
from rag.types import NO_FILTERS, Filters, Passage


def passage_node(passage: Passage) -> NodeWithScore:
    loc = passage.location
    node = TextNode(
        id_=loc.chunk_id,
        text=passage.body,
        metadata={"article_id": loc.article_id, "title": loc.title, "source": loc.source,
                  "published_at": loc.published_at, "url": loc.url, "start": loc.start, "end": loc.end,
                  "sentences": [list(s) for s in passage.sentences],
                  "also": [a.article_id for a in passage.also]},
        excluded_embed_metadata_keys=["sentences", "start", "end", "also"],
        excluded_llm_metadata_keys=["sentences", "start", "end", "also", "article_id"],
    )
    return NodeWithScore(node=node, score=passage.score)


class NewsRetriever(BaseRetriever):
    def __init__(self, *, retriever: HybridRetriever, top_k: int | None = None, filters: Filters = NO_FILTERS):
        super().__init__()
        self._retriever = retriever
        self._top_k = top_k or retriever.settings.top_k
        self._filters = filters

    @classmethod
    def from_settings(cls, settings: RagSettings, *, top_k: int | None = None,
                      sources: Sequence[str] = (), since: str | None = None,
                      until: str | None = None) -> NewsRetriever:
        retriever = HybridRetriever(library=Library(settings.index), settings=settings)
        return cls(retriever=retriever, top_k=top_k or settings.top_k,
                   filters=make_filters(sources=sources, since=since, until=until))

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        passages = self._retriever.retrieve(query_bundle.query_str, k=self._top_k, filters=self._filters)
        return [passage_node(p) for p in passages]
