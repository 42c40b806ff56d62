import { accountsStorageContract } from "../storage.contract.js";
import { MemoryAccountsStorage } from "./memory.js";

accountsStorageContract("memory", async () => {
  const storage = new MemoryAccountsStorage();
  return { storage, cleanup: () => storage.close() };
});
