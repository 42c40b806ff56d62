import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GRPCResourceExhastedError, GRPCUnavailableError } from "etcd3";
import { isStorageFull, isStoreUnavailable, isTransient } from "./errors.js";

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
});
