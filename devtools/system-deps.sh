#!/usr/bin/env bash
# Installs the system programs the media tests and `make run` use: ffmpeg with ffprobe, nginx
# with the RTMP module, stunnel (the live ingest's RTMPS in Azure), and Chromium for the
# browser tests (Playwright drives /usr/bin/chromium; no `playwright install`). All are Debian packages. As root with apt it installs what is missing;
# otherwise it says what to install and leaves the decision to the developer.
set -euo pipefail

RTMP_MODULE=/usr/lib/nginx/modules/ngx_rtmp_module.so
missing=()
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
[ -f "$RTMP_MODULE" ] || missing+=(libnginx-mod-rtmp)
command -v stunnel4 >/dev/null 2>&1 || missing+=(stunnel4)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: missing ${packages}; install them with:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${packages}" >&2
    echo "(make run falls back to the imageio-ffmpeg wheel for ffmpeg; the media tests need them)" >&2
    exit 0
fi
echo "system-deps: installing ${packages}"
# Package scripts must not start a system nginx on port 80: the platform starts its own.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod +x "$policy"
    created_policy=1
fi
trap '[ "$created_policy" = 1 ] && rm -f "$policy"' EXIT
apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages >/dev/null
