"""Playlist rendering for protected playback: signed URIs, byte-identical otherwise, captions."""

import math
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from media_pipelines import segments
from media_pipelines.live import master
from media_pipelines.live.ladder import live_ladder
from shared.clients import blob_container_name
from shared.config import get_settings
from shared.media import hls, playback
from shared.media.models import (
    MEDIA,
    Asset,
    AssetKind,
    AssetStatus,
    Caption,
    Rendition,
    media_prefix,
)

PLAYLIST_BLOB = "t1/w1/a1/720p/index.m3u8"

FFMPEG_PLAYLIST = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-MAP:URI="init.mp4"
#EXTINF:4.000000,
seg_00001.m4s
#EXTINF:4.000000,
seg_00002.m4s
#EXTINF:1.533333,
seg_00003.m4s
#EXT-X-ENDLIST
"""


def _moment(offset_seconds: float = 1) -> datetime:
    """A moment `offset_seconds` into a window (windows start at multiples of W)."""
    width = get_settings().media_signing_window_seconds
    start = (int(datetime(2026, 11, 27, 12, tzinfo=UTC).timestamp()) // width) * width
    return datetime.fromtimestamp(start + offset_seconds, tz=UTC)


def _blob_of(url: str) -> str:
    """The blob name a signed URL reads (path after account and container)."""
    container = blob_container_name(MEDIA)
    path = unquote(urlsplit(url).path)
    _, _, blob = path.partition(f"/{container}/")
    return blob


def _query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def _sign(text: str, moment: datetime | None = None, blob: str = PLAYLIST_BLOB) -> str:
    return playback.signed_media_playlist(
        text, container=MEDIA, playlist_blob=blob, moment=moment or _moment()
    )


def _uri_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def _asset(**changes: object) -> Asset:
    asset_id = uuid.uuid4().hex
    values: dict[str, object] = {
        "id": asset_id,
        "tenant_id": "t1",
        "webcast_id": "w1",
        "title": "Town hall: Q&A",
        "kind": AssetKind.upload,
        "status": AssetStatus.ready,
        "source_blob": f"t1/w1/{asset_id}/source",
        "duration_seconds": 754.2,
        "renditions": [
            Rendition(
                name="720p",
                width=1280,
                height=720,
                video_bitrate=3_000_000,
                audio_bitrate=128_000,
                bandwidth=3_440_800,
                average_bandwidth=3_012_345,
                frame_rate=29.97,
                codecs="avc1.64001f,mp4a.40.2",
                playlist="720p/index.m3u8",
            ),
            Rendition(
                name="360p",
                width=640,
                height=360,
                video_bitrate=800_000,
                audio_bitrate=96_000,
                bandwidth=985_600,
                average_bandwidth=861_250,
                frame_rate=29.97002997,
                codecs="avc1.64001e,mp4a.40.2",
                playlist="360p/index.m3u8",
            ),
        ],
        "start_pts_90khz": 6000,
        "poster": "poster.jpg",
        "created_at": "2026-11-27T10:00:00.000Z",
        "updated_at": "2026-11-27T10:05:00.000Z",
    }
    values.update(changes)
    return Asset.model_validate(values)


def _captions() -> list[Caption]:
    return [
        Caption(language="de", label="Deutsch", blob="captions/de.vtt", created_at="x"),
        Caption(language="en", label='English "CC"', blob="captions/en.vtt", created_at="x"),
    ]


def test_every_segment_and_the_init_section_become_signed_urls_of_the_blob_beside():
    signed = _sign(FFMPEG_PLAYLIST)
    urls = _uri_lines(signed)
    assert [_blob_of(url) for url in urls] == [
        "t1/w1/a1/720p/seg_00001.m4s",
        "t1/w1/a1/720p/seg_00002.m4s",
        "t1/w1/a1/720p/seg_00003.m4s",
    ]
    map_line = next(line for line in signed.splitlines() if line.startswith("#EXT-X-MAP:"))
    map_url = map_line.removeprefix('#EXT-X-MAP:URI="').removesuffix('"')
    assert _blob_of(map_url) == "t1/w1/a1/720p/init.mp4"
    for url in [*urls, map_url]:
        query = _query(url)
        assert query["sp"] == "r" and query["sig"] and query["se"]
        assert url.startswith("http")


def test_everything_but_the_uris_stays_byte_identical():
    signed = _sign(FFMPEG_PLAYLIST)
    original_lines = FFMPEG_PLAYLIST.splitlines(keepends=True)
    signed_lines = signed.splitlines(keepends=True)
    assert len(original_lines) == len(signed_lines)
    for before, after in zip(original_lines, signed_lines, strict=True):
        if before.startswith("#EXT-X-MAP:"):
            assert after.startswith('#EXT-X-MAP:URI="http') and after.endswith('"\n')
        elif before.startswith("#"):
            assert after == before
        else:
            assert after.endswith("\n") and after != before
    assert signed.endswith("#EXT-X-ENDLIST\n")


def test_crlf_blank_lines_byte_ranges_and_relative_paths_are_kept_or_resolved():
    text = (
        "#EXTM3U\r\n"
        "#EXT-X-TARGETDURATION:2\r\n"
        "\r\n"
        '#EXT-X-MAP:URI="../shared/init%20v2.mp4",BYTERANGE="720@0"\r\n'
        "#EXTINF:2.0,\r\n"
        "#EXT-X-BYTERANGE:1000@720\r\n"
        "./parts/seg 1.m4s\r\n"
        "#EXTINF:2.0,\r\n"
        "../other/../720p/seg_2.m4s"
    )
    signed = _sign(text)
    lines = signed.split("\r\n")
    assert lines[0:3] == ["#EXTM3U", "#EXT-X-TARGETDURATION:2", ""]
    assert lines[3].endswith('",BYTERANGE="720@0"')
    map_url = lines[3].split('"')[1]
    assert _blob_of(map_url) == "t1/w1/a1/shared/init v2.mp4"
    assert lines[4:6] == ["#EXTINF:2.0,", "#EXT-X-BYTERANGE:1000@720"]
    assert _blob_of(lines[6]) == "t1/w1/a1/720p/parts/seg 1.m4s"
    assert _blob_of(lines[8]) == "t1/w1/a1/720p/seg_2.m4s"
    assert not signed.endswith("\n")  # the last line had no line break, and still has none


@pytest.mark.parametrize(
    "uri", ["https://elsewhere.example/seg.m4s", "/t2/w2/seg.m4s", "../../../../../x.m4s"]
)
def test_uris_that_name_no_blob_beside_the_playlist_are_refused(uri):
    with pytest.raises(ValueError, match="playlist"):
        _sign(f"#EXTM3U\n#EXTINF:4.0,\n{uri}\n")


def test_viewers_in_one_window_share_urls_and_the_next_window_signs_new_ones():
    width = get_settings().media_signing_window_seconds
    early = _sign(FFMPEG_PLAYLIST, _moment(1))
    late = _sign(FFMPEG_PLAYLIST, _moment(width - 1))
    following = _sign(FFMPEG_PLAYLIST, _moment(width + 1))
    assert early == late
    assert _uri_lines(following) != _uri_lines(early)
    assert [_blob_of(u) for u in _uri_lines(following)] == [_blob_of(u) for u in _uri_lines(early)]


def test_a_url_handed_out_at_the_end_of_a_window_still_works_for_a_whole_window():
    width = get_settings().media_signing_window_seconds
    start, expiry = playback.window_of(_moment(width - 1))
    assert start == _moment(0)
    assert expiry == start + timedelta(seconds=2 * width)
    assert expiry - _moment(width - 1) > timedelta(seconds=width)
    url = _uri_lines(_sign(FFMPEG_PLAYLIST, _moment(width - 1)))[0]
    assert _query(url)["st"] == start.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _query(url)["se"] == expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
    # Playlists may be cached until the window ends, when the next window's URLs take over.
    assert playback.fresh_seconds(_moment(1)) == width - 1
    assert playback.fresh_seconds(_moment(width - 1)) == 1


def test_the_master_lists_the_rungs_through_the_api_and_captions_as_a_subtitle_group():
    asset = _asset(captions=_captions())
    base = f"/api/w/w1/vod/{asset.id}"
    master = playback.vod_master_playlist(asset, base_path=base).text
    # Measured rates and frame rate, the start variant (lowest peak) first.
    assert master.splitlines() == [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="Deutsch",LANGUAGE="de",'
        f'DEFAULT=NO,AUTOSELECT=YES,URI="{base}/captions/de.m3u8"',
        '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English \'CC\'",LANGUAGE="en",'
        f'DEFAULT=NO,AUTOSELECT=YES,URI="{base}/captions/en.m3u8"',
        "#EXT-X-STREAM-INF:BANDWIDTH=985600,AVERAGE-BANDWIDTH=861250,RESOLUTION=640x360,"
        'FRAME-RATE=29.970,CODECS="avc1.64001e,mp4a.40.2",SUBTITLES="subs"',
        f"{base}/360p/index.m3u8",
        "#EXT-X-STREAM-INF:BANDWIDTH=3440800,AVERAGE-BANDWIDTH=3012345,RESOLUTION=1280x720,"
        'FRAME-RATE=29.970,CODECS="avc1.64001f,mp4a.40.2",SUBTITLES="subs"',
        f"{base}/720p/index.m3u8",
    ]


def test_without_captions_the_master_names_no_subtitle_group():
    master = playback.vod_master_playlist(_asset(), base_path="/p").text
    assert "SUBTITLES" not in master and "#EXT-X-MEDIA" not in master
    assert _uri_lines(master) == ["/p/360p/index.m3u8", "/p/720p/index.m3u8"]


def test_an_asset_stored_before_measured_rates_still_renders_a_valid_master():
    stored = _asset().model_dump(mode="json", by_alias=True)
    for rendition in stored["renditions"]:
        del rendition["average_bandwidth"], rendition["frame_rate"]
    del stored["start_pts_90khz"]
    asset = Asset.model_validate(stored)
    assert asset.start_pts_90khz is None
    master = playback.vod_master_playlist(asset, base_path="/old").text
    assert master.splitlines() == [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        '#EXT-X-STREAM-INF:BANDWIDTH=985600,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2"',
        "/old/360p/index.m3u8",
        '#EXT-X-STREAM-INF:BANDWIDTH=3440800,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2"',
        "/old/720p/index.m3u8",
    ]


def test_the_caption_playlist_is_one_signed_webvtt_segment_as_long_as_the_video():
    asset = _asset(captions=_captions())
    playlist = playback.caption_playlist(asset, "de", moment=_moment()).text
    lines = playlist.splitlines()
    assert "#EXT-X-TARGETDURATION:755" in lines
    assert "#EXTINF:754.200," in lines
    assert lines[-1] == "#EXT-X-ENDLIST"
    (url,) = _uri_lines(playlist)
    prefix = media_prefix(tenant_id="t1", webcast_id="w1", asset_id=asset.id)
    assert _blob_of(url) == prefix + "captions/de.vtt"
    # VOD playlists are read once per playback: their URLs also last the video's length.
    width = get_settings().media_signing_window_seconds
    start, _ = playback.window_of(_moment())
    hold = -(-754.2 // width) * width
    expiry = start + timedelta(seconds=2 * width + hold)
    assert _query(url)["se"] == expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
    with pytest.raises(Exception, match="Caption was not found"):
        playback.caption_playlist(asset, "fr", moment=_moment())


def test_a_changed_asset_renders_anew_and_an_unchanged_one_comes_from_the_cache():
    asset = _asset(captions=_captions()[:1])
    first = playback.vod_master_playlist(asset, base_path="/p")
    assert playback.vod_master_playlist(asset, base_path="/p") is first
    changed = asset.model_copy(update={"captions": _captions(), "updated_at": "later"})
    second = playback.vod_master_playlist(changed, base_path="/p")
    assert second.digest != first.digest and 'LANGUAGE="en"' in second.text


def test_the_summary_signs_poster_and_download_and_names_the_routes():
    asset = _asset(captions=_captions()[:1], download="download.mp4")
    summary = playback.vod_summary(asset, base_path="/api/w/w1/vod/x", moment=_moment())
    assert summary.master_playlist == "/api/w/w1/vod/x/master.m3u8"
    assert summary.title == "Town hall: Q&A" and summary.duration_seconds == 754.2
    assert summary.poster_url and _blob_of(summary.poster_url).endswith(f"{asset.id}/poster.jpg")
    assert summary.download_url and _blob_of(summary.download_url).endswith("/download.mp4")
    disposition = _query(summary.download_url)["rscd"]
    assert disposition.startswith('attachment; filename="Town hall_ Q_A.mp4"')
    assert [(c.language, c.label, c.playlist) for c in summary.captions] == [
        ("de", "Deutsch", "/api/w/w1/vod/x/captions/de.m3u8")
    ]
    bare = playback.vod_summary(_asset(poster=None), base_path="/api/w/w1/vod/y", moment=_moment())
    assert bare.poster_url is None and bare.download_url is None and bare.captions == []


def test_concurrent_misses_render_a_playlist_once_and_the_cache_stays_bounded():
    cache = playback._Rendered(max_entries=3, max_chars=100)
    calls: list[int] = []
    entered = threading.Semaphore(0)

    def slow_render() -> str:
        calls.append(1)
        # Hold the render until every request has asked for the playlist.
        for _ in range(8):
            assert entered.acquire(timeout=5)
        time.sleep(0.05)
        return "#EXTM3U\n"

    def request() -> playback.Playlist:
        entered.release()
        return cache.get(("k",), slow_render)

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(request) for _ in range(8)]
        results = {id(future.result()) for future in futures}
    assert len(calls) == 1 and len(results) == 1
    for index in range(3):
        cache.get((str(index),), lambda: "x" * 40)
    # 40 + 40 + 40 characters exceed the bound: the oldest entries went first.
    fresh = cache.get(("k",), lambda: "#EXTM3U\n#EXT-X-ENDLIST\n")
    assert fresh.text == "#EXTM3U\n#EXT-X-ENDLIST\n"


# ---- measured bit rates and timing (media_pipelines.segments) ----


def test_the_peak_is_the_fastest_run_of_half_to_one_and_a_half_target_durations():
    # Target duration 4 s: runs of 2 to 6 s count. The 1 s segment alone (2.4 Mbit/s) is too
    # short; with the 4 s one after it (5 s) it is the fastest run that counts.
    durations = [4.0, 4.0, 1.0, 4.0, 4.0, 1.5]
    sizes = [500_000, 400_000, 300_000, 450_000, 500_000, 100_000]
    rates = segments.segment_bit_rates(durations, sizes)
    assert rates.peak == math.ceil(8 * (300_000 + 450_000) / 5.0)  # 1.2 Mbit/s, not 2.4
    assert rates.average == math.ceil(8 * sum(sizes) / sum(durations))
    assert rates.average <= rates.peak
    # Runs above 1.5 target durations never count: the dense 1 s segment is diluted.
    assert segments.segment_bit_rates([4.0, 1.0], [100, 100_000]).peak == math.ceil(
        8 * 100_100 / 5.0
    )


def test_a_clip_shorter_than_half_a_target_duration_has_its_own_rate_as_peak():
    rates = segments.segment_bit_rates([0.4], [10_000])
    assert rates.peak == rates.average == 200_000


@pytest.mark.parametrize(
    ("durations", "sizes"), [([], []), ([4.0], [1, 2]), ([0.0], [10]), ([4.0], [-1])]
)
def test_bit_rates_need_one_positive_duration_and_size_per_segment(durations, sizes):
    with pytest.raises(ValueError, match="segment"):
        segments.segment_bit_rates(durations, sizes)


def test_a_media_playlist_gives_its_segments_with_durations_in_order():
    live = (
        "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.000000,\n"
        "#EXT-X-PROGRAM-DATE-TIME:2026-12-02T07:57:37.526+0000\nseg_00000.ts\n"
        "#EXTINF:1.033333,\nseg_00001.ts\n"
    )
    assert segments.playlist_segments(live) == [(2.0, "seg_00000.ts"), (1.033333, "seg_00001.ts")]
    assert segments.playlist_segments(FFMPEG_PLAYLIST)[-1] == (1.533333, "seg_00003.m4s")


# framecrc of an fMP4 rung read without its edit list (ffmpeg 5.1, x264 with B-frames):
# decode order, the first presented frame two frames after the first decoded one.
FRAMECRC_FMP4 = """#extradata 0:       45, 0x451e1043
#software: Lavf59.27.100
#tb 0: 1/15360
#media_type 0: video
0,          0,       1024,      512,     4129, 0x81aab390
0,        512,       2560,      512,     1196, 0xa002451d, F=0x0
0,       1024,       1536,      512,      393, 0x4945ca3e, F=0x0
0,       1536,       2048,      512,      349, 0xe44fa978, F=0x0
0,       2048,       4608,      512,     1060, 0x2d7d1018, F=0x0
0,       2560,       3584,      512,     1060, 0x2d7d1018, F=0x0
0,       3072,       3072,      512,     1060, 0x2d7d1018, F=0x0
0,       3584,       4096,      512,     1060, 0x2d7d1018, F=0x0
"""


def test_the_timing_is_the_lowest_pts_in_90_khz_and_the_rate_of_the_usual_step():
    timing = segments.video_timing(FRAMECRC_FMP4)
    assert timing.start_pts_90khz == 6000  # 1024 / 15360 s = 66.7 ms
    assert timing.frame_rate == 30.0


def test_ntsc_and_fifty_frames_in_90_khz_transport_streams():
    ntsc = "#tb 0: 1/90000\n" + "".join(
        f"0, {n * 3003}, {126_000 + n * 3003}, 3003, 900, 0x0\n" for n in range(60)
    )
    assert segments.video_timing(ntsc) == segments.VideoTiming(126_000, 29.97)
    # One frame missing (a dropped frame) does not change the rate.
    fifty = "#tb 0: 1/90000\n" + "".join(
        f"0, {n * 1800}, {n * 1800}, 1800, 900, 0x0\n" for n in range(50) if n != 7
    )
    assert segments.video_timing(fifty).frame_rate == 50.0


def test_a_segment_without_timestamps_has_no_timing_and_one_frame_no_rate():
    with pytest.raises(ValueError, match="no video packet"):
        segments.video_timing("#tb 0: 1/90000\n0, 0, -9223372036854775808, 0, 10, 0x0\n")
    assert segments.video_timing("#tb 0: 1/90000\n0, 0, 900, 0, 10, 0x0\n").frame_rate is None


# ---- captions: X-TIMESTAMP-MAP (shared.media.hls) ----


def test_the_map_puts_cue_zero_at_the_first_pts_and_replaces_any_map_the_file_had():
    vtt = "WEBVTT\n\n00:00.000 --> 00:01.500\nHallo\n"
    mapped = hls.timestamp_mapped(vtt, 6000)
    assert mapped == "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:6000,LOCAL:00:00:00.000\n\n" + vtt[8:]
    assert hls.timestamp_mapped(mapped, 9000).count("X-TIMESTAMP-MAP") == 1
    assert "MPEGTS:9000," in hls.timestamp_mapped(mapped, 9000)
    assert hls.timestamp_mapped(mapped, None) == vtt
    # A header of its own stays; CRLF files stay CRLF; 33-bit wrap.
    own = "WEBVTT - Town hall\r\nX-TIMESTAMP-MAP=LOCAL:00:00:01.000,MPEGTS:0\r\nRegion: x\r\n\r\n"
    assert hls.timestamp_mapped(own, 2**33 + 5) == (
        "WEBVTT - Town hall\r\nX-TIMESTAMP-MAP=MPEGTS:5,LOCAL:00:00:00.000\r\nRegion: x\r\n\r\n"
    )
    # A map-like line after the header is cue text, not a header: it stays.
    cue = "WEBVTT\n\n00:00.000 --> 00:01.000\nX-TIMESTAMP-MAP=MPEGTS:1\n"
    assert hls.timestamp_mapped(cue, 10).endswith("\nX-TIMESTAMP-MAP=MPEGTS:1\n")


# ---- the live master (media_pipelines.live.master) ----

# As ffmpeg 5.1 writes it for the `tiny` live ladder.
FFMPEG_LIVE_MASTER = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-STREAM-INF:BANDWIDTH=510400,RESOLUTION=426x240,CODECS="avc1.640015,mp4a.40.2"
240p/index.m3u8

#EXT-X-STREAM-INF:BANDWIDTH=235400,RESOLUTION=256x144,CODECS="avc1.64000c,mp4a.40.2"
144p/index.m3u8

"""


