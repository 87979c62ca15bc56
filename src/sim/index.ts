// Public entry of the simulated Microsoft 365 tenant (Entra ID, Graph message trace, Reporting Web Service).
export { startSimulator } from "./server.js";
export { startSimFleet, type SimFleet } from "./fleet.js";
export * from "./types.js";
