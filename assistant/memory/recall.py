"""Hybrid recall: vector and full-text (BM25) search, fused, re-ranked, de-duplicated.

This module gathers the candidates: both searches side by side, matches inside the day or
month the query names (query_time.py), a second hop through the names in the best hits, and
the summaries standing in for compressed messages. ranking.py fuses and scores them and
collapses near-duplicates. Counting a recalled memory as used is reinforcement.py's job, for
the hits the caller used.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from assistant.memory.candidate_rows import whole_rows
from assistant.memory.fusion import asks_when
from assistant.memory.people import named_people, without_names
from assistant.memory.query_time import named_window, without_time
from assistant.memory.ranking import RecallWeights as RecallWeights  # re-exported: part of recall's interface
from assistant.memory.ranking import first_pass, one_blas_thread, rank_candidates
from assistant.memory.ranking import recency_score as recency_score
from assistant.memory.ranking import use_score as use_score
from assistant.memory.reinforcement import Reinforcer  # noqa: F401 - its old home, still importable here
from assistant.memory.store import FTS_COLUMN, MEMORIES, MemoryStore, memory_schema, with_retries
from assistant.memory.store.lance_reads import LatestDataset
from assistant.memory.store.query import Where, all_of, eq, ge, has_any, is_in, le, owned_by
from assistant.memory.types import Kind, Origin, RecallHit, Status

if TYPE_CHECKING:
    import numpy as np

BRIDGE_FROM = 3  # first-pass hits whose names seed the second hop
BRIDGE_TERMS = 4
BRIDGE_WEIGHT = 0.5
TOLD_LATER = timedelta(days=8)  # how long after a time a message may still tell of it
# What the searches bring of each row besides its score: the text, for the second hop to read
# names in, and the status and sources, for the summaries of compressed messages to be looked
# up while one take reads the rest (candidate_rows.py).
SEARCHED_COLUMNS = ("id", "text", "status", "sources")


@dataclass(frozen=True)
class RecallFilter:
    kinds: tuple[Kind, ...] | None = None
    statuses: tuple[Status, ...] = (Status.ACTIVE,)
    since: datetime | None = None
    until: datetime | None = None

    @property
    def through_summaries(self) -> bool:
        """Default recall, where summaries stand in for the messages they compressed."""
        return self.statuses == (Status.ACTIVE,) and (self.kinds is None or Kind.SUMMARY in self.kinds)


def build_where(owner: str, filters: RecallFilter) -> Where:
    clauses = [owned_by(owner)]
    selected = []
    if filters.kinds:
        selected.append(is_in("kind", filters.kinds))
    if filters.statuses:
        selected.append(is_in("status", filters.statuses))
    if filters.through_summaries:
        # Compressed messages still compete on their own words, ranked as they were before
        # compression, and recall() returns their summary. A summary compression wrote is found
        # only through them: its text restates them, and as one long document it would match
        # more of a question's words than any one message does and crowd out better answers.
        wanted = all_of(*selected, ~(eq("kind", Kind.SUMMARY) & eq("origin", Origin.SUMMARY)))
        clauses.append(wanted | (eq("status", Status.ARCHIVED) & eq("kind", Kind.EPISODIC)))
    else:
        clauses.extend(selected)
    if filters.since is not None:
        clauses.append(ge("created_at", filters.since))
    if filters.until is not None:
        clauses.append(le("created_at", filters.until))
    return all_of(*clauses)


def _result_columns(dimension: int) -> list[str]:
    return [name for name in memory_schema(dimension).names if name != FTS_COLUMN]


class Recaller:
    """Runs hybrid recall against one store; one instance per engine."""

    def __init__(
        self,
        store: MemoryStore,
        *,
        half_life_days: float = 30.0,
        weights: RecallWeights | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        candidates: int = 40,
    ) -> None:
        self.store = store
        self.half_life_days = half_life_days
        self.weights = weights or RecallWeights()
        self.now = now
        self.candidates = candidates
        self._search_pool: ThreadPoolExecutor | None = None
        self._memories = LatestDataset()
        self._pool_lock = threading.Lock()
        self._speakers: set[tuple[str, str]] = set()
        self._silent: dict[tuple[str, str], int] = {}  # the table version at which they had said nothing
        one_blas_thread()

    def _searches(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._search_pool is None:
                self._search_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="recall-search")
            return self._search_pool

    def close(self) -> None:
        with self._pool_lock:
            if self._search_pool is not None:
                self._search_pool.shutdown(wait=True)
                self._search_pool = None

    def phrasings(self, queries: Sequence[str], owner: str) -> list[str]:
        """What to embed for each query: the question without the names of people who speak in
        the conversations (people.py: a message's vector holds what was said, not who said it)."""
        return [without_names(q, [name for name in named_people(q) if self._speaks(owner, name)]) for q in queries]

    def _speaks(self, owner: str, name: str) -> bool:
        """Whether `name` said anything in `owner`'s conversations: one lookup in the speaker
        bitmap, kept (a speaker stays one; a no holds until the table changes)."""
        table = self.store.table(MEMORIES)
        version = table.version
        if (owner, name) in self._speakers:
            return True
        if self._silent.get((owner, name)) == version:
            return False
        # A count is answered by the bitmap alone (0.8 ms at 100k rows; a search for one row, 2.6).
        said = with_retries(lambda: table.count_rows((owned_by(owner) & eq("speaker", name)).sql) > 0)
        if said:
            self._speakers.add((owner, name))
        else:
            self._silent[(owner, name)] = version
        return bool(said)

    def _vector_candidates(self, dataset: Any, vector: np.ndarray, where: Where, limit: int) -> list[dict[str, Any]]:
        import numpy as np

        nearest: dict[str, Any] = {
            "column": "vector",
            "q": np.asarray(vector, dtype=np.float32),
            "k": limit,
            "metric": "cosine",
        }
        probes = self.store.vector_probes()
        if probes:
            # Not refined by the full vectors: ranking scores every candidate by them anyway
            # (ranking.best_similarity), and at 100k rows the refinement cost 3.4 of the search's
            # 14 ms to change 3% of the 40 candidates (the weakest ones).
            nearest["nprobes"] = probes
        found = dataset.to_table(
            nearest=nearest,
            filter=where.sql,
            prefilter=True,
            columns=[*SEARCHED_COLUMNS, "_distance"],
            with_row_id=True,
        )
        rows: list[dict[str, Any]] = found.to_pylist()
        return rows

    def _text_candidates(self, text: str, where: Where, limit: int) -> list[dict[str, Any]]:
        if not any(character.isalnum() for character in text):
            return []
        # Through LanceDB, unlike the other reads (store/lance_reads.py): on rows the text index
        # does not cover yet (written since maintenance last folded them in), its BM25 scores
        # differ from Lance's own, and LanceDB's are the ones recall was tuned with.
        table = self.store.table(MEMORIES)
        try:
            query = (
                table.search(text, query_type="fts", fts_columns=FTS_COLUMN)
                .where(where.sql, prefilter=True)
                .select([*SEARCHED_COLUMNS, "_score"])
                .with_row_id(True)
                .limit(limit)
            )
            rows: list[dict[str, Any]] = query.to_arrow().to_pylist()
            return rows
        except (ValueError, RuntimeError, OSError) as error:
            if "index" in str(error).lower() or "no inverted" in str(error).lower():
                return []  # no text index yet: vector search alone
            raise

    def recall(
        self,
        query: str,
        vector: np.ndarray | Callable[[], np.ndarray] | None,
        owner: str,
        *,
        k: int,
        filters: RecallFilter | None = None,
    ) -> list[RecallHit]:
        """Hits for `query`. `vector` may be a callable that embeds it: the full-text search
        (which needs no vector) then runs while the query is embedded."""
        filters = filters or RecallFilter()
        where = build_where(owner, filters)
        limit = max(self.candidates, 4 * k)
        named = named_window(query, self.now())
        # The time a query names is matched by the window below, not by its words (query_time.py).
        window, words = (named[0], without_time(query, named[1])) if named is not None else (None, query)

        named_time = None
        dated_where = None
        if window is not None:
            # "What did I do in March 2024?": the user named a time, so matches inside it come first.
            since = max(window[0], filters.since) if filters.since else window[0]
            until = min(window[1], filters.until) if filters.until else window[1]
            named_time = (since, until)
            # Up to a week later still tells of it ("last week I..."): fusion.told_of reads when.
            told_until = until + TOLD_LATER if filters.until is None else min(until + TOLD_LATER, filters.until)
            dated_where = build_where(owner, replace(filters, since=since, until=told_until))

        def words_then_guessed_names() -> tuple[list[dict[str, Any]], list[str], list[dict[str, Any]]]:
            """The full-text search, then a guess at its second hop from the words' hits alone, so
            the hop usually runs while the vector search does instead of after it."""
            sparse = self._text_candidates(words, where, limit)
            guessed = bridge_terms(query, [row["text"] for row in sparse[:BRIDGE_FROM]])
            return sparse, guessed, self._text_candidates(" ".join(guessed), where, limit) if guessed else []

        embedded: list[np.ndarray | None] = []

        def query_vector() -> np.ndarray | None:
            if not embedded:
                embedded.append(vector() if callable(vector) else vector)
            return embedded[0]

        def search() -> tuple[list[tuple[list[dict[str, Any]], float]], dict[str, dict[str, Any]] | None]:
            table = self.store.table(MEMORIES)
            table.checkout_latest()
            # The vector searches read the version just checked out, through Lance (store/lance_reads.py).
            dataset = self._memories.of(table)
            # The searches wait on the store more than on the CPU: run them side by side, the
            # words' search (and its hop) also beside the query's embedding.
            pool = self._searches()
            text = pool.submit(words_then_guessed_names)
            vector = query_vector()
            # Without a vector (the embedder is still loading) recall is by the words alone.
            dated = (
                pool.submit(self._vector_candidates, dataset, vector, dated_where, limit)
                if dated_where is not None and vector is not None
                else None
            )
            dense = self._vector_candidates(dataset, vector, where, limit) if vector is not None else []
            sparse, guessed, bridged = text.result()
            # Second hop: names in the best hits lead to the messages that say more about them
            # ("I'm going to Zara's party" -> "my neighbour Zara is a dentist"). Seeded by the
            # words' hits alone, the hop follows mere word matches ("We named him Pixel" for
            # "What is the name of my partner?") and lifts them again by their own names: 2 of
            # 53 synthetic questions lost rank 1. So the names of the hits both searches rank
            # well are followed too, and the hop is searched again only when they add names.
            backed = bridge_terms(query, [row["text"] for row in first_pass(dense, sparse)[:BRIDGE_FROM]])
            names = list(dict.fromkeys([*guessed, *backed]))
            if len(names) > len(guessed):
                bridged = self._text_candidates(" ".join(names), where, limit)
            found = [(dense, 1.0), (sparse, 1.0)]
            if dated is not None:
                found.append((dated.result(), 2.0))
            found = [*found, (bridged, BRIDGE_WEIGHT)] if bridged else found
            # The searches return SEARCHED_COLUMNS and scores; one take reads the rest (candidate_rows.py).
            # The summaries standing in for the compressed ones among them are looked up meanwhile.
            summaries = pool.submit(self._summaries_for, found, owner) if filters.through_summaries else None
            columns = _result_columns(self.store.dimension)
            rows = whole_rows(table, found, columns, owner, datasets=self._memories, brought=SEARCHED_COLUMNS)
            return rows, summaries.result() if summaries is not None else None

        rankings, stand_ins = with_retries(search)

        return rank_candidates(
            rankings,
            k,
            weights=self.weights,
            now=self.now(),
            half_life_days=self.half_life_days,
            query_vectors=query_vector(),
            stand_ins=stand_ins,
            window=named_time,
            people=named_people(query),
            asks_when=asks_when(query),
        )

    def _summaries_for(
        self, rankings: list[tuple[list[dict[str, Any]], float]], owner: str
    ) -> dict[str, dict[str, Any]]:
        """The active summary covering each compressed message among the candidates, by the message's row id.

        Compression keeps the originals (archived) with their words and vectors, so a question
        about a detail the summary left out still finds the summary that covers it: the active
        set shrinks without recall losing what was said.
        """
        archived = {
            row["id"]: row for ranking, _ in rankings for row in ranking if row["status"] == str(Status.ARCHIVED)
        }
        sources = {source for row in archived.values() for source in row["sources"] or []}
        if not sources:
            return {}
        where = owned_by(owner) & eq("kind", Kind.SUMMARY) & eq("status", Status.ACTIVE) & has_any("sources", sources)
        table = self.store.table(MEMORIES)
        found = with_retries(
            lambda: (
                self._memories.of(table)
                .to_table(
                    filter=where.sql,
                    columns=_result_columns(self.store.dimension),
                    limit=len(sources),  # each source is in at most one summary
                )
                .to_pylist()
            )
        )
        summary_of = {source: summary for summary in found for source in summary["sources"] or []}
        stand_ins = {}
        for row_id, row in archived.items():
            summary = next((summary_of[s] for s in row["sources"] or [] if s in summary_of), None)
            if summary is not None:
                stand_ins[row_id] = summary
        return stand_ins


_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z]{2,})\b")


def bridge_terms(query: str, texts: Sequence[str]) -> list[str]:
    """Proper names (capitalized mid-sentence) in `texts` that the query does not mention."""
    asked = set(query.lower().split())
    names: list[str] = []
    for text in texts:
        for match in _NAME.finditer(text):
            name = match.group(1)
            if name.lower() not in asked and name not in names:
                names.append(name)
    return names[:BRIDGE_TERMS]
