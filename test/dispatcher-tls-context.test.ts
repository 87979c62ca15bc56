// Issue 17 (500 tenants in one process): with a custom CA, every TLS connection used to build its own secure
// context from ~150 roots + the CA — about 1 MB of native memory and a few ms of CPU each, hundreds of MB
// with many tenants (each tenant its own connections). One context per dispatcher now serves them all.
import tls from "node:tls";
import { afterAll, beforeAll, expect, it } from "vitest";
import { request } from "undici";
import { createDispatcher } from "../src/net/dispatcher.js";
import { startSimulator, type Simulator } from "../src/sim/index.js";

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ seed: 17, ratePerHour: 10 });
});
afterAll(async () => {
  await sim.close();
});

it("a dispatcher with a custom CA builds one TLS context, not one per connection", async () => {
  const dispatcher = createDispatcher({ caPem: sim.ca, env: {} });
  const original = tls.createSecureContext;
  let built = 0;
  tls.createSecureContext = ((opts?: tls.SecureContextOptions) => {
    built++;
    return original(opts);
  }) as typeof tls.createSecureContext;
  try {
    // `reset: true` closes each connection after its response: five requests, five TLS handshakes.
    for (let i = 0; i < 5; i++) {
      const res = await request(`${sim.url}/.well-known/none`, { dispatcher, reset: true });
      await res.body.dump();
    }
  } finally {
    tls.createSecureContext = original;
    await dispatcher.close();
  }
  expect(built).toBe(0);
});
