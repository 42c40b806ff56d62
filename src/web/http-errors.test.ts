import { status } from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FlockError, STORAGE_FULL_MESSAGE } from "../shared/errors.js";
import { toHttpError, UNAVAILABLE_MESSAGE } from "./http-errors.js";

describe("toHttpError", () => {
  it("answers an unavailable backend with a fixed 503, its words kept for the log only", () => {
    const answer = toHttpError(
      new FlockError(status.UNAVAILABLE, "No connection established to 127.0.0.1:8101"),
    );
    assert.equal(answer.statusCode, 503);
    assert.equal(answer.message, UNAVAILABLE_MESSAGE);
    assert.match(answer.detail ?? "", /127\.0\.0\.1/);
    assert.ok(answer.retryAfterSeconds);
  });

  it("tells the client when the store is full (trying again soon will not help)", () => {
    const answer = toHttpError(new FlockError(status.UNAVAILABLE, STORAGE_FULL_MESSAGE));
    assert.equal(answer.statusCode, 503);
    assert.equal(answer.message, STORAGE_FULL_MESSAGE);
  });

  it("passes a 4xx's own message and hides a 500's", () => {
    assert.deepEqual(
      [
        toHttpError(new FlockError(status.NOT_FOUND, "no such user")).message,
        toHttpError(new FlockError(status.INTERNAL, "boom")).message,
      ],
      ["no such user", "internal error"],
    );
  });
});
