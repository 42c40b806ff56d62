import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { GRPCResourceExhastedError } from "etcd3";
import pino from "pino";
import { FlockError, STORAGE_FULL_MESSAGE } from "../../shared/errors.js";
import { StoreOutcomeUnknownError, StoreTimeoutError } from "../../storage/etcd/errors.js";
import { grpcErrorOf } from "./unary.js";

const quiet = pino({ level: "silent" });
const codeOf = (err: unknown) => grpcErrorOf(err, quiet, "Follow", undefined).code;

describe("the status a failed backend call answers with", () => {
  it("is DEADLINE_EXCEEDED for a write that may still be applied: the web tier does not re-send it", () => {
    const open = new StoreOutcomeUnknownError(
      "etcd txn: no answer within 3000 ms, and an attempt may still be applied",
    );
    assert.equal(codeOf(open), status.DEADLINE_EXCEEDED);
  });

  it("is UNAVAILABLE (re-sent to another backend) only when the store surely applied nothing", () => {
    assert.equal(codeOf(new StoreTimeoutError("etcd txn: no answer within 3000 ms")), status.UNAVAILABLE);
    const full = grpcErrorOf(
      new GRPCResourceExhastedError("8 RESOURCE_EXHAUSTED: etcdserver: mvcc: database space exceeded"),
      quiet,
      "Follow",
      undefined,
    );
    assert.deepEqual([full.code, full.details], [status.UNAVAILABLE, STORAGE_FULL_MESSAGE]);
  });

  it("keeps a FlockError's own code, and hides anything else as INTERNAL", () => {
    assert.equal(codeOf(new FlockError(status.NOT_FOUND, "no such user")), status.NOT_FOUND);
    assert.equal(codeOf(new TypeError("a bug")), status.INTERNAL);
  });
});
