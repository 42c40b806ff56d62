import { MemoryKv } from "../../src/storage/memory/kv.js";
import { unclosable } from "../fixtures/in-process-flock.js";
import { oauthContract } from "./oauth.contract.js";

oauthContract("memory", async () => {
  const kv = new MemoryKv();
  return { open: () => unclosable(kv), prefix: "flock/", cleanup: () => kv.close() };
});
