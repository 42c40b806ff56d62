import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createServices, type Services } from "../../src/services/services.js";
import type { Kv } from "../../src/storage/kv.js";
import { etcdForSuite } from "../fixtures/etcd-under-test.js";

const SCRYPT = { logN: 4, r: 8, p: 1 };
/** Posts written in all: below the feed page size, so every read sees the whole feed. */
const POSTS = 80;
const READERS = 3;

interface Write {
  id: string;
  ackedAt: number;
}

interface Read {
  reader: string;
  startedAt: number;
  endedAt: number;
  ids: Set<string>;
}

interface FollowChange {
  following: boolean;
  sentAt: number;
  ackedAt: number;
}

/**
 * Linearizability across backends on a real 3-member cluster: writers on backend A, readers
 * on backend B, at once. The checker fails on any stale read: a read that began after a post
 * was acknowledged must contain it, and after an unfollow was acknowledged (and before the
 * next follow was sent) it must contain none of that author's posts.
 */
describe("reads on one backend reflect writes acknowledged on another", { timeout: 120_000 }, () => {
  const etcd = etcdForSuite("linearizable");

  async function backend(prefix: string, clients: Kv[]): Promise<Services> {
    const open = () => {
      const kv = etcd.open();
      clients.push(kv);
      return kv;
    };
    const services = createServices(
      { accounts: open(), graph: open(), posts: open(), reader: open() },
      { prefix, accounts: { scrypt: SCRYPT } },
    );
    await services.model.cache.start();
    return services;
  }

  it("never serves a stale read while writes and reads interleave", async () => {
    const prefix = etcd.prefix();
    const clients: Kv[] = [];
    const a = await backend(prefix, clients);
    const b = await backend(prefix, clients);
    try {
      const login = async (name: string) => {
        await a.accounts.createAccount(name, "password123");
        return (await a.accounts.login(name, "password123", "127.0.0.1")).token;
      };
      const author = await login("author");
      const readers = await Promise.all(Array.from({ length: READERS }, (_, i) => login(`reader${i}`)));
      for (const token of readers) await a.graph.follow(token, "author");
      const flipper = await login("flipper");

      const writes: Write[] = [];
      const reads: Read[] = [];
      const changes: FollowChange[] = [];
      let writing = true;
      const now = () => performance.now();

      const writer = async () => {
        for (let i = 0; i < POSTS; i++) {
          const post = await a.posts.createPost(author, `post ${i}`);
          writes.push({ id: post.id, ackedAt: now() });
        }
        writing = false;
      };
      const reader = async (token: string, name: string) => {
        while (writing) {
          const startedAt = now();
          const page = await b.posts.getFeed(token, 100, undefined);
          reads.push({
            reader: name,
            startedAt,
            endedAt: now(),
            ids: new Set(page.items.map((i) => i.post!).map((p) => p.id)),
          });
        }
      };
      const flip = async () => {
        let following = false;
        while (writing) {
          following = !following;
          const sentAt = now();
          if (following) await a.graph.follow(flipper, "author");
          else await a.graph.unfollow(flipper, "author");
          changes.push({ following, sentAt, ackedAt: now() });
          const startedAt = now();
          const page = await b.posts.getFeed(flipper, 100, undefined);
          reads.push({
            reader: "flipper",
            startedAt,
            endedAt: now(),
            ids: new Set(page.items.map((i) => i.post!).map((p) => p.id)),
          });
        }
      };
      await Promise.all([writer(), flip(), ...readers.map((token, i) => reader(token, `reader${i}`))]);

      const stale: string[] = [];
      for (const read of reads) {
        const state = followStateAt(read, changes);
        if (state === "not following") {
          if (read.ids.size > 0) stale.push(`${read.reader} saw ${read.ids.size} posts after an unfollow`);
          continue;
        }
        if (state === "unsettled") continue;
        const missing = writes.filter((w) => w.ackedAt < read.startedAt && !read.ids.has(w.id));
        if (missing.length > 0)
          stale.push(`${read.reader} missed ${missing.length} acknowledged posts (first ${missing[0]!.id})`);
      }
      assert.ok(reads.length > 50, `only ${reads.length} reads ran`);
      assert.deepEqual(stale, [], `${stale.length} stale reads of ${reads.length}`);
    } finally {
      await a.close();
      await b.close();
      await Promise.all(clients.map((kv) => kv.close()));
    }
  });
});

/**
 * Whether the reader followed the author for the whole of a read: readers other than the
 * flipper always do; the flipper's state is settled only when its last change was acknowledged
 * before the read began and the next was sent after it ended.
 */
function followStateAt(read: Read, changes: FollowChange[]): "following" | "not following" | "unsettled" {
  if (read.reader !== "flipper") return "following";
  const before = changes.filter((c) => c.ackedAt < read.startedAt);
  const last = before[before.length - 1];
  const next = changes[before.length];
  if (!last || (next && next.sentAt < read.endedAt)) return "unsettled";
  return last.following ? "following" : "not following";
}
