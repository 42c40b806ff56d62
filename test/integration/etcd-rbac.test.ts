import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { copyFileSync, mkdirSync } from "node:fs";
import { pino } from "pino";
import { createBackendContext } from "../../src/backend/context.js";
import { identityCredentials, storesFor, type StoreUser } from "../../src/backend/stores.js";
import { loadConfig } from "../../src/shared/config.js";
import { waitFor } from "../../src/launcher/child.js";
import { findEtcdBinary, freePorts } from "../../src/launcher/etcd-cluster.js";
import { FAST_ENV, Stack } from "../../src/launcher/stack.js";
import { readPemFile } from "../../src/shared/pem.js";
import type { EtcdCredentials } from "../../src/storage/etcd/client.js";
import { EtcdKv } from "../../src/storage/etcd/kv.js";
import { prefixEnd, put, type Kv } from "../../src/storage/kv.js";
import { Keys } from "../../src/storage/keys.js";
import { ApiClient } from "../fixtures/api-client.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const MAKE_CERTS = join(ROOT, "deploy/tls/make-certs.sh");
const ROLES = join(ROOT, "deploy/etcd/roles.sh");
const PREFIX = "flock/";
const keys = new Keys(PREFIX);
const MEMBERS = 3;

/** What each identity may write (a key of each service's, and each tick). */
const WRITES: { key: string; writers: StoreUser[] }[] = [
  { key: keys.account("mallory"), writers: ["accounts"] },
  { key: keys.session("forged"), writers: ["accounts"] },
  { key: keys.credentials("alice"), writers: ["accounts"] },
  { key: keys.loginFailures("a:203.0.113.1"), writers: ["accounts"] },
  { key: keys.tick("a"), writers: ["accounts"] },
  { key: keys.follow("mallory", "alice"), writers: ["graph"] },
  { key: keys.tick("g"), writers: ["graph"] },
  { key: keys.post("00ff00ff00ff00ff00ff00ff"), writers: ["posts"] },
  { key: keys.idempotency("mallory", "k"), writers: ["posts"] },
  { key: keys.tick("p"), writers: ["posts"] },
  { key: `${PREFIX}v2/_m/from-v1`, writers: [] },
  { key: `${PREFIX}v1/acct/mallory`, writers: [] },
  { key: "somebody-else/key", writers: [] },
];
const IDENTITIES: StoreUser[] = ["accounts", "graph", "posts", "reader"];

/**
 * Issue 13, defect 8: each service acts in etcd as its own identity (a client certificate whose
 * CN is an etcd user), with a role limited to its keys; web hosts get no etcd identity at all.
 * On a real 3-member cluster with TLS, --client-cert-auth and auth enabled by
 * deploy/etcd/roles.sh, with certificates from deploy/tls/make-certs.sh.
 */
