import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FakeClock } from "../../../test/fixtures/fake-clock.js";
import { memoryServicesFor, signUp } from "../../../test/fixtures/memory-services.js";
import { encodeCursor } from "../../shared/cursor.js";
import { mergeOldestFirst } from "./merge.js";

const entries = (...ids: number[]) => ids.map((id) => ({ id }));

describe("mergeOldestFirst", () => {
  it("answers the limit oldest entries above `after` and below `before`, newest first", () => {
    const lists = [entries(1, 4, 7, 10), entries(2, 5, 8), entries(3, 6, 9)];
    assert.deepEqual(mergeOldestFirst(lists, 3, Infinity, 3), { entries: entries(6, 5, 4), more: true });
    assert.deepEqual(mergeOldestFirst(lists, 0, 4, 10), { entries: entries(3, 2, 1), more: false });
    assert.deepEqual(mergeOldestFirst(lists, 8, Infinity, 5), { entries: entries(10, 9), more: false });
    assert.deepEqual(mergeOldestFirst(lists, 10, Infinity, 5), { entries: [], more: false });
    assert.deepEqual(
      mergeOldestFirst(lists, 2, 9, 10, (e) => e.id % 2 === 0),
      {
        entries: entries(8, 6, 4),
        more: false,
      },
    );
  });
});

describe("paging by after_id (Mastodon's min_id)", () => {
  it("walks the home feed, a profile, a tag and notifications upwards from an id", async (t) => {
    const s = await memoryServicesFor(t, { clock: new FakeClock() });
    const [alice, bob] = [await signUp(s, "alice"), await signUp(s, "bob")];
    await s.graph.follow(alice, "bob");
    const posted: string[] = [];
    for (let i = 0; i < 7; i++) posted.push((await s.posts.createPost(bob, `post ${i} #tag @alice`)).id);

    const ids = (page: { items: { entryId: string }[] }) => page.items.map((i) => i.entryId);
    const up = await s.posts.getFeed(alice, 3, "", posted[1]);
    assert.deepEqual(ids(up), [posted[4], posted[3], posted[2]]);
    assert.equal(up.nextCursor, "");
    // With a cursor too: the window between the two ids.
    const window = await s.posts.getFeed(alice, 10, encodeCursor(posted[4]!), posted[1]);
    assert.deepEqual(ids(window), [posted[3], posted[2]]);
    assert.deepEqual(ids(await s.posts.listUserPosts("", "bob", 2, "", posted[5])), [posted[6]]);
    assert.deepEqual(ids(await s.posts.listTagPosts("", "tag", 2, "", posted[0])), [posted[2], posted[1]]);
    const mentions = await s.notifications.list(alice, 2, "", [], posted[3]);
    assert.deepEqual(
      mentions.notifications.map((n) => n.post!.id),
      [posted[5], posted[4]],
    );
  });

  it("gives accounts with their counts by name or id, in the order asked", async (t) => {
    const s = await memoryServicesFor(t, { clock: new FakeClock() });
    const alice = await signUp(s, "alice");
    await signUp(s, "bob");
    await s.graph.follow(alice, "bob");
    await s.posts.createPost(alice, "hi");
    const [bob, aliceProfile] = await s.posts.getProfiles(["BOB", "nobody", "alice"], []);
    assert.equal(bob!.username, "bob");
    assert.equal(bob!.followers, 1);
    assert.equal(aliceProfile!.following, 1);
    assert.equal(aliceProfile!.posts, 1);
    assert.ok(aliceProfile!.lastPostAtMs > 0);
    const byId = await s.posts.getProfiles([], [bob!.id, "999999", aliceProfile!.id]);
    assert.deepEqual(
      byId.map((p) => p.username),
      ["bob", "alice"],
    );
  });
});
