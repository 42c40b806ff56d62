import { describe } from "node:test";
import { etcdForSuite } from "../fixtures/etcd-under-test.js";
import { kvContract } from "./kv.contract.js";

describe("the Kv seam on a real 3-member etcd cluster", () => {
  const etcd = etcdForSuite("kv-etcd");
  kvContract("etcd", async () => {
    const kv = etcd.open();
    return { storage: { kv, prefix: etcd.prefix() }, cleanup: () => kv.close() };
  });
});
