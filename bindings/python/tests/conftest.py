"""Fixtures: private mosquitto brokers on 127.0.0.1 (each its own config and
free ports, started and stopped by PID), the test certificates, and
clients that are always closed.

Environment (set by scripts/test-python.sh; the defaults work from the
repository root after that script has built once):
  EMBERMQ_LIB       libembermq.so (lwmqtt/_capi.py finds the build dir otherwise)
  EMQ_PY_CERTS      certificate dir (default: made with bindings/lua/tests/gen-certs.sh)
"""
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..")))

from lwmqtt import mqtt  # noqa: E402

# Short enough that a failure path never stalls a test for long.
COMMAND_TIMEOUT_MS = 5000


def free_port():
    return free_ports(1)[0]


def free_ports(count):
    """`count` distinct free ports: all bound at once, as ports picked one
    after another can repeat (a CI run gave one port to two listeners)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(s)
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


# Starts of a new broker, each on new ports if another process took one
# between our pick and mosquitto's bind.
START_ATTEMPTS = 5


def port_open(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def mosquitto_binary():
    for candidate in (shutil.which("mosquitto"), "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail("mosquitto not found (scripts/test-python.sh installs it)")


class Broker:
    """One mosquitto: a plain listener, and with `certs` three TLS ones
    (server auth, client certificate required, expired certificate), as
    scripts/with-broker.sh makes them. `login` ("user:password") requires
    that login; `acl` is the text of an ACL file."""

    def __init__(self, workdir, certs=None, login=None, acl=None):
        self.dir = workdir
        self.certs = certs
        self.login = login
        self.acl = acl
        self._pick_ports()
        self.started = False
        self.process = None
        self.log = os.path.join(workdir, "mosquitto.log")

    def _pick_ports(self):
        self.tls_port = self.mtls_port = self.expired_port = None
        if self.certs:
            self.port, self.tls_port, self.mtls_port, self.expired_port = free_ports(4)
        else:
            self.port = free_port()

    def _conf(self):
        lines = []
        if self.certs:
            for port, cert, require in (
                (self.tls_port, "server", "false"),
                (self.mtls_port, "server", "true"),
                (self.expired_port, "expired", "false"),
            ):
                lines += [
                    "listener %d 127.0.0.1" % port,
                    "cafile %s/ca.pem" % self.certs,
                    "certfile %s/%s.pem" % (self.certs, cert),
                    "keyfile %s/%s.key" % (self.certs, cert),
                    "require_certificate %s" % require,
                ]
        lines.append("listener %d 127.0.0.1" % self.port)
        if self.login:
            user, password = self.login.split(":", 1)
            passwd = os.path.join(self.dir, "passwd")
            subprocess.run(["mosquitto_passwd", "-b", "-c", passwd, user, password], check=True, capture_output=True)
            os.chmod(passwd, 0o600)
            lines += ["allow_anonymous false", "password_file " + passwd]
        else:
            lines.append("allow_anonymous true")
        if self.acl:
            acl_path = os.path.join(self.dir, "acl")
            with open(acl_path, "w") as f:
                f.write(self.acl)
            lines.append("acl_file " + acl_path)
        if os.getuid() == 0:
            lines.append("user root")  # else it drops to a user that cannot write here
        lines += ["log_dest file " + self.log, "log_type all", "connection_messages true", "persistence false"]
        path = os.path.join(self.dir, "mosquitto-%d.conf" % self.port)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def start(self):
        """Starts mosquitto; a restart (after `stop`) keeps the ports."""
        for attempt in range(1, START_ATTEMPTS + 1):
            if self._start_once():
                self.started = True
                return self
            in_use = "Address already in use" in self.read_log()
            if self.started or not in_use or attempt == START_ATTEMPTS:
                break
            self._pick_ports()
        pytest.fail("mosquitto did not start; log: %s" % self.read_log())

    def _start_once(self):
        conf = self._conf()
        self.process = subprocess.Popen(
            [mosquitto_binary(), "-c", conf], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        last_port = self.expired_port or self.port
        for _ in range(200):  # 10 s at most
            if self.process.poll() is not None:
                break
            if port_open(self.port) and port_open(last_port):
                return True
            time.sleep(0.05)
        self.stop()
        return False

    def stop(self):
        if self.process is None:
            return
        pid = self.process.pid
        try:
            os.kill(pid, 15)
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.kill(pid, 9)
            self.process.wait(timeout=5)
        except ProcessLookupError:
            pass
        self.process = None

    def read_log(self):
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ""


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    directory = os.environ.get("EMQ_PY_CERTS")
    if not directory:
        directory = str(tmp_path_factory.mktemp("certs"))
    subprocess.run(
        ["bash", os.path.join(ROOT, "bindings", "lua", "tests", "gen-certs.sh"), directory], check=True, stdout=subprocess.DEVNULL
    )
    return directory


@pytest.fixture
def make_broker(tmp_path, certs):
    """make_broker(**options) -> a started Broker, stopped after the test."""
    brokers = []

    def make(tls=True, login=None, acl=None):
        workdir = tmp_path / ("broker%d" % len(brokers))
        workdir.mkdir()
        broker = Broker(str(workdir), certs if tls else None, login, acl)
        brokers.append(broker)
        return broker.start()

    yield make
    for broker in brokers:
        broker.stop()


@pytest.fixture
def broker(make_broker):
    return make_broker()


@pytest.fixture
def make_client():
    """make_client(client_id=None, **kwargs) -> a Client closed after the test."""
    clients = []

    def make(client_id=None, clean_session=True, **kwargs):
        kwargs.setdefault("command_timeout", COMMAND_TIMEOUT_MS)
        client = mqtt.Client(client_id if client_id is not None else unique("c"), clean_session, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def wait_until(condition, timeout=5.0, step=0.01):
    """Polls condition() until true or `timeout` seconds; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)
