"""Serve a video file as a live MPEG-TS stream over UDP, in real time, for the live-source tests."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import av


def serve_udp(path: Path, port: int, /, *, speed: float = 1.0) -> threading.Thread:
    """Send ``path`` to ``udp://127.0.0.1:PORT`` at ``speed`` x real time, from a new thread.

    The packets are copied, not re-encoded (the MPEG-TS muxer adds the H.264 start codes), and
    paced by their timestamps, as a camera or a streaming server would send them.
    """

    def send() -> None:
        with av.open(str(path)) as src:
            vin = src.streams.video[0]
            url = f"udp://127.0.0.1:{port}?pkt_size=1316"
            with av.open(url, "w", format="mpegts") as out:
                vout = out.add_stream_from_template(vin)
                t0 = time.monotonic()
                for packet in src.demux(vin):
                    if packet.dts is None:
                        continue
                    due = float(packet.dts * vin.time_base) / speed
                    delay = t0 + due - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    packet.stream = vout
                    out.mux(packet)

    thread = threading.Thread(target=send, name="udp-sender", daemon=True)
    thread.start()
    return thread
