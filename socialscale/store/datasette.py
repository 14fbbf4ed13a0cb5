"""A Datasette `metadata.json` for the database: what each table and column holds, and canned queries.

The canned queries follow docs/reports.md's definitions (the same as `socialscale report`): age and latency
from `start_at`, buckets `<1h 1-4h 4-24h 1-3d 3-7d >7d` (lower bound inclusive), breached = age > SLA,
median as statistics.median and p90 as statistics.quantiles(n=10, method="inclusive")[8]. Datasette
evaluates them at the moment of the request ('now'), so they show the live picture.
"""

from __future__ import annotations

from typing import Any

TABLES: dict[str, dict[str, Any]] = {
    "items": {
        "description": "Every post, comment or entry pulled from the sources: one row per source and guid.",
        "label_column": "title",
        "sort_desc": "start_at",
        "facets": ["lane", "status", "source", "owner"],
        "columns": {
            "id": "The item's number, as used by `socialscale show ID`.",
            "source": "The configured source it came from.",
            "guid": "The source's own id for it (unique per source).",
            "url": "Link to the item on the web (untrusted: may be any scheme).",
            "canonical_url": "The URL with scheme/host lower-cased, fragment and utm_* removed; finds duplicates.",
            "title": "Title as published (plain text, untrusted).",
            "author": "Author as published (untrusted).",
            "text": "Body as plain text (HTML removed; untrusted).",
            "published_at": "When the source says it was published (UTC), if it says.",
            "first_seen_at": "When socialscale first stored it (UTC).",
            "updated_at": "When its content last changed (UTC).",
            "start_at": "The start used by every report: published_at unless later than first_seen_at.",
            "lane": "Primary lane: that of the first matching rule, else the default lane.",
            "lanes": "Every lane a rule matched (JSON list).",
            "tags": "Tags from the matching rules (JSON list).",
            "rules": "Names of the rules that decided the lane, lanes, tags and owner (JSON list).",
            "rules_version": "Fingerprint of the rule set that last tagged it.",
            "owner": "Team member responsible for answering it.",
            "owner_set_by": "Who set the owner: rule, lane, or the person who assigned it.",
            "status": "open, responded, closed or ignored.",
            "responded_at": "First response (UTC); latency = responded_at - start_at.",
            "responded_by": "Team member who responded.",
            "response_via": "reply, dm, email, phone or meeting.",
            "response_url": "The reply that answered it, when seen automatically.",
            "closed_at": "When it was closed or ignored (UTC).",
            "duplicate_of": "The earlier item with the same canonical URL; duplicates leave the backlog.",
            "in_reply_to": "The parent (guid in the same source, or URL) when it is a reply.",
            "ours": "The team member who wrote it, when it is one of ours.",
            "parent_id": "The stored item it replies to (from in_reply_to), if that is stored.",
            "conversation_id": "The root of its reply chain: the id of the conversation's first message.",
            "followup": "1 when it is not ours and an item of ours came earlier in its conversation.",
            "catalyzed": "1 for a follow-up replying to ours by someone other than the conversation's starter.",
            "content_hash": "Hash of the content, to tell an update from a re-fetch.",
            "extra": "What the source kind knows beyond these columns (JSON object; `counts`: the attention counts).",
            "sentiment": "-1..1 from title and text (VADER); negative <= -0.05 < neutral < 0.05 <= positive; "
                         "empty without English text.",
            "reach": "Attention the source reports: the sum of extra.counts (likes, boosts, replies, score, ...); "
                     "empty where the source reports none.",
            "lang": "The item's language as the source gives it (primary subtag).",
            "brands": "The configured brands it mentions (JSON list), for share of voice.",
            "sentiment_model": "The model that scored sentiment from the current title and text; empty: not scored "
                               "since the item changed.",
        },
    },
    "events": {
        "description": "The workflow log: every change to an item, oldest first. Nothing is overwritten without one.",
        "sort_desc": "at",
        "facets": ["kind", "actor"],
        "columns": {
            "id": "Event number.",
            "item_id": "The item it concerns.",
            "at": "When it happened (UTC).",
            "kind": "created, tagged, assigned, responded, closed, ignored, reopened or noted.",
            "actor": "Who did it (a team member), or empty for socialscale itself.",
            "detail": "What changed (JSON or text).",
        },
    },
    "sources": {
        "description": "Each source's fetch state and health.",
        "label_column": "name",
        "columns": {
            "name": "The source's name in the config.",
            "kind": "Source type: feed, mastodon, hackernews, ...",
            "url": "The configured URL.",
            "redirected_to": "Where a permanent redirect (301/308) moved it.",
            "etag": "Validator for conditional GET.",
            "last_modified": "Validator for conditional GET.",
            "cursor": "Where an API source continues from (JSON).",
            "last_fetch_at": "Last attempt (UTC).",
            "last_ok_at": "Last success (UTC).",
            "last_status": "ok, not_modified, skipped or error.",
            "last_http_status": "HTTP status of the last attempt.",
            "last_error": "The last error, if the last attempt failed.",
            "consecutive_failures": "Failed attempts since the last success.",
        },
    },
    "fetches": {
        "description": "One row per source per pull: the fetch log.",
        "sort_desc": "started_at",
        "facets": ["source", "http_status"],
        "columns": {
            "id": "Fetch number.",
            "source": "The source fetched.",
            "started_at": "When the pull stored it (UTC).",
            "duration_ms": "How long the fetch and parse took.",
            "http_status": "HTTP status (304 = not modified).",
            "items_seen": "Items in the response.",
            "items_new": "Items stored for the first time.",
            "items_updated": "Items whose content changed.",
            "error": "Why it failed, if it did.",
        },
    },
    "lanes": {
        "description": "The lanes from the config, with their SLA (copied on every run so SQL can use them).",
        "label_column": "name",
        "columns": {
            "name": "Lane name.",
            "sla_s": "Service level: an open item older than this many seconds is breached.",
            "owner": "Default owner of the lane's items.",
            "respond": "1 when the lane expects a response; 0 for monitoring-only lanes (never in the backlog).",
        },
    },
    "alerts": {
        "description": "Notifications: what was sent to which target, so each is sent once (see docs/notify.md).",
        "sort_desc": "at",
        "facets": ["target", "kind", "status"],
        "columns": {
            "id": "Row number.",
            "target": "The notify target's name in the config (its URL is never stored).",
            "kind": "new, breach, digest or test.",
            "key": "The item id (new, breach), the local date (digest), or the time (test).",
            "status": "queued, sending, sent or failed (failed ones are retried by the next run).",
            "at": "When the status last changed (UTC).",
            "error": "Why the last attempt failed (secrets removed).",
        },
    },
    "hosts": {
        "description": "Hosts that asked to be left alone for a while (Retry-After).",
        "columns": {
            "host": "Host name.",
            "not_before": "No request to it before this time (UTC).",
            "reason": "Why (the status that asked for the pause).",
        },
    },
    "state": {
        "description": "Small remembered values, such as when the last digest was sent.",
        "columns": {"key": "Name.", "value": "Value."},
    },
    "conversation_figures": {
        "description": "What report conversations adds up, one row per conversation, kept by triggers (recomputed "
                       "when listed in conversations_stale); the conversations view has the same figures with the "
                       "root's title.",
        "sort_desc": "start_at",
        "facets": ["lane", "owner", "source"],
        "columns": {
            "start_at": "Start of the root (UTC).", "id": "The root's item id (the conversation's id).",
            "lane": "The root's lane.", "owner": "The root's owner.", "source": "The root's source.",
            "started_by_us": "1 when the root is one of ours.", "joined": "1 when a message of ours is in it.",
            "followups": "Follow-ups, not ignored.", "followups_answered": "Of those, answered.",
            "catalyzed": "Catalyzed replies, not ignored.", "catalyzed_answered": "Of those, answered.",
            "catalyzed_waiting": "Catalyzed replies still open.",
            "handoff": "1 when a message was answered by dm, email, phone or meeting.",
            "waiting": "1 when an open message, not ours, is in a lane that expects a response.",
        },
    },
    "conversations_stale": {
        "description": "Conversations whose figures are to be recomputed before the next report reads them.",
        "columns": {"id": "The root's item id."},
    },
    "backlog": {
        "description": "View: open items waiting for an answer, with their age now and whether the SLA is breached.",
        "sort_desc": "age_s",
        "facets": ["lane", "owner", "breached"],
        "columns": {
            "id": "Item id.", "source": "Source.", "lane": "Lane.", "owner": "Owner.", "title": "Title (untrusted).",
            "url": "Link (untrusted).", "start_at": "Start of the item (UTC).", "age_s": "Seconds waiting, now.",
            "sentiment": "-1..1; negative <= -0.05.", "reach": "Attention the source reports.",
            "sla_s": "The lane's SLA in seconds.", "breached": "1 when age_s > sla_s.",
            "conversation_id": "The conversation (its first message's id).",
            "followup": "1 when it follows up on a message of ours.",
        },
    },
    "first_responses": {
        "description": "View: answered items with their first-response latency and detection lag.",
        "sort_desc": "responded_at",
        "facets": ["lane", "owner", "response_via", "within_sla"],
        "columns": {
            "id": "Item id.", "source": "Source.", "lane": "Lane.", "owner": "Owner.",
            "responded_by": "Who answered.", "response_via": "How: reply, dm, email, phone or meeting.",
            "start_at": "Start of the item (UTC).", "responded_at": "First response (UTC).",
            "sentiment": "-1..1; negative <= -0.05.",
            "latency_s": "responded_at - start_at, in seconds.",
            "detection_lag_s": "first_seen_at - start_at, in seconds: how late socialscale saw it.",
            "sla_s": "The lane's SLA in seconds.", "within_sla": "1 when answered within the SLA.",
            "handoff": "1 when answered off the platform (dm, email, phone, meeting).",
            "conversation_id": "The conversation (its first message's id).",
            "followup": "1 for a follow-up (its latency is the next-response time), 0 for a first contact.",
        },
    },
    "conversations": {
        "description": "View: one row per conversation (its first message), with what `socialscale report "
                       "conversations` counts.",
        "sort_desc": "start_at",
        "facets": ["lane", "owner", "source", "waiting"],
        "columns": {
            "id": "The first message's id (the conversation_id of every message in it).", "source": "Source.",
            "lane": "The first message's lane.", "owner": "Its owner.", "title": "Title (untrusted).",
            "url": "Link (untrusted).", "author": "Who started it (untrusted).",
            "start_at": "Start of the first message (UTC).",
            "started_by": "The team member who started it, when it is one of ours.",
            "messages": "Messages in it (duplicates left out).", "ours": "Messages of ours in it.",
            "followups": "Follow-ups (not ignored).", "followups_answered": "Of those, answered.",
            "catalyzed": "Catalyzed replies (not ignored).", "catalyzed_answered": "Of those, answered.",
            "handoff": "1 when one of its messages was answered off the platform.",
            "waiting": "1 when an open message in it waits for an answer.",
        },
    },
}

