import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BrokenCircuitError } from "cockatiel";
import { EtcdError, GRPCDeadlineExceededError, GRPCResourceExhastedError, GRPCUnavailableError } from "etcd3";
import { isStorageFull, isStoreUnavailable, isTransient, wasNotApplied } from "./errors.js";

describe("etcd error classifier", () => {
  it("tells a full store (NOSPACE) from an unavailable one: not transient, not worth another try", () => {
    const nospace = new GRPCResourceExhastedError(
      "8 RESOURCE_EXHAUSTED: etcdserver: mvcc: database space exceeded",
    );
    assert.equal(isStorageFull(nospace), true);
    assert.equal(isTransient(nospace), false);
    assert.equal(isStoreUnavailable(nospace), false);

    const unavailable = new GRPCUnavailableError("14 UNAVAILABLE: No connection established");
    assert.equal(isStorageFull(unavailable), false);
    assert.equal(isTransient(unavailable), true);
    assert.equal(isStoreUnavailable(unavailable), true);
  });

  it("re-sends a write only after a failure that proves it was not applied", () => {
    const notApplied = [
      new BrokenCircuitError(),
      new GRPCUnavailableError(
        "14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:2379",
      ),
      new EtcdError("etcdserver: no leader"),
      new EtcdError("etcdserver: too many requests"),
    ];
    for (const err of notApplied) assert.equal(wasNotApplied(err), true, err.message);
    // Each of these may have reached a member that applies it later.
    const open = [
      new GRPCDeadlineExceededError("4 DEADLINE_EXCEEDED: Deadline exceeded after 0.975s"),
      new GRPCUnavailableError("14 UNAVAILABLE: Connection dropped"),
      new EtcdError("etcdserver: leader changed"),
      new EtcdError("etcdserver: request timed out"),
    ];
    for (const err of open) assert.equal(wasNotApplied(err), false, err.message);
  });
});
