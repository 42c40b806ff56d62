import { graphStorageContract } from "../storage.contract.js";
import { MemoryGraphStorage } from "./memory.js";

graphStorageContract("memory", async () => {
  const storage = new MemoryGraphStorage();
  return { storage, cleanup: () => storage.close() };
});