_AGE = "(strftime('%s', 'now') - strftime('%s', start_at))"

BACKLOG_SQL = f"""
SELECT lane,
       COUNT(*) AS open,
       SUM(owner IS NULL) AS unassigned,
       SUM({_AGE} < 3600) AS "<1h",
       SUM({_AGE} >= 3600 AND {_AGE} < 14400) AS "1-4h",
       SUM({_AGE} >= 14400 AND {_AGE} < 86400) AS "4-24h",
       SUM({_AGE} >= 86400 AND {_AGE} < 259200) AS "1-3d",
       SUM({_AGE} >= 259200 AND {_AGE} < 604800) AS "3-7d",
       SUM({_AGE} >= 604800) AS ">7d",
       MAX({_AGE}) AS oldest_age_s,
       SUM(breached) AS breached,
       SUM(followup) AS followups
FROM backlog
GROUP BY lane
ORDER BY breached DESC, open DESC, lane
""".strip()

BREACHES_SQL = """
SELECT id, lane, owner, title, url, start_at, age_s, sla_s, age_s - sla_s AS over_by_s
FROM backlog
WHERE breached = 1
ORDER BY start_at, id
""".strip()

# Window functions give exact ranks, so median and p90 match Python's statistics module:
# p90 (inclusive) = x[j] + (x[j+1] - x[j]) * d/10 with j = 9(n-1) div 10 and d = 9(n-1) mod 10.
_LATENCY_SQL = """
WITH answered AS (
  SELECT f.lane, f.latency_s, f.detection_lag_s, f.within_sla, f.handoff
  FROM first_responses f JOIN items i ON i.id = f.id
  WHERE i.status != 'ignored' AND f.followup = {followup}
    AND f.responded_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || COALESCE(NULLIF(:days, ''), 30) || ' days')
),
ranked AS (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY lane ORDER BY latency_s) - 1 AS k,
         COUNT(*) OVER (PARTITION BY lane) AS n
  FROM answered
)
SELECT lane,
       n AS responded,
       AVG(CASE WHEN k IN ((n - 1) / 2, n / 2) THEN latency_s END) AS median_s,
       SUM(CASE WHEN k = 9 * (n - 1) / 10 THEN latency_s * (10 - 9 * (n - 1) % 10)
                WHEN k = 9 * (n - 1) / 10 + 1 THEN latency_s * (9 * (n - 1) % 10)
                ELSE 0 END) / 10.0 AS p90_s,
       MAX(latency_s) AS max_s,
       AVG(within_sla) AS within_sla,
       AVG(handoff) AS handoff_share
FROM ranked
GROUP BY lane, n
ORDER BY lane
""".strip()
LATENCY_SQL = _LATENCY_SQL.replace("{followup}", "0")  # first contacts
NEXT_RESPONSE_SQL = _LATENCY_SQL.replace("{followup}", "1")  # follow-ups

