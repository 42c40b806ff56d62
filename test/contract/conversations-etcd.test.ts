import { describe } from "node:test";
import { etcdForSuite } from "../fixtures/etcd-under-test.js";
import { conversationsContract } from "./conversations.contract.js";

describe("conversations on a real 3-member etcd cluster", () => {
  const etcd = etcdForSuite("conversations-etcd");
  conversationsContract("etcd", async () => {
    const prefix = etcd.prefix();
    return { open: () => etcd.open(), prefix, cleanup: async () => undefined };
  });
});
