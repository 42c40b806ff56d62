import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import fc from "fast-check";
import type { Services } from "../../src/services/services.js";
import { backendOn, signUp, type StoreUnderTest } from "../fixtures/store-backends.js";

export type { StoreUnderTest };

/**
 * The services and their views over one store, run against each store (memory, etcd): what
 * a user sees through any backend, whichever backend wrote it.
 */
export function servicesContract(name: string, make: () => Promise<StoreUnderTest>): void {
  describe(`services contract: ${name}`, () => {
    let store: StoreUnderTest;
    let a: Services;
    let b: Services;

    const backend = (options: { textBudgetBytes?: number } = {}) => backendOn(store, options);

    beforeEach(async () => {
      store = await make();
      a = await backend();
      b = await backend();
    });
    afterEach(async () => {
      await a?.close();
      await b?.close();
      await store.cleanup();
    });

    it("shows a post acknowledged on backend A in a follower's feed read on backend B at once", async () => {
      const alice = await signUp(a, "alice");
      const bob = await signUp(b, "bob");
      await b.graph.follow(bob, "alice");
      for (let i = 0; i < 20; i++) {
        const post = await a.posts.createPost(alice, `post ${i}`);
        const feed = await b.posts.getFeed(bob, 1, undefined);
        assert.equal(
          feed.items.map((i) => i.post!)[0]?.id,
          post.id,
          `post ${i} not in the next read on the other backend`,
        );
      }
    });

    it("orders feeds by commit order and pages them without gaps or repeats", async () => {
      const alice = await signUp(a, "alice");
      const carol = await signUp(b, "carol");
      const bob = await signUp(a, "bob");
      await a.graph.follow(bob, "alice");
      await a.graph.follow(bob, "carol");
      const ids: string[] = [];
      for (let i = 0; i < 25; i++)
        ids.push((await (i % 2 ? a : b).posts.createPost(i % 3 ? alice : carol, `p${i}`)).id);
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await b.posts.getFeed(bob, 7, cursor);
        seen.push(...page.items.map((i) => i.post!).map((p) => p.id));
        cursor = page.nextCursor || undefined;
      } while (cursor);
      assert.deepEqual(seen, [...ids].reverse());
      assert.deepEqual(
        [...seen].sort((x, y) => Number(y) - Number(x)),
        seen,
      );
    });

    it("takes an unfollow and a logout into account on every backend's next read", async () => {
      const alice = await signUp(a, "alice");
      const bob = await signUp(a, "bob");
      await a.graph.follow(bob, "alice");
      await a.posts.createPost(alice, "hello");
      assert.equal((await b.posts.getFeed(bob, 10, undefined)).items.map((i) => i.post!).length, 1);
      await a.graph.unfollow(bob, "alice");
      assert.equal((await b.posts.getFeed(bob, 10, undefined)).items.map((i) => i.post!).length, 0);
      await a.accounts.logout(bob);
      await assert.rejects(b.posts.getFeed(bob, 10, undefined), { message: /session/ });
      await assert.rejects(b.posts.createPost(bob, "after logout"), { message: /session/ });
    });

    it("stores a post once per request id and per idempotency key", async () => {
      const alice = await signUp(a, "alice");
      const first = await a.posts.createPost(alice, "once", "", "request-1");
      const resent = await b.posts.createPost(alice, "once", "", "request-1");
      assert.equal(resent.id, first.id);
      const keyed = await a.posts.createPost(alice, "keyed", "key-1", "request-2");
      const retried = await b.posts.createPost(alice, "keyed again", "key-1", "request-3");
      assert.equal(retried.id, keyed.id);
      assert.equal(retried.text, "keyed");
      assert.equal(await b.posts.countUserPosts("alice"), 2);
    });

    it("serves texts the view let go from the store", async () => {
      const small = await backend({ textBudgetBytes: 200 });
      try {
        const alice = await signUp(a, "alice");
        const texts = Array.from({ length: 10 }, (_, i) => `a fairly long post, number ${i}`);
        for (const text of texts) await a.posts.createPost(alice, text);
        const page = await small.posts.listUserPosts("", "alice", 20, undefined);
        assert.deepEqual(
          page.items.map((i) => i.post!).map((p) => p.text),
          [...texts].reverse(),
        );
        assert.ok(small.model.posts.stats.textsLetGo > 0);
      } finally {
        await small.close();
      }
    });

    it("derives the same views by following the watch as by loading a fresh snapshot", async () => {
      const users = ["ann", "ben", "cat", "dan"];
      const tokens = new Map<string, string>();
      for (const user of users) tokens.set(user, await signUp(a, user));
      const action = fc.oneof(
        fc.record({
          kind: fc.constant("follow" as const),
          who: fc.constantFrom(...users),
          whom: fc.constantFrom(...users),
        }),
        fc.record({
          kind: fc.constant("unfollow" as const),
          who: fc.constantFrom(...users),
          whom: fc.constantFrom(...users),
        }),
        fc.record({
          kind: fc.constant("post" as const),
          who: fc.constantFrom(...users),
          text: fc.string({ minLength: 1, maxLength: 20 }),
        }),
        fc.record({ kind: fc.constant("relogin" as const), who: fc.constantFrom(...users) }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(action, { maxLength: 30 }), async (actions) => {
          for (const act of actions) {
            const token = tokens.get(act.who)!;
            const via = Math.random() < 0.5 ? a : b;
            try {
              if (act.kind === "follow") await via.graph.follow(token, act.whom);
              else if (act.kind === "unfollow") await via.graph.unfollow(token, act.whom);
              else if (act.kind === "post") await via.posts.createPost(token, `x${act.text}`);
              else {
                await via.accounts.logout(token);
                tokens.set(act.who, (await via.accounts.login(act.who, "password123", "10.0.0.1")).token);
              }
            } catch (err) {
              if (!(err instanceof Error && /yourself/.test(err.message))) throw err;
            }
          }
          const fresh = await backend();
          try {
            await a.model.cache.fresh();
            for (const part of ["accounts", "graph", "posts"] as const) {
              assert.deepEqual(a.model[part].digest(), fresh.model[part].digest(), `${part} differ`);
            }
          } finally {
            await fresh.close();
          }
        }),
        { numRuns: 25 },
      );
    });
  });
}
