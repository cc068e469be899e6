"""Print pmproxy's OpenMetrics for the metric names given as arguments
(http://localhost:44322/metrics?names=...), as a scraper reads them.

pmproxy may end a chunked reply without its last empty chunk: what came
is printed all the same."""

import http.client
import sys


def main():
    conn = http.client.HTTPConnection("localhost", 44322, timeout=10)
    conn.request("GET", "/metrics?names=" + ",".join(sys.argv[1:]))
    reply = conn.getresponse()
    try:
        body = reply.read()
    except http.client.IncompleteRead as e:
        body = e.partial
    sys.stdout.write(body.decode("utf-8", "replace"))
    return 0 if reply.status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
