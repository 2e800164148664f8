"""Live ingest: nginx-rtmp with an on_publish key check, ffmpeg to a live HLS ladder in Blob,
and the recording that becomes a VOD asset (P20). Run with `python -m media_pipelines.live`."""
