import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DeletedPostRecord, PostRecord } from "../../gen/flock/storage/v1/records.js";
import type { KeyValue, WatchEvent } from "../../storage/kv.js";
import { KEYS, memoryServicesFor, signUp, storedKeys } from "../../../test/fixtures/memory-services.js";
import { GraphView } from "../graph/view.js";
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