describe(
  "etcd RBAC: one identity per service, on a real cluster with auth enabled",
  { timeout: 120_000 },
  () => {
    let dir: string;
    let members: ChildProcess[] = [];
    let endpoints: string[] = [];
    const stores: Kv[] = [];
    let stack: Stack | undefined;
    const file = (name: string) => join(dir, "tls", name);
    const caOnly = (): EtcdCredentials => ({ rootCertificate: readPemFile(file("etcd-ca.crt"), "CA")! });
    const as = (credentials: EtcdCredentials, timeoutMs = 3_000): Kv => {
      const kv = new EtcdKv({ endpoints, prefix: PREFIX, timeoutMs, credentials });
      stores.push(kv);
      return kv;
    };
    const identity = (user: StoreUser) => as(identityCredentials(file("backend-1-etcd"), user, caOnly()));
    const root = () =>
      as({
        ...caOnly(),
        certChain: readPemFile(file("etcd-root/root.crt"), "root")!,
        privateKey: readPemFile(file("etcd-root/root.key"), "root")!,
      });

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "flock-rbac-"));
      const binary = findEtcdBinary();
      const hosts = Array.from({ length: MEMBERS }, (_, i) => `etcd-${i + 1}=IP:127.0.0.1`);
      execFileSync(
        "sh",
        [MAKE_CERTS, join(dir, "tls"), ...hosts, "backend-1=IP:127.0.0.1", "web-1=IP:127.0.0.1"],
        {
          stdio: "ignore",
        },
      );
      const ports = await freePorts(MEMBERS * 2);
      endpoints = ports.slice(0, MEMBERS).map((p) => `https://127.0.0.1:${p}`);
      const peers = ports.slice(MEMBERS).map((p) => `http://127.0.0.1:${p}`);
      const cluster = peers.map((url, i) => `etcd-${i + 1}=${url}`).join(",");
      members = endpoints.map((endpoint, i) =>
        spawn(
          binary,
          [
            `--name=etcd-${i + 1}`,
            `--data-dir=${join(dir, `etcd-${i + 1}`)}`,
            `--listen-client-urls=${endpoint}`,
            `--advertise-client-urls=${endpoint}`,
            `--listen-peer-urls=${peers[i]}`,
            `--initial-advertise-peer-urls=${peers[i]}`,
            `--initial-cluster=${cluster}`,
            "--initial-cluster-state=new",
            "--initial-cluster-token=flock-rbac-test",
            `--cert-file=${file(`etcd-${i + 1}.crt`)}`,
            `--key-file=${file(`etcd-${i + 1}.key`)}`,
            `--trusted-ca-file=${file("etcd-ca.crt")}`,
            "--client-cert-auth",
            "--log-level=error",
          ],
          { stdio: "ignore" },
        ),
      );
      const admin = root();
      await waitFor(
        "the TLS cluster to answer",
        async () => {
          await admin.range({ key: "probe" });
          return true;
        },
        30_000,
      );
      execFileSync("sh", [ROLES, PREFIX], {
        stdio: "ignore",
        env: {
          ...process.env,
          ETCDCTL_API: "3",
          ETCDCTL_ENDPOINTS: endpoints.join(","),
          ETCDCTL_CACERT: file("etcd-ca.crt"),
          ETCDCTL_CERT: file("etcd-root/root.crt"),
          ETCDCTL_KEY: file("etcd-root/root.key"),
        },
      });
      // A secret to steal, written by the operator.
      await admin.txn({ success: [put(keys.credentials("alice"), "scrypt$hash-of-alice")] });
    });

    after(async () => {
      await stack?.stop();
      await Promise.all(stores.map((kv) => kv.close()));
      for (const member of members) member.kill("SIGTERM");
      await Promise.all(
        members.map((m) => (m.exitCode === null ? new Promise((r) => m.once("exit", r)) : undefined)),
      );
      await rm(dir, { recursive: true, force: true });
    });

    it("the posts identity cannot read credentials or write accounts", async () => {
      const posts = identity("posts");
      await assert.rejects(posts.range({ key: keys.credentials("alice") }), /permission denied/);
      await assert.rejects(
        posts.range({ key: `${keys.root}_s/`, end: `${keys.root}_t` }),
        /permission denied/,
      );
      await assert.rejects(
        posts.txn({ success: [put(keys.account("mallory"), "x"), put(keys.tick("a"))] }),
        /permission denied/,
      );
      // What it needs: the views' range, its own keys and tick.
      const { key, end } = keys.watched;
      await posts.range({ key, end });
      await posts.txn({ success: [put(keys.post("0123456789abcdef01234567"), "p"), put(keys.tick("p"))] });
    });

    it("the reader identity reads the views' range and writes nothing", async () => {
      const reader = identity("reader");
      const { key, end } = keys.watched;
      assert.ok((await reader.range({ key, end })).kvs.length > 0);
      await assert.rejects(reader.range({ key: keys.credentials("alice") }), /permission denied/);
      for (const { key: target } of WRITES) {
        await assert.rejects(reader.txn({ success: [put(target, "x")] }), /permission denied/, target);
      }
    });

    it("every service identity writes exactly its own keys and tick", async () => {
      for (const user of IDENTITIES) {
        const kv = identity(user);
        for (const { key, writers } of WRITES) {
          const write = kv.txn({ success: [put(key, "x")] });
          if (writers.includes(user)) await write;
          else await assert.rejects(write, /permission denied/, `${user} must not write ${key}`);
        }
        const secret = kv.range({ key: keys.credentials("alice") });
        if (user === "accounts") assert.equal((await secret).kvs.length, 1);
        else await assert.rejects(secret, /permission denied/, `${user} must not read credentials`);
      }
    });

    it("a web host's certificate gets nothing, nor does a client without one", async () => {
      const web = as(
        {
          ...caOnly(),
          certChain: readPemFile(file("web-1.crt"), "web")!,
          privateKey: readPemFile(file("web-1.key"), "web")!,
        },
        700,
      );
      await assert.rejects(web.range({ key: keys.account("alice") }));
      await assert.rejects(web.txn({ success: [put(keys.account("from_web"), "x")] }));
      await assert.rejects(web.range({ key: keys.credentials("alice") }));
      const anonymous = as(caOnly(), 700);
      await assert.rejects(anonymous.range({ key: keys.account("alice") }));
      await assert.rejects(anonymous.txn({ success: [put(keys.account("from_web"), "x")] }));
      assert.deepEqual((await root().range({ key: keys.account("from_web") })).kvs, [], "nothing landed");
    });

    it("Flock works end to end with these identities: sign up, log in, throttle, post, follow, feed", async () => {
      // The checks above wrote junk where views look: the operator clears the prefix first.
      await root().txn({ success: [{ type: "delete", key: PREFIX, end: prefixEnd(PREFIX) }] });
      const ports = await freePorts(5);
      stack = new Stack({
        storage: "etcd",
        dataDir: join(dir, "flock"),
        frontPort: ports[0]!,
        webPorts: [ports[1]!],
        backendPorts: [ports[2]!, ports[3]!],
        etcdEndpoints: endpoints,
        env: {
          ...FAST_ENV,
          ETCD_CA_FILE: file("etcd-ca.crt"),
          ETCD_CLIENT_CERT_DIR: file("backend-1-etcd"),
        },
      });
      await stack.start();
      const api = new ApiClient(stack.frontUrl);
      const alice = await api.newUser("rbac_alice");
      const bob = await api.newUser("rbac_bob");
      assert.equal((await api.login("rbac_bob", "wrong password!")).status, 401, "a failure is counted");
      assert.equal((await api.follow(alice, "rbac_bob")).status, 204);
      const posted = await api.post(bob, "hello under RBAC", "rbac-key-1");
      assert.equal(posted.status, 201);
      assert.deepEqual((await api.post(bob, "hello under RBAC", "rbac-key-1")).body, posted.body);
      const feed = await api.feed(alice);
      assert.equal(feed.status, 200);
      assert.deepEqual(
        (feed.body as { posts: { text: string }[] }).posts.map((p) => p.text),
        ["hello under RBAC"],
      );
      assert.equal((await api.logout(bob)).status, 204);
      const cluster = await fetch(`${stack.adminUrl}/cluster.json`).then((r) => r.json());
      const status = cluster as { etcd: { members: { reachable: boolean }[] } };
      assert.equal(
        status.etcd.members.filter((m) => m.reachable).length,
        MEMBERS,
        "member status as the reader",
      );
    });

    it("a backend hosting one service needs only that identity and the reader's", async () => {
      const only = join(dir, "graph-only");
      mkdirSync(only);
      for (const name of ["graph.crt", "graph.key", "reader.crt", "reader.key"])
        copyFileSync(file(`backend-1-etcd/${name}`), join(only, name));
      const config = loadConfig({
        ETCD_ENDPOINTS: endpoints.join(","),
        ETCD_CA_FILE: file("etcd-ca.crt"),
        ETCD_CLIENT_CERT_DIR: only,
      });
      const opened: StoreUser[] = [];
      const stores = storesFor(config);
      const ctx = createBackendContext({
        services: ["graph"],
        stores: { open: (user) => (opened.push(user), stores.open(user)) },
        prefix: PREFIX,
        log: pino({ level: "silent" }),
      });
      try {
        await ctx.start();
        assert.deepEqual(opened.sort(), ["graph", "reader"]);
        assert.ok(ctx.model.accounts.account("rbac_alice"), "the view loaded as the reader");
        // Let the watch stream open: one cancelled while it opens is cancelled without an error
        // listener, and its CANCELLED error is thrown (storage/etcd/kv.ts, EtcdWatch.connect).
        await new Promise((resolve) => setTimeout(resolve, 500));
      } finally {
        await ctx.close();
      }
      assert.throws(
        () => storesFor(config).open("posts"),
        /cannot read the etcd certificate of "posts"/,
        "a service without its certificate does not start",
      );
    });
  },
);
