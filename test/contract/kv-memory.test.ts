import { MemoryKv } from "../../src/storage/memory/kv.js";
import { kvContract } from "./kv.contract.js";

kvContract("memory", async () => {
  const kv = new MemoryKv();
  return { storage: { kv, prefix: "t/" }, cleanup: () => kv.close() };
});
