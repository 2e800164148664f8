"""ffmpeg media pipelines: the VOD worker (transcode to an HLS ladder, edits) and live ingest."""
