import { graphStorageContract } from "./graph.contract.js";
import { MemoryGraphStorage } from "../../src/services/graph/storage/memory.js";

graphStorageContract("memory", async () => {
  const storage = new MemoryGraphStorage();
  return { storage, cleanup: () => storage.close() };
});
