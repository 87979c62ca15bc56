// The production install, run the way the container image runs it (Dockerfile): `npm pack` of the built
// checkout, installed with production dependencies only by scripts/production-install.sh (the script the
// Dockerfile calls), then every process runs as an unprivileged user (the Dockerfile's USER), with the install directory
// mounted read-only, as pid 1 of its own pid namespace. As root (CI) all of that is done with unshare and
// setpriv; as a non-root user the process already is unprivileged and the install is made read-only with
// chmod, but pid 1 cannot be had (the test says so and checks the rest).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent, request } from "undici";
import { stringify } from "yaml";
import { compare, HOUR, parseNdjson, recordIds, ROOT, tempDir, truthIds } from "./helpers/harness.js";

// The user and install command come from the Dockerfile itself, so the test and the image cannot drift.
const DOCKERFILE = readFileSync(join(ROOT, "Dockerfile"), "utf8");
const [UID, GID] = (/^USER (\d+):(\d+)$/m.exec(DOCKERFILE) ?? []).slice(1).map(Number) as [number, number];
const isRoot = process.getuid?.() === 0;
const hasUnshare = isRoot && existsSync("/usr/bin/unshare") && existsSync("/usr/bin/setpriv");
const root = tempDir("o365mt-prodinstall-");
const prefix = join(root, "prefix");
const work = join(root, "work");
const bin = join(prefix, "bin", "o365-message-trace");
const children: ChildProcess[] = [];

/** argv that runs `cmd` as the container does: nobody, read-only install, pid 1 (when root). */
function sandboxed(cmd: string[]): string[] {
  if (!hasUnshare) return cmd;
  const script = `mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec setpriv --reuid=${UID} --regid=${GID} --clear-groups -- "$@"`;
  return ["unshare", "--pid", "--fork", "--kill-child=SIGTERM", "--mount-proc", "sh", "-c", script, prefix, ...cmd];
}

const ENV = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/nonexistent", LANG: "C.UTF-8" };

type Started = { child: ChildProcess; stderrSoFar: () => string; done: Promise<{ code: number | null; stdout: string; stderr: string }> };

function start(cmd: string[], env: Record<string, string> = {}): Started {
  const [file, ...args] = sandboxed(cmd);
  const child = spawn(file!, args, { cwd: work, env: { ...ENV, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (c: Buffer) => (stdout += c));
  child.stderr!.on("data", (c: Buffer) => (stderr += c));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code) => resolve({ code, stdout, stderr })),
  );
  return { child, done, stderrSoFar: () => stderr };
}

