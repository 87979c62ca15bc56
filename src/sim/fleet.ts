// Many simulated tenants: one simulator per tenant (its own tenant id, apps and secret, request budget,
// faults and truth), all behind one certificate and one token-signing key, so a collector trusts one CA
// and twenty tenants start in about the time of one.
import { TokenSigner } from "./jwt.js";
import { makeCert, startSimulator } from "./server.js";
import type { SimOptions, Simulator } from "./types.js";

export interface SimFleet {
  sims: Simulator[];
  /** The one CA (PEM) every tenant's endpoint presents. */
  ca: string;
  close(): Promise<void>;
}

/** Start one simulator per entry; give each its own tenantId, organization and apps. */
export async function startSimFleet(tenants: SimOptions[]): Promise<SimFleet> {
  const [tls, signer] = await Promise.all([makeCert(), TokenSigner.create()]);
  const sims: Simulator[] = [];
  try {
    // In small groups: hundreds of listeners at once gain nothing and can hit the accept backlog.
    for (let i = 0; i < tenants.length; i += 25) {
      sims.push(...(await Promise.all(tenants.slice(i, i + 25).map((t) => startSimulator({ ...t, reuse: { tls, signer } })))));
    }
  } catch (err) {
    await Promise.all(sims.map((s) => s.close()));
    throw err;
  }
  return { sims, ca: tls.cert, close: async () => void (await Promise.all(sims.map((s) => s.close()))) };
}
