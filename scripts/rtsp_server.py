#!/usr/bin/python3
"""A local RTSP server for tests and demos (GStreamer's gst-rtsp-server).

Run it with Debian's ``/usr/bin/python3`` (``python3-gi`` is not in the venv)::

    /usr/bin/python3 scripts/rtsp_server.py --port 8554                 # live test pattern
    /usr/bin/python3 scripts/rtsp_server.py --port 8554 --file clip.mp4 # an H.264 MP4, once

It serves ``rtsp://127.0.0.1:PORT/stream`` and prints ``READY <url>`` on stdout once it
listens. Needs (apt): gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 python3-gi
gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly.
"""

from __future__ import annotations

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def pipeline(args: argparse.Namespace) -> str:
    if args.file:
        # The file's H.264 as it is: no re-encode, so the server costs almost nothing.
        location = args.file.replace('"', '\\"')
        return f'( filesrc location="{location}" ! qtdemux ! h264parse ! rtph264pay name=pay0 )'
    return (
        f"( videotestsrc is-live=true pattern={args.pattern} "
        f"! video/x-raw,width={args.width},height={args.height},framerate={args.fps}/1 "
        f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={args.fps} "
        "! h264parse ! rtph264pay name=pay0 config-interval=1 )"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--mount", default="/stream")
    parser.add_argument("--file", help="an MP4 with H.264 video (played once per client)")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--pattern", default="ball")
    args = parser.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(pipeline(args))
    # A live pattern is shared by all clients; a file restarts for each client.
    factory.set_shared(not args.file)
    server.get_mount_points().add_factory(args.mount, factory)
    if server.attach(None) == 0:
        print(f"cannot listen on {args.host}:{args.port}", file=sys.stderr)
        return 1

    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f"READY rtsp://{args.host}:{args.port}{args.mount}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
