"""Real media peers the camera and integration tests share: GStreamer's RTSP server (run by
Debian's python3, whose ``gi`` bindings the venv does not have), an aiortc WHIP publisher and
a browser WHIP publisher page, plus free ports and the skip reason when GStreamer is
missing."""

from __future__ import annotations

import select
import socket
import subprocess
from pathlib import Path

import httpx
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer

REPO = Path(__file__).resolve().parents[1]
RTSP_SERVER_SCRIPT = REPO / "scripts" / "rtsp_server.py"
SYSTEM_PYTHON = "/usr/bin/python3"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gst_rtsp_missing() -> str | None:
    """Why GStreamer's RTSP server cannot run here, or None when it can."""
    probe = (
        "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0');"
        "from gi.repository import Gst; Gst.init(None);"
        "assert Gst.ElementFactory.find('qtdemux') and Gst.ElementFactory.find('rtph264pay')"
    )
    try:
        done = subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{SYSTEM_PYTHON} unusable: {exc}"
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines() or ["?"]
        return (
            "GStreamer's RTSP server is not installed (apt-get install -y --no-install-recommends "
            "gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-base "
            "gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly): " + lines[-1]
        )
    return None

class RtspServer:
    """scripts/rtsp_server.py as a subprocess (GStreamer), serving ``clip`` as it is (no
    re-encode) at its own pace, each client from the start — or, without a clip, a live
    640×360 25 fps test pattern."""

    def __init__(self, port: int, clip: Path | None = None) -> None:
        self.port = port
        self.clip = clip
        self.url = f"rtsp://127.0.0.1:{port}/stream"
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        """Start and wait until it listens (it prints ``READY``)."""
        proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(RTSP_SERVER_SCRIPT), "--port", str(self.port),
             *(["--file", str(self.clip)] if self.clip is not None else [])],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.proc = proc
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        line = proc.stdout.readline() if ready else ""
        if not line.startswith("READY"):
            self.kill()
            raise RuntimeError(f"RTSP server did not start: {line!r}")

    def kill(self) -> None:
        """SIGKILL: the server vanishes mid-stream, as a camera losing power would."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            for pipe in (self.proc.stdout, self.proc.stderr):
                if pipe is not None:
                    pipe.close()
            self.proc = None


PUBLISH_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>WHIP publisher</title></head><body><script>
// A minimal WHIP client (RFC 9725): camera → offer (with all candidates) → POST → answer.
async function publish(url, token) {
  const stream = await navigator.mediaDevices.getUserMedia({video: {width: 640, height: 480}});
  const pc = new RTCPeerConnection();
  for (const track of stream.getVideoTracks()) pc.addTransceiver(track, {direction: "sendonly"});
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((done) => {
    if (pc.iceGatheringState === "complete") return done();
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") done();
    });
    setTimeout(done, 5000);
  });
  const response = await fetch(url, {
    method: "POST",
    headers: {"Content-Type": "application/sdp", "Authorization": "Bearer " + token},
    body: pc.localDescription.sdp,
  });
  if (response.status !== 201) return {status: response.status};
  await pc.setRemoteDescription({type: "answer", sdp: await response.text()});
  window.publisher = pc;
  return {status: response.status, location: response.headers.get("Location")};
}
</script></body></html>
"""


class Publisher:
    """An aiortc peer sending a clip (looped) to a WHIP URL, as an encoder in the field would."""

    def __init__(self, clip: Path) -> None:
        self.player = MediaPlayer(str(clip), loop=True)
        self.pc = RTCPeerConnection()
        assert self.player.video is not None
        self.pc.addTransceiver(self.player.video, direction="sendonly")

    async def post(self, client: httpx.AsyncClient, url: str, token: str) -> httpx.Response:
        """Offer, POST it with the bearer token, and take the answer on 201."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        response = await client.post(
            url,
            content=self.pc.localDescription.sdp,
            headers={"Content-Type": "application/sdp", "Authorization": f"Bearer {token}"},
        )
        if response.status_code == 201:
            await self.pc.setRemoteDescription(
                RTCSessionDescription(sdp=response.text, type="answer")
            )
        return response

    async def close(self) -> None:
        await self.pc.close()
        if self.player.video is not None:
            self.player.video.stop()
