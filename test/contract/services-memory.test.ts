import { MemoryKv } from "../../src/storage/memory/kv.js";
import { unclosable } from "../fixtures/in-process-flock.js";
import { servicesContract } from "./services.contract.js";

servicesContract("memory", async () => {
  const kv = new MemoryKv();
  // Every backend shares the one store; closing a backend's clients must not close it.
  return { open: () => unclosable(kv), prefix: "flock/", cleanup: () => kv.close() };
});
