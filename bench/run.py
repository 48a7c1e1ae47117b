#!/usr/bin/env python3
"""Runs the benchmark programs against one broker and prints a markdown table.

Called by scripts/bench.sh inside scripts/with-broker.sh (EMQ_TEST_HOST and
EMQ_TEST_PORT name the broker). The clients run interleaved, one scenario at
a time (A B C D A B C D ...), for --rounds rounds; the table shows medians
and the ratios embermq/peer. The method follows ../shared/BENCHMARKS.md:

- throughput: messages the subscriber (same library) received divided by
  (its last receive - the publisher's first publish); lost ones reported;
- round trip: publish to the client's own subscription, warm-up first, the
  PUBACK awaited untimed before the next publish;
- instructions per message: callgrind of a run with N messages minus a run
  with N = 0, divided by the messages;
- syscalls per message: perf stat -e raw_syscalls:sys_enter, N minus 0;
- heap allocations per message: bench/preload.c counts malloc calls, in the
  steady state (after the first tenth) of the throughput runs;
- peak RSS: /usr/bin/time -v for the publisher, VmHWM for the subscriber.
"""

import argparse
import datetime
import json
import os
import platform
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ACK_WAIT = "embermq, ack wait"
HOST = os.environ.get("EMQ_TEST_HOST", "127.0.0.1")
PORT = os.environ.get("EMQ_TEST_PORT", "1883")

# (column title, program, extra environment)
CLIENTS = [
    ("embermq", "bench_embermq", {}),
    # The same library, a full window waited out with emq_client_wait on the
    # oldest id instead of emq_client_poll (see bench/backend_embermq.c).
    (ACK_WAIT, "bench_embermq", {"BENCH_EMBERMQ_ACK_WAIT": "1"}),
    # The same library driven by its network thread (emq_client_start): the
    # caller publishes, a burst goes out in few writes.
    ("embermq, thread", "bench_embermq_thread", {}),
    ("libmosquitto", "bench_mosquitto", {}),
    # Paho has no TCP_NODELAY option; bench/preload.c sets it.
    ("Paho C sync", "bench_paho", {"BENCH_FORCE_NODELAY": "1"}),
    ("Paho C async", "bench_paho_async", {"BENCH_FORCE_NODELAY": "1"}),
    ("raw baseline", "bench_raw", {}),
]
PEERS = ["libmosquitto", "Paho C sync", "Paho C async", "raw baseline"]

# Throughput rows: (key, label, qos, payload bytes, window, full count, smoke count)
THROUGHPUT = [
    ("q0_64", "QoS 0, 64 B", 0, 64, 20, 100_000, 2_000),
    ("q0_4k", "QoS 0, 4 KiB", 0, 4096, 20, 100_000, 1_000),
    ("q1_64", "QoS 1, 64 B, window 20", 1, 64, 20, 20_000, 300),
    ("q1_4k", "QoS 1, 4 KiB, window 20", 1, 4096, 20, 20_000, 300),
    # Smoke counts for QoS 2 stay under 64: embermq drops the connection
    # when more inbound QoS 2 messages await PUBREL (see the README).
    ("q2_64", "QoS 2, 64 B, window 20", 2, 64, 20, 10_000, 50),
    ("q2_4k", "QoS 2, 4 KiB, window 20", 2, 4096, 20, 10_000, 50),
    ("q1_64_w1", "QoS 1, 64 B, window 1", 1, 64, 1, 2_000, 50),
    ("q1_4k_w1", "QoS 1, 4 KiB, window 1", 1, 4096, 1, 2_000, 50),
    ("q2_64_w1", "QoS 2, 64 B, window 1", 2, 64, 1, 1_000, 30),
    ("q2_4k_w1", "QoS 2, 4 KiB, window 1", 2, 4096, 1, 1_000, 30),
    ("q1_64_wmax", "QoS 1, 64 B, window 65535", 1, 64, 65535, 20_000, 300),
]

# Round-trip rows: (key, qos, warm-up, timed, full library defaults?)
LATENCY = [
    ("rtt_q0", 0, (100, 2000), (10, 100), False),
    ("rtt_q1", 1, (100, 2000), (10, 100), False),
    # Nagle on (each peer's default) costs ~44 ms per round trip: few samples.
    ("rtt_q1_defaults", 1, (5, 50), (1, 3), True),
]

