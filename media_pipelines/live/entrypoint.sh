#!/bin/bash
# The live-ingest container: stunnel (RTMPS) in front of the ingest (nginx-rtmp and its hook
# server). When either ends, the other is stopped and the container exits, so Container Apps
# starts it again; SIGTERM stops both (the ingest ends its sessions first).
set -u
stunnel /app/media_pipelines/live/stunnel.conf &
tls=$!
python -m media_pipelines.live --profile production &
ingest=$!
trap 'kill -TERM "$ingest" "$tls" 2>/dev/null' TERM INT
wait -n "$tls" "$ingest"
status=$?
kill -TERM "$ingest" "$tls" 2>/dev/null
wait
exit "$status"
