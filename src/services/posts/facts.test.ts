import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FakeClock } from "../../../test/fixtures/fake-clock.js";
import { KEYS, memoryServicesFor, signUp, storedKeys } from "../../../test/fixtures/memory-services.js";

const HOUR_MS = 3600_000;

/**
 * Issue 13, defect 7: each post's Idempotency-Key was kept forever. Keys now live under a lease
 * shared by the keys of one hour, lasting a day past that hour: a retry within a day finds its
 * post, and a day later the key is gone from the store and may be used again.
 */
describe("PostsFacts: idempotency keys expire after a day", () => {
  it("a key finds its post for a day, then vanishes from the store and makes a new post", async (t) => {
    // Leases expire on the store's timers; the fake clock picks the lease bucket.
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const clock = new FakeClock();
    const s = await memoryServicesFor(t, { clock });
    const alice = await signUp(s, "alice");
    const idemKeys = async () => (await storedKeys(s.kv, `${KEYS.root}p/idem/`)).map((kv) => kv.key);

    const first = await s.posts.createPost(alice, "hello", "key-1");
    assert.deepEqual(await idemKeys(), [KEYS.idempotency("alice", "key-1")]);
    const [stored] = await storedKeys(s.kv, `${KEYS.root}p/idem/`);
    assert.notEqual(stored!.lease, "0", "the key lives under a lease");

    clock.advance(24 * HOUR_MS - 1);
    t.mock.timers.tick(24 * HOUR_MS - 1);
    assert.deepEqual(await s.posts.createPost(alice, "hello", "key-1"), first, "a retry within a day");

    clock.advance(HOUR_MS + 1);
    t.mock.timers.tick(HOUR_MS + 1);
    assert.deepEqual(await idemKeys(), [], "a day (and at most an hour) later the key is gone");
    const again = await s.posts.createPost(alice, "hello again", "key-1");
    assert.notEqual(again.id, first.id, "the key is free again");
    assert.equal(await s.posts.countUserPosts("alice"), 2, "the first post stays");
  });
});
