import { describe } from "node:test";
import { etcdForSuite } from "../fixtures/etcd-under-test.js";
import { oauthContract } from "./oauth.contract.js";

describe("OAuth facts on a real 3-member etcd cluster", () => {
  const etcd = etcdForSuite("oauth-etcd");
  oauthContract("etcd", async () => {
    const prefix = etcd.prefix();
    return { open: () => etcd.open(), prefix, cleanup: async () => undefined };
  });
});
