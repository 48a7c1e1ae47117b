#!/usr/bin/env python3
"""MQTT over WebSocket for the tests: websockify (from PyPI, installed by
scripts/install-deps.sh) bridging WebSocket connections to the test's
mosquitto, whose Debian build (2.0.11) has no working WebSocket listener.

    python3 scripts/ws-bridge.py [websockify options] 127.0.0.1:WS_PORT 127.0.0.1:MQTT_PORT

Any websockify option works (--cert/--key/--ssl-only for wss://). The one
change to websockify: it agrees to the `mqtt` subprotocol, which MQTT
clients ask for and must get (websockify picks only "binary" by itself).
Each connection is handled in a child process; run it in a process group
of its own to stop them all together.
"""

import sys
import warnings

# Without numpy websockify unmasks in pure Python: slower, fine for tests.
warnings.filterwarnings("ignore", message=".*numpy.*")

from websockify import websocketproxy, websockifyserver  # noqa: E402

_pick = websockifyserver.CompatibleWebSocket.select_subprotocol


def _select_mqtt(self, protocols):
    if "mqtt" in protocols:
        return "mqtt"
    return _pick(self, protocols)


websockifyserver.CompatibleWebSocket.select_subprotocol = _select_mqtt

if __name__ == "__main__":
    sys.argv[0] = "websockify"
    websocketproxy.websockify_init()
