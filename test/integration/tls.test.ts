import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { credentials } from "@grpc/grpc-js";
import { pino } from "pino";
import { waitFor } from "../../src/launcher/child.js";
import { findEtcdBinary, freePorts } from "../../src/launcher/etcd-cluster.js";
import { loadConfig } from "../../src/shared/config.js";
import { BackendClients } from "../../src/grpc/client.js";
import { startBackend } from "../../src/backend/server.js";
import { memoryStores } from "../../src/backend/stores.js";
import { EtcdStore, putOp } from "../../src/storage/etcd/client.js";
import { TEST_SCRYPT } from "../fixtures/in-process-flock.js";
import { checkBackendHealth } from "../../src/grpc/backend-probe.js";
import { EtcdStatusReader } from "../../src/backend/ops/etcd-status.js";
import { grpcDial, grpcServerCredentials } from "../../src/grpc/tls.js";
import { etcdCredentials } from "../../src/storage/etcd/tls.js";

const MAKE_CERTS = fileURLToPath(new URL("../../../deploy/tls/make-certs.sh", import.meta.url));
const log = pino({ level: "silent" });

/**
 * TLS as configured by environment variables, end to end with certificates from
 * deploy/tls/make-certs.sh: mutual TLS between web and backend (the gRPC CA), and TLS to etcd
 * (the etcd CA; etcd/RBAC identities are tested in etcd-rbac.test.ts).
 */
describe("TLS from the configuration", () => {
  let dir: string;
  const file = (name: string) => join(dir, name);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "flock-tls-"));
    execFileSync(
      "sh",
      [
        MAKE_CERTS,
        dir,
        "backend=DNS:backend.flock.test,IP:127.0.0.1",
        "web=DNS:web.flock.test",
        "etcd=IP:127.0.0.1",
      ],
      {
        stdio: "ignore",
      },
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("web <-> backend: mutual TLS works, plain text and certificate-less callers are refused", async () => {
    const backendConfig = loadConfig({
      GRPC_TLS_CA_FILE: file("grpc-ca.crt"),
      GRPC_TLS_CERT_FILE: file("backend.crt"),
      GRPC_TLS_KEY_FILE: file("backend.key"),
    });
    const webConfig = loadConfig({
      GRPC_TLS_CA_FILE: file("grpc-ca.crt"),
      GRPC_TLS_CERT_FILE: file("web.crt"),
      GRPC_TLS_KEY_FILE: file("web.key"),
      // Dialled by IP, verified by name.
      GRPC_TLS_SERVER_NAME: "backend.flock.test",
    });
    const backend = await startBackend({
      host: "127.0.0.1",
      port: 0,
      services: ["accounts", "graph", "posts"],
      stores: memoryStores(),
      prefix: "flock/",
      accounts: { scrypt: TEST_SCRYPT },
      log,
      serverCredentials: grpcServerCredentials(backendConfig.grpcTls),
    });
    const dial = grpcDial(webConfig.grpcTls);
    const good = new BackendClients([backend.address], 2_000, dial);
    const plain = new BackendClients([backend.address], 1_000);
    const noCert = new BackendClients(
      [backend.address],
      1_000,
      grpcDial({ caFile: file("grpc-ca.crt"), serverName: "backend.flock.test" }),
    );
    try {
      const created = await good.call(good.accounts, good.accounts.createAccount, {
        username: "tlsuser",
        password: "password123",
      });
      assert.equal(created.username, "tlsuser");
      assert.equal(await checkBackendHealth(backend.address, dial), "SERVING");

      for (const [what, client] of [
        ["plain text", plain],
        ["no client certificate", noCert],
      ] as const) {
        await assert.rejects(
          client.call(client.accounts, client.accounts.getAccount, { username: "tlsuser" }),
          (err: { code?: number }) => err.code === 14 || err.code === 4,
          what,
        );
      }
      const insecure = { credentials: credentials.createInsecure(), options: {} };
      assert.equal(await checkBackendHealth(backend.address, insecure, 500), "UNREACHABLE");
    } finally {
      good.close();
      plain.close();
      noCert.close();
      await backend.close();
    }
  });

  it("etcd: the store and the status reader reach a TLS-only member with a client certificate", async (t) => {
    let binary: string;
    try {
      binary = findEtcdBinary();
    } catch {
      return t.skip("etcd is not installed");
    }
    const [clientPort, peerPort] = await freePorts(2);
    const endpoint = `https://127.0.0.1:${clientPort}`;
    const member = spawn(
      binary,
      [
        "--name=tls0",
        `--data-dir=${file("etcd-data")}`,
        `--listen-client-urls=${endpoint}`,
        `--advertise-client-urls=${endpoint}`,
        `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-cluster=tls0=http://127.0.0.1:${peerPort}`,
        `--cert-file=${file("etcd.crt")}`,
        `--key-file=${file("etcd.key")}`,
        `--trusted-ca-file=${file("etcd-ca.crt")}`,
        "--client-cert-auth",
        "--log-level=error",
      ],
      { stdio: "ignore" },
    );
    const exited = new Promise((resolve) => member.once("exit", resolve));
    const config = loadConfig({
      ETCD_ENDPOINTS: endpoint,
      ETCD_CA_FILE: file("etcd-ca.crt"),
      ETCD_CERT_FILE: file("backend-etcd/reader.crt"),
      ETCD_KEY_FILE: file("backend-etcd/reader.key"),
    });
    const creds = etcdCredentials(config.etcdTls);
    const store = new EtcdStore({
      endpoints: config.etcdEndpoints,
      prefix: "tls/",
      timeoutMs: 1_000,
      credentials: creds,
    });
    const status = new EtcdStatusReader(config.etcdEndpoints, creds);
    const withoutCert = new EtcdStore({
      endpoints: config.etcdEndpoints,
      prefix: "tls/",
      timeoutMs: 1_000,
      credentials: { rootCertificate: creds!.rootCertificate },
    });
    try {
      await waitFor("a TLS write to etcd", async () => {
        await store.txn({ success: [putOp("tls/hello", "world")] });
        return true;
      });
      const read = await store.range({ key: Buffer.from("tls/hello") });
      assert.equal(read.kvs[0]?.value.toString(), "world");
      const members = (await status.read()).members;
      assert.equal(members.length, 1);
      assert.ok(
        members[0]!.reachable && members[0]!.isLeader && members[0]!.name === "tls0",
        JSON.stringify(members),
      );
      await assert.rejects(
        withoutCert.range({ key: Buffer.from("tls/hello") }),
        "no client certificate, no answer",
      );
    } finally {
      store.close();
      withoutCert.close();
      status.close();
      if (member.exitCode === null) member.kill("SIGTERM");
      await exited;
    }
  });

  it("refuses half a configuration with the variable names", () => {
    assert.throws(
      () => loadConfig({ GRPC_TLS_CERT_FILE: "x.crt" }),
      /GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE/,
    );
    assert.throws(() => loadConfig({ ETCD_KEY_FILE: "x.key" }), /ETCD_CERT_FILE and ETCD_KEY_FILE/);
    assert.throws(() => loadConfig({ GRPC_TLS_SERVER_NAME: "b" }), /GRPC_TLS_SERVER_NAME/);
    assert.throws(() => etcdCredentials({ certFile: "a", keyFile: "b" }), /ETCD_CA_FILE/);
    assert.throws(
      () => grpcServerCredentials({ caFile: join(tmpdir(), "missing-ca.crt") }),
      /GRPC_TLS_CA_FILE|GRPC_TLS_CERT_FILE/,
    );
    assert.ok(!existsSync(join(tmpdir(), "missing-ca.crt")));
  });
});
