#!/usr/bin/env node
// Container HEALTHCHECK: GET /healthz on the metrics endpoint named by O365_METRICS_LISTEN ("PORT",
// "HOST:PORT"; a wildcard host is probed on loopback). Without it, metrics are off and there is nothing to
// probe, so the check passes (the process being alive is all Docker can know). Exit 0 healthy, 1 not.
import { request } from "node:http";

const listen = (process.env.O365_METRICS_LISTEN ?? "").trim();
if (!listen) process.exit(0);
const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]*)):(\d{1,5})$/.exec(listen) ?? /^()()(\d{1,5})$/.exec(listen);
if (!m) {
  process.stderr.write(`healthcheck: O365_METRICS_LISTEN=${listen} is not PORT or HOST:PORT\n`);
  process.exit(1);
}
let host = m[1] || m[2] || "127.0.0.1";
if (host === "0.0.0.0" || host === "::" || host === "") host = "127.0.0.1";
const req = request({ host, port: Number(m[3]), path: "/healthz", timeout: 4000 }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on("timeout", () => req.destroy(new Error("timeout")));
req.on("error", (err) => {
  process.stderr.write(`healthcheck: ${err.message}\n`);
  process.exit(1);
});
req.end();