def test_the_live_master_gets_the_authoring_tags_and_lists_the_start_variant_first():
    text = master.live_master(
        FFMPEG_LIVE_MASTER, ladder=live_ladder("tiny"), frame_rates={"240p": 25.0, "144p": 25.0}
    )
    assert text.splitlines() == [
        "#EXTM3U",
        "#EXT-X-VERSION:6",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        "#EXT-X-STREAM-INF:BANDWIDTH=235400,AVERAGE-BANDWIDTH=214000,RESOLUTION=256x144,"
        'CODECS="avc1.64000c,mp4a.40.2",FRAME-RATE=25.000',
        "144p/index.m3u8",
        "#EXT-X-STREAM-INF:BANDWIDTH=510400,AVERAGE-BANDWIDTH=464000,RESOLUTION=426x240,"
        'CODECS="avc1.640015,mp4a.40.2",FRAME-RATE=25.000',
        "240p/index.m3u8",
    ]
    # Written once: a second pass changes nothing.
    again = master.live_master(
        text, ladder=live_ladder("tiny"), frame_rates={"240p": 25.0, "144p": 25.0}
    )
    assert again == text


def test_a_live_rung_without_audio_or_measured_rate_or_known_name():
    silent = FFMPEG_LIVE_MASTER.replace(',mp4a.40.2"', '"').replace("144p/", "other/")
    text = master.live_master(silent, ladder=live_ladder("tiny"), frame_rates={"240p": None})
    assert (
        'BANDWIDTH=510400,AVERAGE-BANDWIDTH=400000,RESOLUTION=426x240,CODECS="avc1.640015"\n'
        in (text)
    )
    assert '#EXT-X-STREAM-INF:BANDWIDTH=235400,RESOLUTION=256x144,CODECS="avc1.64000c"\n' in text
    assert "FRAME-RATE" not in text