VOLUME_SQL = """
SELECT substr(start_at, 1, 10) AS day, lane, COUNT(*) AS items
FROM items
WHERE duplicate_of IS NULL AND ours IS NULL
  AND start_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || COALESCE(NULLIF(:days, ''), 30) || ' days')
GROUP BY day, lane
ORDER BY day, lane
""".strip()

CONVERSATIONS_SQL = """
SELECT lane,
       COUNT(*) AS conversations,
       ROUND(AVG(ours > 0), 4) AS joined,
       SUM(followups) AS followups,
       ROUND(1.0 * SUM(followups_answered) / NULLIF(SUM(followups), 0), 4) AS followups_answered,
       SUM(catalyzed) AS catalyzed,
       ROUND(1.0 * SUM(catalyzed_answered) / NULLIF(SUM(catalyzed), 0), 4) AS catalyzed_answered,
       SUM(handoff) AS handoffs,
       SUM(waiting) AS waiting
FROM conversations
WHERE start_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || COALESCE(NULLIF(:days, ''), 30) || ' days')
GROUP BY lane
ORDER BY lane
""".strip()

# Per lane: the last :window_days days (default 1) against the :baseline_windows windows of that length
# before (default 14). A spike: count > mean + k*sd and count >= 5; compared squared, so SQLite needs no sqrt:
# count - mean > 0 and (count - mean)^2 > k^2 * variance (population variance).
SPIKES_SQL = """
WITH params AS (
  SELECT COALESCE(NULLIF(:window_days, ''), 1) * 86400.0 AS w, COALESCE(NULLIF(:baseline_windows, ''), 14) AS n,
         COALESCE(NULLIF(:k, ''), 3) AS k
),
counted AS (
  SELECT i.lane, CAST((strftime('%s', 'now') - strftime('%s', i.start_at)) / p.w AS INTEGER) AS window, COUNT(*) AS c
  FROM items i, params p
  WHERE i.duplicate_of IS NULL AND i.ours IS NULL
    AND i.start_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || CAST((p.n + 1) * p.w AS INTEGER) || ' seconds')
    AND i.start_at < strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
  GROUP BY i.lane, window
),
per_lane AS (
  SELECT c.lane, SUM(CASE WHEN window = 0 THEN c ELSE 0 END) AS count,
         SUM(CASE WHEN window > 0 THEN c ELSE 0 END) * 1.0 / p.n AS mean,
         SUM(CASE WHEN window > 0 THEN c * c ELSE 0 END) * 1.0 / p.n AS mean_sq, p.k
  FROM counted c, params p
  GROUP BY c.lane
)
SELECT lane, count, mean AS baseline_mean, mean_sq - mean * mean AS baseline_variance,
       CASE WHEN count >= 5 AND count > mean AND (count - mean) * (count - mean) > k * k * (mean_sq - mean * mean)
            THEN 1 ELSE 0 END AS spike
FROM per_lane
ORDER BY spike DESC, count DESC, lane
""".strip()

