#!/usr/bin/env python3
"""Bounded load and abuse run against `raddiag serve` (loopback only; stops by itself; not a ctest).

Starts the server on a free 127.0.0.1 port with a fresh data folder and a token, then sends N requests
from C concurrent clients, mixing valid uploads of real X-rays with malformed multipart bodies, oversized
bodies, traversal file names, zip bombs, bad tokens and slow partial uploads. Checks that the server stays
up, every valid job completes, and every bad request gets a 4xx (a stalled upload is cut off by the
server's read timeout); reports throughput, p50/p99 latency per kind and the server's peak RSS (VmHWM).

usage: bench/serve_load.py --raddiag build/raddiag --model MODEL [--requests 1000] [--clients 8]
           [--images ../shared/data/real/covid_cxr_ct/images] [--workers 1] [--shared-predictor] [--repeat-studies]
"""
import argparse, glob, http.client, io, json, os, random, shutil, socket, statistics, subprocess, sys, tempfile, threading, time, zipfile


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def multipart(parts):
    """parts: (field, filename or None, bytes) -> (body, content type)."""
    b = "----raddiagload%016x" % random.getrandbits(64)
    out = io.BytesIO()
    for field, name, data in parts:
        out.write(f"--{b}\r\n".encode())
        disp = f'form-data; name="{field}"' + (f'; filename="{name}"' if name is not None else "")
        out.write(f"Content-Disposition: {disp}\r\n\r\n".encode())
        out.write(data)
        out.write(b"\r\n")
    out.write(f"--{b}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={b}"


def zip_bytes(entries, method=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in entries:
            z.writestr(name, data)
    return buf.getvalue()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raddiag", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--images", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "real", "covid_cxr_ct", "images"))
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--shared-predictor", action="store_true")
    ap.add_argument("--max-upload-bytes", type=int, default=4 << 20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat-studies", dest="unique", action="store_false",
                    help="valid uploads reuse the real images as they are (idempotent: most answer 200 with the stored job)")
    a = ap.parse_args()
    random.seed(a.seed)
    images = sorted(glob.glob(os.path.join(a.images, "*.jpg")))
    if not images:
        sys.exit(f"no .jpg under {a.images}")
    image_bytes = [open(p, "rb").read() for p in images]

    data = tempfile.mkdtemp(prefix="raddiag-serve-load-")
    port = free_port()
    token = subprocess.run([a.raddiag, "serve", "token", "create", "--data", data], capture_output=True, text=True, check=True).stdout.strip()
    args = [a.raddiag, "serve", "--model", a.model, "--port", str(port), "--data", data, "--workers", str(a.workers),
            "--queue-size", "1000", "--max-upload-bytes", str(a.max_upload_bytes), "--read-timeout", "2", "--http-threads", "16"]
    if a.shared_predictor:
        args.append("--shared-predictor")
    log = open(os.path.join(data, "serve.log"), "w")
    server = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        server.kill()
        sys.exit("server did not start; log in " + log.name)

    peak = {"rss_kb": 0}
    stop = threading.Event()

    def watch_rss():
        while not stop.is_set():
            try:
                for line in open(f"/proc/{server.pid}/status"):
                    if line.startswith("VmHWM:"):
                        peak["rss_kb"] = max(peak["rss_kb"], int(line.split()[1]))
            except OSError:
                pass
            time.sleep(0.2)

    threading.Thread(target=watch_rss, daemon=True).start()
    auth = {"Authorization": "Bearer " + token}
    bomb = zip_bytes([("bomb.dcm", b"\0" * (64 << 20))])
    kinds = ["valid"] * 3 + ["malformed", "oversized", "traversal", "zipbomb", "badtoken", "slow"]

    def request(kind, i):
        """-> (status or 'closed', seconds, job id or None)"""
        t0 = time.monotonic()
        if kind == "slow":
            # Headers and a tenth of the body, then silence: the server's read timeout must end it.
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            body, ctype = multipart([("files", "x.jpg", image_bytes[0])])
            head = (f"POST /v1/studies HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: {ctype}\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode()
            s.sendall(head + body[: len(body) // 10])
            try:
                answer = s.recv(4096)
            except OSError:
                answer = b""
            s.close()
            status = int(answer.split()[1]) if answer.startswith(b"HTTP/1.1 ") else "closed"
            return status, time.monotonic() - t0, None
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = dict(auth)
        if kind == "valid":
            # Bytes after a JPEG's end are ignored by decoders: each upload is a new study, so a new job.
            data = random.choice(image_bytes) + (os.urandom(8) if a.unique else b"")
            body, ctype = multipart([("files", f"img{i}.jpg", data), ("modality", None, b"X-ray")])
        elif kind == "malformed":
            body, ctype = b"--nope\r\nContent-Disposition: form-data\r\n\r\ntruncated", "multipart/form-data; boundary=nope"
        elif kind == "oversized":
            body, ctype = multipart([("files", "big.dcm", b"\0" * (a.max_upload_bytes + 1024))])
        elif kind == "traversal":
            body, ctype = multipart([("files", "t.zip", zip_bytes([("../../etc/passwd.dcm", b"x" * 300)]))])
        elif kind == "zipbomb":
            body, ctype = multipart([("files", "b.zip", bomb)])
        else:  # badtoken
            body, ctype = multipart([("files", "x.jpg", image_bytes[0])])
            headers = {"Authorization": "Bearer rdg_0000_nothing"}
        headers["Content-Type"] = ctype
        try:
            c.request("POST", "/v1/studies", body=body, headers=headers)
            r = c.getresponse()
            payload = r.read()
            status = r.status
        except (ConnectionError, http.client.HTTPException, OSError):
            return "closed", time.monotonic() - t0, None
        finally:
            c.close()
        job = None
        if status in (200, 202):
            job = json.loads(payload)["id"]
        elif status >= 400:
            assert "error" in json.loads(payload), payload
        return status, time.monotonic() - t0, job

    plan = [random.choice(kinds) for _ in range(a.requests)]
    results = [None] * a.requests
    next_i = {"i": 0}
    lock = threading.Lock()

    def client():
        while True:
            with lock:
                i = next_i["i"]
                next_i["i"] += 1
            if i >= a.requests:
                return
            results[i] = (plan[i],) + request(plan[i], i)

    t0 = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(a.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0

    # Every accepted job completes.
    jobs = {r[3] for r in results if r[3]}
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    t_jobs = time.monotonic()
    pending = set(jobs)
    states = {}
    while pending and time.monotonic() - t_jobs < 1800:
        for j in list(pending):
            c.request("GET", "/v1/jobs/" + j, headers=auth)
            d = json.loads(c.getresponse().read())
            if d["state"] in ("done", "failed"):
                states[j] = d["state"]
                pending.discard(j)
        time.sleep(0.5)
    jobs_wall = time.monotonic() - t0
    c.request("GET", "/healthz")
    alive = c.getresponse().status == 200
    stop.set()
    time.sleep(0.3)
    server.terminate()
    server.wait(timeout=60)

    report = {"requests": a.requests, "clients": a.clients, "workers": a.workers, "shared_predictor": a.shared_predictor,
              "request_phase_s": round(wall, 2), "throughput_rps": round(a.requests / wall, 1),
              "all_jobs_done_s": round(jobs_wall, 2), "server_alive_after": alive, "server_peak_rss_mib": round(peak["rss_kb"] / 1024, 1),
              "jobs_accepted": len(jobs), "jobs_done": sum(1 for s in states.values() if s == "done"),
              "jobs_failed": sum(1 for s in states.values() if s == "failed"), "jobs_unfinished": len(pending), "by_kind": {}}
    lat_all = [r[2] for r in results]
    report["latency_p50_ms"] = round(1000 * statistics.median(lat_all), 1)
    report["latency_p99_ms"] = round(1000 * sorted(lat_all)[int(0.99 * (len(lat_all) - 1))], 1)
    bad_not_4xx = 0
    for kind in sorted(set(plan)):
        rs = [r for r in results if r[0] == kind]
        lat = sorted(r[2] for r in rs)
        statuses = {}
        for r in rs:
            statuses[str(r[1])] = statuses.get(str(r[1]), 0) + 1
            if kind not in ("valid", "slow") and not (isinstance(r[1], int) and 400 <= r[1] < 500):
                bad_not_4xx += 1
        report["by_kind"][kind] = {"n": len(rs), "statuses": statuses, "p50_ms": round(1000 * lat[len(lat) // 2], 1),
                                   "p99_ms": round(1000 * lat[int(0.99 * (len(lat) - 1))], 1)}
    report["bad_requests_without_4xx"] = bad_not_4xx
    ok = alive and not pending and bad_not_4xx == 0 and report["jobs_failed"] == 0
    if ok:
        shutil.rmtree(data, ignore_errors=True)
    else:
        report["kept_for_inspection"] = data  # serve.log and serve.sqlite (the failed jobs' errors)
    print(json.dumps(report, indent=1))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
