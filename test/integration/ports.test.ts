import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { freePorts } from "../../src/launcher/etcd-cluster.js";
import { assertPortsFree, describeHolder } from "../../src/launcher/ports.js";
import { Stack } from "../../src/launcher/stack.js";
import { DEFAULT_BACKEND_PORT, loadConfig, METRICS_PORT_OFFSET } from "../../src/shared/config.js";

/** Linux hands the local port of outgoing connections out of this range. */
const EPHEMERAL = { low: 32768, high: 60999 };

function listen(port = 0, host = "127.0.0.1"): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}

/**
 * Issue 13, defect 5: `npm start` failed on a fresh clone with EADDRINUSE on 50052, a default
 * port inside the ephemeral range, taken by one of the launcher's own connections to etcd.
 */
describe("ports", () => {
  const cleanup: (() => unknown)[] = [];
  after(async () => {
    for (const close of cleanup.reverse()) await close();
  });

  it("every default port is below the ephemeral range, for as many replicas as anyone runs here", () => {
    const config = loadConfig({});
    const ports = [
      config.frontPort,
      config.adminPort,
      config.webPort,
      config.backendPort,
      config.backendMetricsPort,
      ...config.backendAddrs.map((a) => Number(a.split(":").pop())),
      ...config.webAddrs.map((a) => Number(a.split(":").pop())),
      // `npm start` counts up from the defaults, one port per replica.
      DEFAULT_BACKEND_PORT + 20,
      DEFAULT_BACKEND_PORT + METRICS_PORT_OFFSET + 20,
    ];
    for (const port of ports) assert.ok(port > 0 && port < EPHEMERAL.low, `port ${port}`);
    assert.equal(config.backendMetricsPort, config.backendPort + METRICS_PORT_OFFSET);
  });

  it("names the process listening on a taken port", async () => {
    const server = await listen();
    cleanup.push(() => server.close());
    const { port } = server.address() as net.AddressInfo;
    assert.match(
      describeHolder(port) ?? "",
      new RegExp(`^pid ${process.pid} \\(.*node.*\\), listening there$`),
    );
  });

  it("names an outgoing connection that was given the port, with its process", async () => {
    const server = await listen();
    cleanup.push(() => server.close());
    const socket = await new Promise<net.Socket>((resolve) => {
      const s = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1", () => resolve(s));
    });
    cleanup.push(() => socket.destroy());
    const local = socket.localPort!;
    await assert.rejects(
      assertPortsFree([{ host: "127.0.0.1", port: local, what: "backend-2 (BACKEND_PORT)" }]),
      (err: Error) => {
        assert.match(
          err.message,
          new RegExp(`port ${local} on 127\\.0\\.0\\.1, needed by backend-2 \\(BACKEND_PORT\\)`),
        );
        assert.match(err.message, new RegExp(`pid ${process.pid} `));
        assert.match(
          err.message,
          /an outgoing connection 127\.0\.0\.1:\d+ → 127\.0\.0\.1:\d+ was given that local port/,
        );
        return true;
      },
    );
  });

  it("the launcher says which port is taken and by what before starting anything", async () => {
    const dir = await mkdtemp(join(tmpdir(), "flock-ports-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const [front, web, backend, metrics] = await freePorts(4);
    const squatter = await listen(metrics!);
    cleanup.push(() => squatter.close());
    const stack = new Stack({
      storage: "memory",
      dataDir: dir,
      frontPort: front!,
      webPorts: [web!],
      backendPorts: [backend!],
      backendMetricsPorts: [metrics!],
    });
    await assert.rejects(stack.start(), (err: Error) => {
      assert.match(
        err.message,
        new RegExp(`port ${metrics} on 127\\.0\\.0\\.1, needed by backend-1's metrics`),
      );
      assert.match(err.message, new RegExp(`taken by pid ${process.pid} .*listening there`));
      return true;
    });
    assert.deepEqual(stack.processes(), [], "nothing was started");
  });
});