# Cost runs (callgrind, perf): (key, role measured, qos, full N, smoke N)
COSTS = [
    ("pub_q0", "pub", 0, 10_000, 300),
    ("pub_q1", "pub", 1, 10_000, 300),
    ("sub_q0", "sub", 0, 10_000, 300),
]

RUN_TIMEOUT_S = 60  # the bound each program enforces on itself
failures = []


def log(message):
    print(message, file=sys.stderr, flush=True)


def parse_kv(text):
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            try:
                values[key.strip()] = float(value)
            except ValueError:
                values[key.strip()] = value.strip()
    return values


def cpu_busy_fraction(interval=0.25):
    """Share of all cores busy over `interval` seconds, from /proc/stat."""

    def sample():
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait

    total0, idle0 = sample()
    time.sleep(interval)
    total1, idle1 = sample()
    total = total1 - total0
    return 1.0 - (idle1 - idle0) / total if total > 0 else 0.0


class Runner:
    def __init__(self, build_dir, smoke, workdir):
        self.build_dir = build_dir
        self.smoke = smoke
        self.workdir = workdir
        self.preload = os.path.join(build_dir, "bench_preload.so")
        self.time_bin = shutil.which("time") or "/usr/bin/time"
        self.busy_starts = 0
        self.runs = 0

    def env(self, extra, preload=True):
        env = dict(os.environ)
        env.update(extra)
        if preload:
            env["LD_PRELOAD"] = self.preload
        return env

    def program(self, name):
        return os.path.join(self.build_dir, name)

    def wait_idle(self):
        """Waits (at most 5 s) until the other processes leave a core free."""
        if self.smoke:
            return
        self.runs += 1
        for _ in range(20):
            if cpu_busy_fraction() < 0.35:
                return
        self.busy_starts += 1

    def base_args(self, qos, size, count, window, topic):
        return ["--host", HOST, "--port", PORT, "--qos", str(qos), "--size", str(size),
                "--count", str(count), "--window", str(window), "--topic", topic,
                "--timeout-s", str(RUN_TIMEOUT_S)]

    def start_subscriber(self, prog, args, env, wrapper=()):
        sub = subprocess.Popen([*wrapper, self.program(prog), "sub", *args], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready, _, _ = select.select([sub.stdout], [], [], 30)
        line = sub.stdout.readline() if ready else ""
        if line.strip() != "ready":
            sub.kill()
            _, err = sub.communicate()
            raise RuntimeError(f"{prog} sub did not get ready: {err.strip()[-500:]}")
        return sub

    @staticmethod
    def finish(proc, name, timeout):
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()  # only processes this script started, by their Popen handle
            out, err = proc.communicate()
            raise RuntimeError(f"{name} did not finish in {timeout} s")
        if proc.returncode != 0:
            raise RuntimeError(f"{name} exited {proc.returncode}: {err.strip()[-500:]}")
        return out, err

    def pair(self, prog, extra_env, args, pub_wrapper=(), sub_wrapper=(), preload=True):
        """One publisher + one subscriber; returns (pub values, sub values, pub stderr)."""
        env = self.env(extra_env, preload)
        sub = self.start_subscriber(prog, args, env, sub_wrapper)
        try:
            pub = subprocess.Popen([*pub_wrapper, self.program(prog), "pub", *args], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            pub_out, pub_err = self.finish(pub, f"{prog} pub", RUN_TIMEOUT_S + 60)
        except BaseException:
            sub.kill()
            sub.communicate()
            raise
        sub_out, sub_err = self.finish(sub, f"{prog} sub", RUN_TIMEOUT_S + 60)
        return parse_kv(pub_out), parse_kv(sub_out), pub_err, sub_err

    def throughput(self, prog, extra_env, row, round_no):
        key, _, qos, size, window, full_n, smoke_n = row
        count = smoke_n if self.smoke else full_n
        topic = f"bench/{prog}/{key}/{round_no}/{os.getpid()}"
        args = self.base_args(qos, size, count, window, topic)
        self.wait_idle()
        pub, sub, pub_err, _ = self.pair(prog, extra_env, args, pub_wrapper=(self.time_bin, "-v"))
        received = int(sub.get("received", 0))
        elapsed_s = (sub.get("last_receive_ns", 0) - pub["first_publish_ns"]) / 1e9
        match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", pub_err)
        return {
            "msgs_per_s": received / elapsed_s if received and elapsed_s > 0 else 0.0,
            "lost": int(pub.get("published", count)) - received,
            "received": received,
            "pub_allocs": pub.get("allocs_per_msg"),
            "sub_allocs": sub.get("allocs_per_msg"),
            "pub_cpu_us": pub.get("cpu_us_per_msg"),
            "sub_cpu_us": sub.get("cpu_us_per_msg"),
            "pub_rss_kib": int(match.group(1)) if match else pub.get("peak_rss_kib"),
            "sub_rss_kib": sub.get("peak_rss_kib"),
        }

    def latency(self, prog, extra_env, row, round_no):
        key, qos, full, smoke, defaults = row
        warmup, count = smoke if self.smoke else full
        topic = f"bench/{prog}/{key}/{round_no}/{os.getpid()}"
        args = ["latency", *self.base_args(qos, 64, count, 20, topic), "--warmup", str(warmup)]
        env = self.env({} if defaults else extra_env)
        if defaults:
            args.append("--library-nodelay")
        self.wait_idle()
        proc = subprocess.Popen([self.program(prog), *args], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        out, _ = self.finish(proc, f"{prog} latency", RUN_TIMEOUT_S + 60)
        values = parse_kv(out)
        return {"p50_us": values.get("p50_us"), "p99_us": values.get("p99_us")}

    def callgrind_instructions(self, prog, extra_env, role, qos, count, topic):
        """Instructions of the measured process (pub or sub) with `count` messages."""
        out_file = os.path.join(self.workdir, f"callgrind.{prog}.{role}.{count}")
        wrapper = ("valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}")
        args = self.base_args(qos, 64, count, 20, topic)
        wrap = {"pub_wrapper": wrapper} if role == "pub" else {"sub_wrapper": wrapper}
        _, sub, _, _ = self.pair(prog, extra_env, args, **wrap)
        with open(out_file) as f:
            text = f.read()
        os.unlink(out_file)
        match = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
        if not match:
            raise RuntimeError(f"no callgrind total for {prog} {role}")
        return int(match.group(1)), int(sub.get("received", 0))

    def perf_syscalls(self, prog, extra_env, role, qos, count, topic):
        out_file = os.path.join(self.workdir, f"perf.{prog}.{role}.{count}")
        wrapper = ("perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "-o", out_file, "--")
        args = self.base_args(qos, 64, count, 20, topic)
        wrap = {"pub_wrapper": wrapper} if role == "pub" else {"sub_wrapper": wrapper}
        _, sub, _, _ = self.pair(prog, extra_env, args, **wrap)
        with open(out_file) as f:
            text = f.read()
        os.unlink(out_file)
        for line in text.splitlines():
            fields = line.split(",")
            if len(fields) > 2 and fields[2] == "raw_syscalls:sys_enter" and fields[0].isdigit():
                return int(fields[0]), int(sub.get("received", 0))
        raise RuntimeError(f"perf counted nothing for {prog}: {text.strip()[-300:]}")

    def cost_per_message(self, measure, prog, extra_env, cost):
        key, role, qos, full_n, smoke_n = cost
        count = smoke_n if self.smoke else full_n
        topic = f"bench/{prog}/{key}/{measure.__name__}/{os.getpid()}"
        self.wait_idle()
        with_messages, received = measure(prog, extra_env, role, qos, count, topic + "/n")
        self.wait_idle()
        without, _ = measure(prog, extra_env, role, qos, 0, topic + "/0")
        # A subscriber's share is per message it got; a publisher's per message sent.
        messages = received if role == "sub" else count
        return (with_messages - without) / messages if messages else None


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def perf_works():
    if shutil.which("perf") is None:
        return False
    probe = subprocess.run(["perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "--", "true"],
                           capture_output=True, text=True)
    return probe.returncode == 0 and "raw_syscalls:sys_enter" in probe.stderr \
        and "not supported" not in probe.stderr


def fmt(value, digits=0):
    if value is None:
        return "n/a"
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def machine_description():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    distro = ""
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    distro = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    mosquitto = "mosquitto"
    for path in ("mosquitto", "/usr/sbin/mosquitto"):
        binary = shutil.which(path) or (path if os.path.exists(path) else None)
        if binary:
            probe = subprocess.run([binary, "-h"], capture_output=True, text=True)
            match = re.search(r"mosquitto version (\S+)", probe.stdout + probe.stderr)
            if match:
                mosquitto = f"mosquitto {match.group(1)}"
            break
    return (f"{os.cpu_count()} vCPU {model}, {distro}, Linux {platform.release()}, "
            f"{mosquitto} on 127.0.0.1")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--smoke", action="store_true", help="tiny counts, one round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", help="also write the markdown here")
    parser.add_argument("--json", help="write every raw result here")
    options = parser.parse_args()
    rounds = 1 if options.smoke else options.rounds

    started = time.time()
    load_before = os.getloadavg()
    workdir = tempfile.mkdtemp(prefix="embermq-bench-")
    runner = Runner(options.build_dir, options.smoke, workdir)
    results = {}  # (metric key, client) -> list of values

    def record(key, client, value):
        results.setdefault((key, client), []).append(value)

    def attempt(what, body):
        try:
            return body()
        except (RuntimeError, OSError, KeyError, subprocess.SubprocessError) as err:
            failures.append(f"{what}: {err}")
            log(f"bench: FAILED {what}: {err}")
            return None

    try:
        for round_no in range(1, rounds + 1):
            log(f"bench: round {round_no}/{rounds}")
            for row in THROUGHPUT:
                for client, prog, env in CLIENTS:
                    if client == ACK_WAIT and row[2] == 0:
                        continue  # QoS 0 never waits for an ack
                    result = attempt(f"{client} {row[1]}",
                                     lambda: runner.throughput(prog, env, row, round_no))
                    if result is None:
                        record(row[0] + ".failed", client, 1)
                        continue
                    if result["received"] == 0:
                        failures.append(f"{client} {row[1]}: no message arrived")
                    record(row[0], client, result["msgs_per_s"])
                    record(row[0] + ".lost", client, result["lost"])
                    if row[0] in ("q0_64", "q1_64"):
                        record(row[0] + ".pub_allocs", client, result["pub_allocs"])
                        record(row[0] + ".pub_cpu", client, result["pub_cpu_us"])
                        record(row[0] + ".pub_rss", client, result["pub_rss_kib"])
                    if row[0] == "q0_64":
                        record("q0_64.sub_allocs", client, result["sub_allocs"])
                        record("q0_64.sub_cpu", client, result["sub_cpu_us"])
                        record("q0_64.sub_rss", client, result["sub_rss_kib"])
            for row in LATENCY:
                for client, prog, env in CLIENTS:
                    if (row[4] and client == "raw baseline") or client == ACK_WAIT:
                        continue  # no library default to speak of; no full window
                    result = attempt(f"{client} latency {row[0]}",
                                     lambda: runner.latency(prog, env, row, round_no))
                    if result is None:
                        record(row[0] + ".p50.failed", client, 1)
                        record(row[0] + ".p99.failed", client, 1)
                    else:
                        record(row[0] + ".p50", client, result["p50_us"])
                        record(row[0] + ".p99", client, result["p99_us"])

        # Instruction and syscall counts barely move between runs: one pass,
        # still interleaved. The smoke run checks the tooling on embermq only.
        cost_clients = CLIENTS[:1] if options.smoke else \
            [c for c in CLIENTS if c[0] != ACK_WAIT]
        has_perf = perf_works()
        if not has_perf:
            log("bench: perf stat cannot count syscalls here; syscall rows are n/a")
        log("bench: callgrind and perf passes")
        for cost in COSTS:
            for client, prog, env in cost_clients:
                value = attempt(f"{client} callgrind {cost[0]}",
                                lambda: runner.cost_per_message(runner.callgrind_instructions,
                                                                prog, env, cost))
                record(cost[0] + ".instr" + (".failed" if value is None else ""), client,
                       1 if value is None else value)
        if has_perf:
            for cost in COSTS:
                if cost[0] == "pub_q1":
                    continue
                for client, prog, env in cost_clients:
                    value = attempt(f"{client} perf {cost[0]}",
                                    lambda: runner.cost_per_message(runner.perf_syscalls,
                                                                    prog, env, cost))
                    record(cost[0] + ".syscalls" + (".failed" if value is None else ""),
                           client, 1 if value is None else value)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    load_after = os.getloadavg()
    table = render(results, rounds, options.smoke, started, load_before, load_after,
                   runner.busy_starts, runner.runs)
    print(table)
    if options.out:
        with open(options.out, "w") as f:
            f.write(table + "\n")
    if options.json:
        with open(options.json, "w") as f:
            json.dump({f"{k[0]}|{k[1]}": v for k, v in results.items()}, f, indent=1)
    if failures:
        log(f"bench: {len(failures)} run(s) failed (marked in the table):\n  "
            + "\n  ".join(failures))
        # The smoke run checks that the suite works; a full run reports.
        return 1 if options.smoke else 0
    return 0


def render(results, rounds, smoke, started, load_before, load_after, busy_starts, runs):
    clients = [c[0] for c in CLIENTS]

    def med(key, client):
        return median(results.get((key, client), []))

    lines = []
    date = datetime.date.today().isoformat()
    mode = "smoke run (tiny counts: checks the suite, not the speed)" if smoke else \
        f"medians of {rounds} interleaved rounds"
    lines.append(f"{machine_description()}; {date}; {mode}; load average "
                 f"{load_before[0]:.2f} before, {load_after[0]:.2f} after"
                 + (f"; {busy_starts} of {runs} runs started while the machine was busy"
                    if runs else "") + f"; took {time.time() - started:.0f} s.")
    lines.append("")
    header = ["metric", *clients, *(f"embermq / {p}" for p in PEERS)]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))

    def row(label, key, digits=0, lost_key=None):
        cells = []
        for client in clients:
            value = med(key, client)
            failed = sum(results.get((key + ".failed", client), []))
            cell = "failed" if value is None and failed else fmt(value, digits)
            if value is None and not failed and client == ACK_WAIT:
                cell = ""
            if lost_key:
                lost = sum(results.get((lost_key, client), []))
                if lost:
                    cell += f" ({lost:,} lost)"
            if value is not None and failed:
                cell += f" ({failed} of {failed + len(results[(key, client)])} runs failed)"
            cells.append(cell)
        ours = med(key, "embermq")
        ratios = []
        for peer in PEERS:
            theirs = med(key, peer)
            ratios.append(f"{ours / theirs:.2f}" if ours is not None and theirs else "n/a")
        lines.append("| " + " | ".join([label, *cells, *ratios]) + " |")

    for key, label, *_ in THROUGHPUT:
        row(f"{label}: msgs/s end to end", key, lost_key=key + ".lost")
    row("round trip QoS 0 p50 µs", "rtt_q0.p50", 1)
    row("round trip QoS 0 p99 µs", "rtt_q0.p99", 1)
    row("round trip QoS 1 p50 µs", "rtt_q1.p50", 1)
    row("round trip QoS 1 p99 µs", "rtt_q1.p99", 1)
    row("round trip QoS 1 p50 µs, library defaults (Nagle unless the library sets TCP_NODELAY)",
        "rtt_q1_defaults.p50", 1)
    row("instructions per QoS 0 publish (callgrind)", "pub_q0.instr")
    row("instructions per QoS 1 publish incl. PUBACK", "pub_q1.instr")
    row("instructions per QoS 0 message received", "sub_q0.instr")
    row("syscalls per QoS 0 publish (perf)", "pub_q0.syscalls", 2)
    row("syscalls per QoS 0 message received", "sub_q0.syscalls", 2)
    row("heap allocations per QoS 0 publish (steady state)", "q0_64.pub_allocs", 2)
    row("heap allocations per QoS 1 publish", "q1_64.pub_allocs", 2)
    row("heap allocations per QoS 0 message received", "q0_64.sub_allocs", 2)
    row("publisher CPU µs per QoS 0 message", "q0_64.pub_cpu", 2)
    row("publisher CPU µs per QoS 1 message", "q1_64.pub_cpu", 2)
    row("subscriber CPU µs per QoS 0 message", "q0_64.sub_cpu", 2)
    row("publisher peak RSS KiB (QoS 0 run, /usr/bin/time -v)", "q0_64.pub_rss")
    row("subscriber peak RSS KiB (QoS 0 run, VmHWM)", "q0_64.sub_rss")
    lines.append("")
    lines.append("msgs/s: higher is better (ratio above 1 favours embermq); every other row: "
                 "lower is better (ratio below 1 favours embermq). Payload 64 B unless noted; "
                 "TCP_NODELAY on for every client except in the library-defaults row.")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
