import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DeletedPostRecord, PostRecord } from "../../gen/flock/storage/v1/records.js";
import type { KeyValue, TxnRequest, TxnResult, WatchEvent } from "../../storage/kv.js";
import { MemoryKv } from "../../storage/memory/kv.js";
import { KEYS, memoryServicesFor, signUp, storedKeys } from "../../../test/fixtures/memory-services.js";
import { GraphView } from "../graph/view.js";
import { textCost } from "./recent-texts.js";
import { PostsView } from "./view.js";

const kv = (
  key: string,
  value: Uint8Array,
  createRevision: number,
  modRevision = createRevision,
): KeyValue => ({
  key,
  value,
  createRevision,
  modRevision,
  lease: "0",
});

describe("PostsView: deletes", () => {
  it("a delete leaves a tombstone naming the author and who had reposted it", async (t) => {
    const s = await memoryServicesFor(t);
    const [ann, bob] = [await signUp(s, "ann"), await signUp(s, "bob")];
    const post = await s.posts.createPost(ann, "soon gone");
    await s.posts.repost(bob, post.id);
    await s.posts.deletePost(ann, post.id);
    const [tombstone, ...more] = await storedKeys(s.kv, KEYS.deletedPosts);
    assert.equal(more.length, 0);
    assert.equal(tombstone!.key, KEYS.deletedPost(Number(post.id)));
    assert.deepEqual(DeletedPostRecord.decode(tombstone!.value), { author: "ann", repostedBy: ["bob"] });
    assert.deepEqual(
      s.model.posts.deletesSince(Number(post.id)).map((d) => [d.id, d.author, d.repostedBy]),
      [[Number(post.id), "ann", ["bob"]]],
    );
  });

  it("logs a delete once, with every reposter either of its two events names, in either order", () => {
    const postKey = KEYS.post("00ab");
    const value = PostRecord.encode({
      id: "",
      author: "ann",
      text: "hello",
      createdAtMs: 1,
      inReplyTo: "",
      inReplyToAuthor: "",
      mentions: [],
      tags: [],
      editedAtMs: 0,
    }).finish();
    for (const tombstoneFirst of [true, false]) {
      const view = new PostsView(KEYS, new GraphView(KEYS), { textBudgetBytes: 1 << 20 });
      view.load([kv(postKey, value, 10), kv(KEYS.repost(10, "bob"), new TextEncoder().encode("1"), 11)]);
      view.loaded();
      const removal: WatchEvent = {
        type: "delete",
        kv: kv(postKey, new Uint8Array(), 0, 20),
        prevKv: kv(postKey, value, 10),
      };
      // The deleting backend knew of carl's repost too (this view had not seen it yet).
      const tombstone: WatchEvent = {
        type: "put",
        kv: kv(
          KEYS.deletedPost(10),
          DeletedPostRecord.encode({ author: "ann", repostedBy: ["carl"] }).finish(),
          20,
        ),
      };
      for (const event of tombstoneFirst ? [tombstone, removal] : [removal, tombstone]) view.apply(event);
      const deletes = view.deletesSince(19);
      assert.equal(deletes.length, 1, `tombstone first: ${tombstoneFirst}`);
      assert.deepEqual([...deletes[0]!.repostedBy].sort(), ["bob", "carl"]);
      assert.deepEqual(view.deletesSince(20), []);
    }
  });
});

/** A memory store that counts read-only transactions: how the view reads texts it let go. */
class TextReadCountingKv extends MemoryKv {
  textReads = 0;
  override txn(request: TxnRequest): Promise<TxnResult> {
    if (request.success.length > 0 && request.success.every((op) => op.type === "get")) this.textReads++;
    return super.txn(request);
  }
}

describe("PostsView: texts let go", () => {
  const texts = Array.from({ length: 24 }, (_, i) => `old post number ${String(i).padStart(2, "0")}`);
  const cost = textCost(texts[0]!);

  it("reads a text it let go from the store once, then from memory until the post changes", async (t) => {
    const kv = new TextReadCountingKv();
    // An eighth of the budget (3 texts) holds recently read ones; the rest holds 21 of the 24.
    const s = await memoryServicesFor(t, { kv, posts: { textBudgetBytes: 24 * cost } });
    const ann = await signUp(s, "ann");
    const ids: string[] = [];
    for (const text of texts) ids.push((await s.posts.createPost(ann, text)).id);
    assert.equal(s.model.posts.stats.textsLetGo, 3);
    const read = async () =>
      (await s.posts.listUserPosts("", "ann", 100, undefined)).items.map((i) => i.post!.text);

    assert.deepEqual(await read(), [...texts].reverse());
    assert.equal(kv.textReads, 1);
    assert.equal(s.model.posts.stats.recentTexts, 3);
    assert.deepEqual(await read(), [...texts].reverse());
    assert.equal(kv.textReads, 1, "the second read takes the texts from memory");

    await s.posts.deletePost(ann, ids[0]!);
    assert.equal(s.model.posts.stats.recentTexts, 2, "a deleted post's text is forgotten");
    assert.deepEqual(await read(), texts.slice(1).reverse());
    assert.equal(kv.textReads, 1);
  });

  it("keeps no text read for a post deleted while it was being read", async (t) => {
    const s = await memoryServicesFor(t, { posts: { textBudgetBytes: 24 * cost } });
    const ann = await signUp(s, "ann");
    const ids: string[] = [];
    for (const text of texts) ids.push((await s.posts.createPost(ann, text)).id);
    const view = s.model.posts;
    const oldest = view.post(Number(ids[0]))!;
    assert.equal(view.textOf(oldest), undefined, "the oldest text was let go");
    await s.posts.deletePost(ann, ids[0]!);
    view.rememberText(oldest, texts[0]!);
    assert.equal(view.stats.recentTexts, 0);
  });
});
