// After the changes: run the auth check (the same one as `auth-test`) against the tenant until collection
// works, waiting with a progress display for what Microsoft still has to do — provision the message trace
// service principal (up to 24 h), replicate a new app, secret or consent, apply the Global Reader role.
// Polls with backoff, bounded by --wait; on timeout the caller saves a record so `setup --resume` continues.
import { diagnose } from "../cli/auth-test.js";
import { formatDuration } from "../cli/progress.js";
import { loadConfig } from "../config/load.js";
import { CollectorError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { sleep } from "./graph-api.js";

export interface WaitOptions {
  configFile: string;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** First pause between checks (ms); grows ×1.5 up to maxIntervalMs. */
  intervalMs: number;
  maxIntervalMs?: number;
  /** Give up (resumably) after this long (ms). */
  limitMs: number;
  /** When the wait began (a resumed wait counts from the first run). */
  since?: number;
  out?: { write(s: string): unknown; isTTY?: boolean };
}

export type WaitResult =
  { ok: true; message: string; checks: number; waitedMs: number } | { ok: false; waitingFor: string; checks: number; waitedMs: number };

/** What a failed check means: something to wait for (a sentence), or a real problem (undefined). */
export function waitingFor(err: unknown): string | undefined {
  if (!(err instanceof CollectorError)) return undefined;
  const text = `${err.code ?? ""} ${err.message}`;
  if (err.code === "ServicePrincipalNotFound" || /service principal .*not provisioned/i.test(text)) {
    return "Microsoft to provision the Exchange message trace service principal in your tenant (usually minutes, up to 24 hours; Graph answers 401 until then)";
  }
  if (/AADSTS700016|AADSTS7000215|AADSTS700027/.test(text))
    return "the new app registration and its credential to reach Entra's sign-in service (usually under a few minutes)";
  if (err.kind === "permission" && /token has no|lacks the .*permission/i.test(text))
    return "the admin consent to appear in the app's tokens (usually a few minutes)";
  if (err.code === "MissingGlobalReaderRole" || /Global Reader/.test(text))
    return "the Global Reader role assignment to take effect (up to an hour)";
  if (err.kind === "transient") return `the service to answer (${err.message.slice(0, 120)})`;
  return undefined;
}

export async function waitUntilWorking(o: WaitOptions): Promise<WaitResult> {
  const out = o.out ?? process.stderr;
  const start = o.since ?? Date.now();
  const deadline = Date.now() + o.limitMs;
  let interval = o.intervalMs;
  let checks = 0;
  let last = "";
  for (;;) {
    checks++;
    let reason: string;
    try {
      const config = loadConfig(o.configFile, { env: o.env });
      const message = await diagnose(config, { logger: o.logger, env: o.env });
      if (out.isTTY && last) out.write("\n");
      return { ok: true, message, checks, waitedMs: Date.now() - start };
    } catch (err) {
      const w = waitingFor(err);
      if (!w) throw err;
      reason = w;
    }
    const now = Date.now();
    if (now >= deadline) {
      if (out.isTTY && last) out.write("\n");
      return { ok: false, waitingFor: reason, checks, waitedMs: now - start };
    }
    const pause = Math.min(interval, deadline - now);
    const line = `waiting for ${reason}: ${formatDuration(now - start)} elapsed, check ${checks} failed, next in ${formatDuration(pause)}`;
    if (out.isTTY) out.write(`\r\x1b[2K${line}`);
    else out.write(`o365-message-trace setup: ${line}\n`);
    last = line;
    await sleep(pause);
    interval = Math.min(interval * 1.5, o.maxIntervalMs ?? 60_000);
  }
}

/** "30m", "2h", "90s", "1d" or plain seconds → ms. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i.exec(text.trim());
  if (!m) throw new CollectorError("config", `${flag} ${text} is not a duration`, { hint: `e.g. ${flag} 30m, 2h or 90s` });
  const unit = (m[2] ?? "s").toLowerCase();
  return Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 86400_000 } as Record<string, number>)[unit]!;
}
