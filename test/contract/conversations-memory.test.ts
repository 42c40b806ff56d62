import { MemoryKv } from "../../src/storage/memory/kv.js";
import { unclosable } from "../fixtures/in-process-flock.js";
import { conversationsContract } from "./conversations.contract.js";

conversationsContract("memory", async () => {
  const kv = new MemoryKv();
  return { open: () => unclosable(kv), prefix: "flock/", cleanup: () => kv.close() };
});
