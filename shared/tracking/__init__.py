"""Attendance tracking (issue 4, P17/P19): heartbeats, viewing sessions, reports.

Hot path. The player sends a heartbeat every `interval_seconds` (30 s by default; the 202
answer carries it, so the server can lengthen it under load). The API validates it and puts
one message on one of N sharded queues `tracking-{n}` (N = 8, in the registry); no database
write happens in the request. A queue handler folds each heartbeat into one viewing document
per (webcast, pseudonymous viewer, mode) in the partition `{webcast_id}:t{shard}` (16 shards).
The document keeps the 30-second time slots seen as merged ranges, so a message handled twice
changes nothing and seconds watched = slots x 30. Reports are computed when read, from the 16
shard partitions, and cached for a few seconds; there are no counters on the hot path.

Scale (one webcast, 100,000 concurrent viewers, 30 s interval):
- API: 100,000 / 30 s = 3,333 heartbeats/s; each reads the session and the webcast (point
  reads, about 3 RU, spread over the session container's id partitions) and sends one message.
- Queues: 3,333 msg/s over 8 queues = 417 msg/s each (limit about 2,000/s per queue).
  Storage account: a put, a get (up to 32 messages each) and a delete per message,
  about 3,333 x 2 + 104 = 6,800 requests/s (limit about 20,000/s). Lengthening the interval
  to 60 s halves every figure; 16 queues would carry 200,000 viewers at 30 s.
- Cosmos: per heartbeat one point read (1 RU) plus, only when a new slot is added, a replace
  of a document under 1 KB (about 10 RU): at most 3,333 x 11 = 36,700 RU/s, over 16 logical
  partitions = 2,300 RU/s each, so even two shards on one physical partition stay well below
  its 10,000 RU/s. Storage: 100,000 viewers x 2 modes x about 0.6 KB = 120 MB per webcast,
  7.5 MB per logical partition (limit 20 GB).
- Reports read every viewing document of the webcast (100,000 documents, a few thousand RU),
  so they are cached for `report_max_age_seconds` and served with an ETag (304 when unchanged).

Privacy (P19): the viewer id is a keyed hash of webcast id and session id with the server's
lookup key, which the session store does not hold, so stored ids cannot be joined to the
session's grants. The participant id is stored only while `attendance_tied_to_participant`
(P17) is on.
"""
