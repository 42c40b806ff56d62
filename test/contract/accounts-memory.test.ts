import { accountsStorageContract } from "./accounts.contract.js";
import { MemoryAccountsStorage } from "../../src/services/accounts/storage/memory.js";

accountsStorageContract("memory", async () => {
  const storage = new MemoryAccountsStorage();
  return { storage, cleanup: () => storage.close() };
});
