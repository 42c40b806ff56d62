import { postsStorageContract } from "../storage.contract.js";
import { MemoryPostsStorage } from "./memory.js";

postsStorageContract("memory", async () => {
  const storage = new MemoryPostsStorage();
  return { storage, cleanup: () => storage.close() };
});
