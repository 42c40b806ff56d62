import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe } from "node:test";
import { startEtcdCluster, type EtcdCluster } from "../../src/launcher/etcd-cluster.js";
import { accountsStorageContract } from "./accounts.contract.js";
import { EtcdAccountsStorage } from "../../src/services/accounts/storage/etcd.js";

describe("EtcdAccountsStorage on a real 3-member etcd cluster", () => {
  let dataDir: string | undefined;
  let cluster: EtcdCluster | undefined;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "flock-accounts-etcd-"));
    cluster = await startEtcdCluster({ dataDir });
  });
  after(async () => {
    await cluster?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  // Every test gets its own key prefix, so tests share the cluster but never each other's data.
  accountsStorageContract("etcd", async () => {
    if (!cluster) throw new Error("etcd cluster did not start");
    const prefix = `test-${randomBytes(6).toString("hex")}/`;
    const storage = new EtcdAccountsStorage({ endpoints: cluster.endpoints, prefix, timeoutMs: 5_000 });
    return { storage, cleanup: () => storage.close() };
  });
});