# mentions per brand over the last :days days (an item naming two brands counts for both); share of all
# brand mentions; share of the brand's mentions that are negative.
VOICE_SQL = """
WITH mentions AS (
  SELECT b.value AS brand, COUNT(*) AS mentions, SUM(i.sentiment <= -0.05) AS negative
  FROM items i, json_each(i.brands) b
  WHERE i.duplicate_of IS NULL AND i.ours IS NULL
    AND i.start_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || COALESCE(NULLIF(:days, ''), 30) || ' days')
  GROUP BY b.value
)
SELECT brand, mentions, ROUND(mentions * 1.0 / (SELECT SUM(mentions) FROM mentions), 4) AS share,
       ROUND(negative * 1.0 / mentions, 4) AS negative_share
FROM mentions
ORDER BY mentions DESC, brand
""".strip()

NEGATIVE_SQL = """
SELECT lane, COUNT(*) AS items, COUNT(sentiment) AS scored, SUM(sentiment <= -0.05) AS negative,
       ROUND(SUM(sentiment <= -0.05) * 1.0 / COUNT(sentiment), 4) AS negative_share,
       ROUND(AVG(sentiment), 4) AS mean_sentiment
FROM items
WHERE duplicate_of IS NULL AND ours IS NULL
  AND start_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-' || COALESCE(NULLIF(:days, ''), 30) || ' days')
GROUP BY lane
ORDER BY negative_share DESC, lane
""".strip()

