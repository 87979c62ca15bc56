// Which replica owns a tenant: rendezvous (highest random weight) hashing. Every replica computes the same
// owner from the tenant's name and the replica count alone, so no coordination is needed, and changing the
// count from n to n+1 moves only the tenants the new replica wins (about 1/(n+1) of them).
import { createHash } from "node:crypto";
import { CollectorError } from "../errors.js";

export interface Shard {
  index: number;
  count: number;
}

function weight(tenant: string, replica: number): bigint {
  return createHash("sha256").update(`${tenant}\u0000${replica}`).digest().readBigUInt64BE(0);
}

/** The replica (0 … count-1) that owns `tenant`. */
export function ownerOf(tenant: string, count: number): number {
  let best = 0;
  let bestWeight = -1n;
  for (let r = 0; r < count; r++) {
    const w = weight(tenant, r);
    if (w > bestWeight) {
      best = r;
      bestWeight = w;
    }
  }
  return best;
}

export function owns(shard: Shard | undefined, tenant: string): boolean {
  return !shard || shard.count <= 1 || ownerOf(tenant, shard.count) === shard.index;
}

/**
 * The shard from the config's `shard:` and the environment (which wins): O365_SHARD_INDEX / O365_SHARD_COUNT,
 * or, with a count but no index, the ordinal at the end of the pod name (a StatefulSet's `name-3`: POD_NAME,
 * else HOSTNAME). Undefined: this process owns every tenant.
 */
export function resolveShard(given: Partial<Shard> | undefined, env: NodeJS.ProcessEnv = process.env): Shard | undefined {
  const num = (name: string, v: string | undefined) => {
    if (v === undefined || v === "") return undefined;
    if (!/^\d+$/.test(v))
      throw new CollectorError("config", `${name}=${JSON.stringify(v)} is not a whole number`, { hint: `set ${name} to 0, 1, 2, …` });
    return Number(v);
  };
  const count = num("O365_SHARD_COUNT", env.O365_SHARD_COUNT) ?? given?.count;
  let index = num("O365_SHARD_INDEX", env.O365_SHARD_INDEX) ?? given?.index;
  if (count === undefined) {
    if (index !== undefined)
      throw new CollectorError("config", "shard.index is set but shard.count is not", {
        hint: "set shard.count (or O365_SHARD_COUNT) to the number of replicas",
      });
    return undefined;
  }
  if (index === undefined) {
    const pod = env.POD_NAME || env.HOSTNAME || "";
    const m = /-(\d+)$/.exec(pod);
    if (!m) {
      throw new CollectorError(
        "config",
        `shard.count is ${count} but no shard index: O365_SHARD_INDEX is not set and the pod name ${JSON.stringify(pod)} has no ordinal`,
        {
          hint: "set shard.index or O365_SHARD_INDEX, or run as a StatefulSet (pods name-0, name-1, …)",
        },
      );
    }
    index = Number(m[1]);
  }
  if (!(count >= 1) || !(index >= 0 && index < count)) {
    throw new CollectorError("config", `shard index ${index} is not within 0…${count - 1} (count ${count})`, {
      hint: "index must be below count: replicas are numbered from 0",
    });
  }
  return { index, count };
}
