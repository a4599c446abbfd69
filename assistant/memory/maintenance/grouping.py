"""Grouping old conversation messages into episodes, then into topics within each episode.

A summary is only as good as its group: one conversation about one thing. Messages far apart
in time are different episodes; within an episode, messages join the topic whose centroid they
are closest to, and a short reply stays with the message it answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from assistant.memory.language import words
from assistant.memory.types import Memory, aware

if TYPE_CHECKING:
    import numpy as np

# Topic clustering inside one conversation: cosine similarity to a cluster's centroid.
TOPIC_SIMILARITY = 0.40
MAX_GROUP = 12
# A reply this short stays in the group of the message it answers, whatever its topic.
SHORT_REPLY_WORDS = 6
# Messages of one conversation further apart than this are different episodes.
EPISODE_GAP = timedelta(days=2)


def _is_short_reply(memory: Memory) -> bool:
    return bool(memory.context) and len(words(memory.text)) <= SHORT_REPLY_WORDS


def group_episodes(memories: Sequence[Memory], vectors: np.ndarray) -> list[list[int]]:
    """Indexes of `memories` (time-ordered) grouped by episode, then by topic within it."""
    import numpy as np

    episodes: list[list[int]] = []
    open_episode: dict[str, int] = {}
    last_seen: dict[str, datetime] = {}
    for index, memory in enumerate(memories):
        moment = aware(memory.created_at)
        bucket = memory.conversation_id or moment.date().isoformat()
        position = open_episode.get(bucket)
        if position is None or moment - last_seen[bucket] > EPISODE_GAP:
            open_episode[bucket] = len(episodes)
            episodes.append([index])
        else:
            episodes[position].append(index)
        last_seen[bucket] = moment

    groups: list[list[int]] = []
    for episode in episodes:
        clusters: list[list[int]] = []
        centroids: list[np.ndarray] = []
        cluster_of: dict[int, int] = {}
        for position, index in enumerate(episode):
            vector = vectors[index]
            best, best_similarity = -1, TOPIC_SIMILARITY
            previous = cluster_of.get(episode[position - 1]) if position else None
            if previous is not None and _is_short_reply(memories[index]) and len(clusters[previous]) < MAX_GROUP:
                # "Honestly shakshuka." means something only next to "What's your comfort food?".
                best_similarity = float("inf")
                best = previous
            for number, centroid in enumerate(centroids):
                if len(clusters[number]) >= MAX_GROUP:
                    continue
                similarity = float(centroid @ vector) / max(float(np.linalg.norm(centroid)), 1e-12)
                if similarity >= best_similarity:
                    best, best_similarity = number, similarity
            if best < 0:
                cluster_of[index] = len(clusters)
                clusters.append([index])
                centroids.append(vector.astype(np.float32).copy())
            else:
                cluster_of[index] = best
                clusters[best].append(index)
                centroids[best] = centroids[best] + vector
        # A lone message joins the closest topic of its episode that has room.
        lone = [cluster for cluster in clusters if len(cluster) == 1]
        kept = [cluster for cluster in clusters if len(cluster) > 1]
        for (index,) in lone:
            room = [cluster for cluster in kept if len(cluster) < MAX_GROUP]
            if room:
                target = max(room, key=lambda cluster: float(vectors[cluster].mean(axis=0) @ vectors[index]))
                target.append(index)
            else:
                kept.append([index])
        for cluster in kept:
            groups.append(sorted(cluster))
    groups.sort(key=lambda cluster: cluster[0])
    return groups
