"""Agent API workload against a running help desk (`bin/helpdesk up`): prints figures.

    .venv/bin/python bench/api_tickets.py --url http://127.0.0.1:8080 --token TOKEN
"""
import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import requests


def timed(session, method, url, **kwargs):
    started = time.perf_counter()
    response = session.request(method, url, timeout=30, **kwargs)
    response.raise_for_status()
    return time.perf_counter() - started, response.json()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--token", required=True)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    api = f"{args.url}/api/v1"
    headers = {"Authorization": f"Bearer {args.token}"}
    setup = requests.Session()
    setup.headers.update(headers)
    department = setup.post(f"{api}/departments", json={"name": f"Bench {time.time()}"}).json()

    def one(n):
        session = requests.Session()
        session.headers.update(headers)
        kind = n % 3
        if kind == 0:
            return "create", timed(session, "POST", f"{api}/tickets", json={
                "subject": f"Bench {n}", "body": "text", "department_id": department["id"],
                "customer": {"email": f"bench{n % 50}@mail.example"}})[0]
        if kind == 1:
            return "list", timed(session, "GET", f"{api}/tickets?per_page=25")[0]
        return "counts", timed(session, "GET", f"{api}/tickets/counts")[0]

    started = time.perf_counter()
    with ThreadPoolExecutor(args.clients) as pool:
        results = list(pool.map(one, range(args.requests)))
    elapsed = time.perf_counter() - started
    print(f"{args.requests} requests, {args.clients} clients: {args.requests / elapsed:.0f} req/s")
    for kind in ("create", "list", "counts"):
        times = sorted(t for k, t in results if k == kind)
        p99 = times[int(len(times) * 0.99) - 1]
        print(f"  {kind:7s} p50 {statistics.median(times) * 1000:.1f} ms  p99 {p99 * 1000:.1f} ms")


if __name__ == "__main__":
    main()
