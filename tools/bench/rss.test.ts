import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { opsPerSecondWithoutEtcd } from "./rss.js";

describe("opsPerSecondWithoutEtcd", () => {
  it("is the cores over the CPU per operation that is not etcd's", () => {
    // 6 ms in all, 4 of them etcd's: 2 ms elsewhere, so 2 cores serve at most 1,000 per second.
    assert.equal(
      opsPerSecondWithoutEtcd({ web: 1, backend: 0.5, "bench client": 0.5, etcd: 4, total: 6 }, 2),
      1000,
    );
    // No etcd at all: the whole cost counts.
    assert.equal(opsPerSecondWithoutEtcd({ web: 0.5, total: 0.5 }, 4), 8000);
  });

  it("has no bound when nothing but etcd used CPU", () => {
    assert.equal(opsPerSecondWithoutEtcd({ etcd: 1, total: 1 }, 2), undefined);
    assert.equal(opsPerSecondWithoutEtcd({}, 2), undefined);
  });
});
