import { describe } from "node:test";
import { etcdForSuite } from "../fixtures/etcd-under-test.js";
import { servicesContract } from "./services.contract.js";

describe("the services on a real 3-member etcd cluster", () => {
  const etcd = etcdForSuite("services-etcd");
  servicesContract("etcd", async () => {
    const prefix = etcd.prefix();
    // A client that closes is harmless to the others: each backend opens its own.
    return { open: () => etcd.open(), prefix, cleanup: async () => undefined };
  });
});