/** The collector process itself: under unshare it is the child of unshare (pid 1 inside its namespace). */
function collectorPid(child: ChildProcess): number {
  if (!hasUnshare) return child.pid!;
  const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
  return Number(kids[0]);
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

async function waitFor(pred: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > until) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(() => {
  chmodSync(root, 0o755);
  mkdirSync(work, { recursive: true });
  if (isRoot) chownSync(work, UID, GID);
  execFileSync("sh", [join(ROOT, "scripts/production-install.sh"), "pack", ROOT, root], { stdio: "pipe" });
  execFileSync("sh", [join(ROOT, "scripts/production-install.sh"), "install", join(root, "o365-message-trace.tgz"), prefix], {
    stdio: "pipe",
    timeout: 150_000,
  });
  if (!hasUnshare) execFileSync("chmod", ["-R", "a-w", prefix]);
}, 180_000);

afterAll(() => {
  // setpriv drops unshare's --kill-child death signal, so the collector itself is signalled.
  for (const c of children) {
    if (c.exitCode !== null) continue;
    try {
      process.kill(collectorPid(c), "SIGKILL");
    } catch {
      c.kill("SIGKILL");
    }
  }
  if (!hasUnshare) execFileSync("chmod", ["-R", "u+w", prefix]);
  rmSync(root, { recursive: true, force: true });
});

describe("production install (npm pack, --omit=dev, the image's user, read-only, pid 1)", () => {
  it("the Dockerfile installs with the script this test runs, as an unprivileged numeric user, and runs `run` as pid 1", () => {
    expect(UID).toBeGreaterThan(0);
    expect(DOCKERFILE).toMatch(/RUN npm run build && sh scripts\/production-install\.sh pack \/src \/tmp\/pkg/);
    expect(DOCKERFILE).toMatch(
      /RUN apt-get [^\n]*python3 make g\+\+ \\\n && sh \/tmp\/production-install\.sh install \/tmp\/o365-message-trace\.tgz \/usr\/local/,
    );
    expect(DOCKERFILE).toMatch(/^ENTRYPOINT \["\/usr\/local\/bin\/o365-message-trace"\]$/m);
    expect(DOCKERFILE).toMatch(/^CMD \["run", "--config", "\/etc\/o365-message-trace\/config\.yaml"\]$/m);
    expect(DOCKERFILE).toMatch(/HEALTHCHECK[^]*bin\/healthcheck\.js/);
  });

  it("packs the compiled CLI and no sources or tests, and installs no dev dependency", () => {
    const files = execFileSync("tar", ["-tzf", join(root, "o365-message-trace.tgz")], { encoding: "utf8" }).split("\n");
    expect(files).toContain("package/dist/cli/main.js");
    expect(files).toContain("package/bin/o365-message-trace.js");
    expect(files.filter((f) => f.startsWith("package/src/") || f.startsWith("package/test/"))).toEqual([]);
    const mods = join(prefix, "lib/node_modules/o365-message-trace/node_modules");
    for (const dev of ["typescript", "vitest", "@types/node"]) expect(existsSync(join(mods, dev)), dev).toBe(false);
    if (!hasUnshare)
      console.warn(
        `production-install: not root, so no pid namespace or read-only bind mount; checked as uid ${process.getuid?.()} with a chmod a-w install`,
      );
  });

  it("`demo` works from the production install", async () => {
    const r = await start([bin, "demo", "--quiet"]).done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/lost 0, duplicated 0/);
  }, 60_000);

  it("`once` against `simulate`, both from the install, reproduces the truth; `run` stops on SIGTERM as pid 1", async () => {
    const caFile = join(work, "sim-ca.pem");
    const sim = start([bin, "simulate", "--port", "0", "--seed", "3", "--rate", "120", "--ca-out", caFile]);
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: sim.child.stdout! }).once("line", resolve);
      sim.child.once("exit", (code) => reject(new Error(`simulate exited ${code}`)));
    });
    type SimInfo = { url: string; tenantId: string; clientId: string; clientSecret: string; graphBase: string; rwsBase: string };
    const info = JSON.parse(first) as SimInfo;
    const T0 = Date.UTC(2026, 10, 22, 0, 0, 0);
    const config = join(work, "config.yaml");
    writeFileSync(
      config,
      stringify({
        tenant_id: info.tenantId,
        auth: { client_id: info.clientId, client_secret: info.clientSecret },
        endpoints: { login: info.url, graph: info.graphBase, rws: info.rwsBase },
        http: { ca_file: caFile },
        request_budget: { limit: 100000, window_seconds: 1 },
        delay: 0,
        window: 60,
        max_windows_per_run: 2,
        frequency: 3600,
        start: new Date(T0).toISOString(),
        state_dir: join(work, "state"),
      }),
    );
    const env = { O365MT_NOW: new Date(T0 + 2 * HOUR).toISOString() };
    const once = await start([bin, "once", "--config", config], env).done;
    expect(once.code, once.stderr).toBe(0);
    const res = await request(`${info.url}/_sim/truth?from=${new Date(T0).toISOString()}&to=${new Date(T0 + 2 * HOUR).toISOString()}`, {
      dispatcher: new Agent({ connect: { ca: readFileSync(caFile, "utf8") } }),
    });
    const truth = (await res.body.json()) as { value: Parameters<typeof truthIds>[0] };
    expect(truth.value.length).toBeGreaterThan(100);
    expect(compare(truthIds(truth.value), recordIds(parseNdjson(once.stdout)))).toEqual({ lost: 0, duplicates: 0, extra: 0 });

    // The image's default command is `run`; as pid 1 a process gets no default signal handling, so
    // SIGTERM works only because the collector handles it.
    const port = await freePort();
    const metricsEnv = { O365_METRICS_LISTEN: `127.0.0.1:${port}` };
    const run = start([bin, "run", "--config", config], { O365MT_NOW: new Date(T0 + 4 * HOUR).toISOString(), ...metricsEnv });
    let pid = 0;
    await waitFor(() => {
      try {
        pid = collectorPid(run.child);
        // Signal only once the collector has its handlers: before that, pid 1 ignores SIGTERM by design.
        return pid > 0 && run.stderrSoFar().includes("daemon started");
      } catch {
        return false;
      }
    }, 10_000);
    if (hasUnshare) expect(readFileSync(`/proc/${pid}/status`, "utf8")).toMatch(/^NSpid:\s+\d+\s+1$/m);
    // The image's HEALTHCHECK command: healthy with the metrics endpoint up, a pass when metrics are off.
    const healthcheck = [process.execPath, join(prefix, "lib/node_modules/o365-message-trace/bin/healthcheck.js")];
    expect((await start(healthcheck, metricsEnv).done).code).toBe(0);
    expect((await start(healthcheck).done).code).toBe(0);
    expect((await start(healthcheck, { O365_METRICS_LISTEN: `127.0.0.1:${await freePort()}` }).done).code).toBe(1);
    process.kill(pid, "SIGTERM");
    const stuck = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`run did not stop on SIGTERM: ${run.stderrSoFar()}`)), 10_000),
    );
    const stopped = await Promise.race([run.done, stuck]);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stderr).toMatch(/SIGTERM received/);
    process.kill(collectorPid(sim.child), "SIGTERM");
    await sim.done;
  }, 90_000);
});
