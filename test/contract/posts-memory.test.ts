import { postsStorageContract } from "./posts.contract.js";
import { MemoryPostsStorage } from "../../src/services/posts/storage/memory.js";

postsStorageContract("memory", async () => {
  const storage = new MemoryPostsStorage();
  return { storage, cleanup: () => storage.close() };
});
