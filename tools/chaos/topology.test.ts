import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CHAOS_QUOTA_BYTES, chaosQuotaBytes } from "./topology.js";

const MIB = 1024 * 1024;

describe("chaosQuotaBytes", () => {
  it("keeps a short run's quota small, so the full-disk fault fills it in seconds", () => {
    assert.equal(chaosQuotaBytes(0), CHAOS_QUOTA_BYTES);
    assert.ok(chaosQuotaBytes(30) <= CHAOS_QUOTA_BYTES + MIB);
  });

  it("gives a long run room for the data it will keep (an hour's left a 48 MiB quota full)", () => {
    const long = chaosQuotaBytes(4000);
    assert.ok(long >= CHAOS_QUOTA_BYTES + 40 * MIB, `${long / MIB} MiB`);
    assert.equal(long % MIB, 0, "whole MiB");
    assert.ok(chaosQuotaBytes(8000) > long);
  });
});
