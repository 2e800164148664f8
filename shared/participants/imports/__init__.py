"""Participant import (P09) as a job: upload URL, start, validate the whole file, then write.

The admin creates a job and gets a write-only URL for `imports/{tenant}/{webcast}/{job}/source`;
`start` queues the job. The worker downloads the file to a temporary file and reads it twice,
row by row: first it validates every row (form rules, e-mail addresses, duplicates inside
the file), then, unless the run is a dry run or a strict run found errors, it upserts the
valid rows by e-mail address or user name, in parallel, recording after each chunk the last
row written so that a redelivered message goes on from there. The file is deleted when the
job ends; reports name rows, columns and reasons, never values.

`jobs` is the API, `rows` reads and validates rows, `files` holds the uploaded file, `worker`
runs a job (and handles blob events and expiry), `privacy` answers data-subject requests; the
job documents are in `participants.repository.import_jobs`.
"""
