// The tenants bench's simulators: N simulated tenants (one port each, one CA) in this process. Prints one
// JSON line (the CA and each tenant's endpoints and credentials) when ready, then serves until killed.
import { startSimFleet } from "../dist/sim/index.js";

const n = Number(process.argv[2] ?? 500);
const rate = Number(process.argv[3] ?? 100);
const tenants = Array.from({ length: n }, (_, i) => ({
  seed: 1000 + i,
  ratePerHour: rate,
  tenantId: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
  organization: `bench${i}.onmicrosoft.com`,
  apps: [{ clientId: `11111111-2222-4333-8444-${String(i).padStart(12, "0")}`, clientSecret: `bench-secret-${i}` }],
}));
const fleet = await startSimFleet(tenants);
process.stdout.write(
  JSON.stringify({
    ca: fleet.ca,
    tenants: fleet.sims.map((s, i) => ({
      tenantId: s.tenantId,
      url: s.url,
      graphBase: s.graphBase,
      clientId: tenants[i].apps[0].clientId,
      clientSecret: tenants[i].apps[0].clientSecret,
    })),
  }) + "\n",
);
process.on("SIGTERM", () => fleet.close().then(() => process.exit(0)));
