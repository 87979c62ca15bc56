// The deployment examples are checked, not just shipped: Kubernetes manifests against the Kubernetes
// OpenAPI schemas (kubernetes-models' validators) plus what the schema cannot know (the embedded collector
// config is valid, probes hit /healthz on the metrics port, the secret and state volume line up); the systemd
// unit with `systemd-analyze verify` where systemd is installed; one install path across all examples.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { ConfigMap, PersistentVolumeClaim, Secret, Service } from "kubernetes-models/v1";
import { StatefulSet } from "kubernetes-models/apps/v1";
import { validateConfig } from "../src/config/load.js";
import { ROOT } from "./helpers/harness.js";

const K8S = join(ROOT, "examples/kubernetes");
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "v1/ConfigMap": ConfigMap as never,
  "v1/Secret": Secret as never,
  "v1/Service": Service as never,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim as never,
  "apps/v1/StatefulSet": StatefulSet as never,
};
type Doc = { apiVersion: string; kind: string; metadata: { name: string }; [k: string]: unknown };
type Any = any;

function manifests(file: string): Doc[] {
  return parseAllDocuments(readFileSync(join(K8S, file), "utf8")).map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors[0]!.message}`);
    return d.toJS() as Doc;
  });
}

describe("Kubernetes manifests", () => {
  const files = readdirSync(K8S).filter((f) => f.endsWith(".yaml"));

  it("every object validates against the Kubernetes OpenAPI schema", () => {
    expect(files).toEqual(expect.arrayContaining(["secret.yaml", "statefulset-exec.yaml", "statefulset-forward.yaml"]));
    for (const file of files) {
      for (const doc of manifests(file)) {
        const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
        expect(Model, `${file}: ${doc.apiVersion} ${doc.kind} has no model here`).toBeDefined();
        expect(() => new Model!(doc as never).validate(), `${file}: ${doc.kind} ${doc.metadata.name}`).not.toThrow();
      }
    }
  });

  it("a schema violation is caught (the check is not a no-op)", () => {
    const [sts] = manifests("statefulset-forward.yaml").filter((d) => d.kind === "StatefulSet") as Any[];
    sts.spec.template.spec.containers[0].ports[0].containerPort = "metrics";
    expect(() => new StatefulSet(sts).validate()).toThrow(/containerPort/);
  });

  for (const [file, variant] of [
    ["statefulset-forward.yaml", "forward"],
    ["statefulset-exec.yaml", "exec"],
  ] as const) {
    it(`${variant}: one replica, state on a PVC, client secret from the Secret, a valid collector config, non-root read-only`, () => {
      const docs = manifests(file) as Any[];
      const cm = docs.find((d) => d.kind === "ConfigMap");
      const sts = docs.find((d) => d.kind === "StatefulSet");
      const secret = manifests("secret.yaml")[0] as Any;
      const config = validateConfig(parseYaml(cm.data["config.yaml"]), `${file} config.yaml`);
      parseYaml(cm.data["fluent-bit.yaml"]);
      expect(sts.spec.replicas).toBe(1);
      expect(docs.find((d) => d.kind === "Service").metadata.name).toBe(sts.spec.serviceName);
      const pod = sts.spec.template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001 });
      const all = [...(pod.initContainers ?? []), ...pod.containers];
      const locked = { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false };
      for (const c of all) expect(c.securityContext, c.name).toMatchObject(locked);
      const runner = all.find((c: Any) => c.env?.some((e: Any) => e.name === "O365_CLIENT_SECRET"));
      expect(runner.env.find((e: Any) => e.name === "O365_CLIENT_SECRET").valueFrom.secretKeyRef).toEqual({
        name: secret.metadata.name,
        key: Object.keys(secret.stringData)[0],
      });
      expect(runner.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
      const stateMount = runner.volumeMounts.find((m: Any) => config.state_dir.startsWith(`${m.mountPath}/`));
      expect(stateMount, "state_dir is mounted").toBeDefined();
      expect(sts.spec.volumeClaimTemplates.map((v: Any) => v.metadata.name)).toContain(stateMount.name);
      expect(runner.volumeMounts.some((m: Any) => m.mountPath === "/tmp")).toBe(true);
      if (variant === "forward") {
        expect(runner.args).toEqual(["run", "--config", "/etc/o365-message-trace/config.yaml"]);
        const port = runner.ports.find((p: Any) => p.name === "metrics").containerPort;
        expect(config.metrics.listen).toBe(`0.0.0.0:${port}`);
        for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"])
          expect(runner[probe].httpGet, probe).toEqual({ path: "/healthz", port: "metrics" });
        const fluentBit = pod.initContainers.find((c: Any) => c.name === "fluent-bit");
        expect(fluentBit.restartPolicy).toBe("Always"); // native sidecar: up before, down after the collector
        const input = parseYaml(cm.data["fluent-bit.yaml"]).pipeline.inputs[0];
        const forward = config.sink.forward as { port: number; host: string };
        expect(input).toMatchObject({ name: "forward", port: forward.port, listen: forward.host });
      } else {
        const input = parseYaml(cm.data["fluent-bit.yaml"]).pipeline.inputs[0];
        expect(input.name).toBe("exec");
        expect(input.command).toMatch(/ once --config \/etc\/o365-message-trace\/config\.yaml$/);
        expect(config.sink.type).toBe("stdout");
      }
    });
  }
});

describe("systemd unit", () => {
  const unitFile = join(ROOT, "examples/forward/o365-message-trace.service");
  const unit = readFileSync(unitFile, "utf8");
  const keys = new Map<string, string[]>();
  for (const line of unit.split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) keys.set(m[1]!, [...(keys.get(m[1]!) ?? []), m[2]!]);
  }
  const one = (k: string) => keys.get(k)?.[0];

  it("is hardened: its own user, state directory, read-only system, no new privileges, restarts, secrets from a file", () => {
    expect(one("ExecStart")).toBe("/usr/local/bin/o365-message-trace run --config /etc/o365-message-trace/config.yaml");
    expect(one("DynamicUser")).toBe("yes");
    expect(one("StateDirectory")).toBe("o365-message-trace");
    expect(one("Environment")).toContain("O365_STATE_DIR=/var/lib/o365-message-trace");
    expect(one("ProtectSystem")).toBe("strict");
    expect(one("NoNewPrivileges")).toBe("yes");
    expect(one("PrivateTmp")).toBe("yes");
    expect(one("Restart")).toBe("on-failure");
    expect(one("RestartPreventExitStatus")).toBe("2"); // config errors do not heal by restarting
    expect(one("EnvironmentFile")).toBe("/etc/o365-message-trace/secrets.env");
    expect(Number(one("TimeoutStopSec"))).toBeGreaterThan(10); // above the collector's 10 s shutdown bound
  });

  const analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].find((p) => existsSync(p));
  const isRoot = process.getuid?.() === 0;
  const why = !analyze
    ? "systemd-analyze is not installed (apt-get install systemd)"
    : !isRoot
      ? "needs root for a private mount namespace holding a stand-in /usr/local/bin/o365-message-trace"
      : "";
  it.skipIf(!!why)(`passes systemd-analyze verify with no warning${why ? ` (skipped: ${why})` : ""}`, () => {
    // verify checks that ExecStart's binary exists: a stand-in on a tmpfs in a private mount namespace, so
    // the unit is verified exactly as shipped without touching the host's /usr/local/bin.
    const script =
      'mount -t tmpfs tmpfs /usr/local/bin && printf "#!/bin/sh\\n" > /usr/local/bin/o365-message-trace && chmod +x /usr/local/bin/o365-message-trace && exec "$1" verify "$0" 2>&1';
    const out = execFileSync("unshare", ["--mount", "sh", "-c", script, unitFile, analyze!], { encoding: "utf8" });
    expect(out.trim()).toBe("");
  });
});

describe("one install path in every example", () => {
  it("commands are /usr/local/bin/o365-message-trace with /etc/o365-message-trace/config.yaml", () => {
    // Config files only (prose in .md files mentions the commands without paths).
    const files = execFileSync("git", ["ls-files", "examples"], { cwd: ROOT, encoding: "utf8" })
      .split("\n")
      .filter((f) => f && !f.endsWith(".md"));
    const commands: string[] = [];
    for (const f of files) {
      if (!existsSync(join(ROOT, f))) continue;
      for (const line of readFileSync(join(ROOT, f), "utf8").split("\n")) {
        if (line.trim().startsWith("#") || !/o365-message-trace(\.js)?"?,? "?(once|run)\b/.test(line)) continue;
        commands.push(`${f}: ${line.trim()}`);
        const bin = f.includes("kubernetes/statefulset-exec")
          ? "/opt/o365mt/o365-message-trace/bin/o365-message-trace.js"
          : "/usr/local/bin/o365-message-trace";
        expect(line, f).toContain(bin);
        expect(line, f).toMatch(/--config"?,? "?\/etc\/o365-message-trace\/config\.yaml\b/);
      }
    }
    expect(commands.length, commands.join("\n")).toBeGreaterThanOrEqual(6);
  });
});

describe("README Deploy section", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const deploy = readme.slice(readme.indexOf("## Deploy"), readme.indexOf("## Authentication"));
  const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");

  it("uses the tested commands and files", () => {
    expect(deploy).toContain("sh scripts/production-install.sh pack . /tmp/pkg");
    expect(deploy).toContain("sh scripts/production-install.sh install /tmp/pkg/o365-message-trace.tgz /usr/local");
    const volume = /^VOLUME \["([^"]+)"\]$/m.exec(dockerfile)![1]!;
    expect(deploy).toContain(`-v o365mt-contoso:${volume}`);
    expect(deploy).toContain("--read-only --tmpfs /tmp");
    const secret = manifests("secret.yaml")[0] as Any;
    expect(deploy).toContain(`kubectl create secret generic ${secret.metadata.name} --from-literal=${Object.keys(secret.stringData)[0]}=`);
    for (const m of deploy.matchAll(/(?:kubectl apply -f|cp|install -D -m 0644) (examples\/\S+)/g))
      expect(existsSync(join(ROOT, m[1]!)), m[1]).toBe(true);
  });

  it("links stay inside the repository and resolve", () => {
    const links = [...readme.matchAll(/\]\(([^)]+)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(5);
    for (const link of links) {
      expect(link, "no links out of the repository").not.toMatch(/^[a-z]+:/i);
      const path = link.split("#")[0]!;
      if (path) expect(existsSync(join(ROOT, path)), link).toBe(true);
    }
  });
});