# Named apart from the tables and views: Datasette would serve a canned query in place of a same-named view.
QUERIES: dict[str, dict[str, str]] = {
    "backlog_by_lane": {
        "title": "Backlog by lane",
        "description": "Open items waiting for an answer per lane: unassigned, age buckets, oldest, breached "
                       "(as `socialscale report backlog`).",
        "sql": BACKLOG_SQL,
    },
    "breaches": {
        "title": "Past the SLA",
        "description": "Open items older than their lane's SLA, oldest first (as `socialscale report breaches`).",
        "sql": BREACHES_SQL,
    },
    "latency_by_lane": {
        "title": "First-response time by lane",
        "description": "First responses to first contacts (not follow-ups) in the last :days days (default 30), per lane: "
                       "median and p90 in seconds, max, "
                       "share within the SLA, share handed off (as `socialscale report latency`).",
        "sql": LATENCY_SQL,
    },
    "next_response_by_lane": {
        "title": "Next-response time by lane",
        "description": "Follow-ups answered in the last :days days (default 30), per lane: the same figures over "
                       "follow-ups (as the next_* figures of `socialscale report latency`).",
        "sql": NEXT_RESPONSE_SQL,
    },
    "conversations_by_lane": {
        "title": "Conversations by lane",
        "description": "Conversations started in the last :days days (default 30), per lane of their first message: "
                       "joined, follow-ups and catalyzed replies answered, handoffs, waiting "
                       "(as `socialscale report conversations`).",
        "sql": CONVERSATIONS_SQL,
    },
    "volume_by_day": {
        "title": "Items per lane per day",
        "description": "Items started per day and lane over the last :days days (default 30).",
        "sql": VOLUME_SQL,
    },
    "spikes_by_lane": {
        "title": "Spikes by lane",
        "description": "The last :window_days days (default 1) per lane against the :baseline_windows windows "
                       "before it (default 14): a spike is count > mean + :k (default 3) standard deviations and "
                       "at least 5 items (as `socialscale report spikes`).",
        "sql": SPIKES_SQL,
    },
    "share_of_voice": {
        "title": "Share of voice",
        "description": "Mentions of each configured brand over the last :days days (default 30), its share of all "
                       "brand mentions and the share of its mentions that are negative (as `socialscale report voice`).",
        "sql": VOICE_SQL,
    },
    "negative_by_lane": {
        "title": "Negative items by lane",
        "description": "Items started in the last :days days (default 30) per lane: how many have a sentiment, "
                       "how many are negative (sentiment <= -0.05), and the mean sentiment.",
        "sql": NEGATIVE_SQL,
    },
}


def metadata(database_name: str, title: str = "socialscale") -> dict[str, Any]:
    """The metadata.json document for a database Datasette will call `database_name` (the file's stem)."""
    return {
        "title": title,
        "description": "Conversations about us on the social web, sorted into lanes, with the team's "
                       "backlog and response times. Made by `socialscale datasette`.",
        "databases": {
            database_name: {
                "description": "socialscale database: items, their workflow events, sources and alerts.",
                "tables": TABLES,
                "queries": QUERIES,
            }
        },
    }
