import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import generator, { detector, type Entity, type MegalodonInterface } from "megalodon";
import { startInProcessFlock, type InProcessFlock } from "../fixtures/in-process-flock.js";
import { authorizeInBrowser, signUpFlock, waitFor } from "../fixtures/mastodon.js";

const OOB = "urn:ietf:wg:oauth:2.0:oob";
const SCOPES = ["read", "write", "follow"];

/**
 * The same journey with megalodon (10.3.0, pinned): an independent client (axios and the `ws`
 * package, where masto.js uses fetch and the native WebSocket), so Flock is checked against
 * the API rather than one library's habits. megalodon sends no PKCE and uses the out-of-band
 * redirect: the authorization page shows the code.
 */
describe("Mastodon API with megalodon", () => {
  let flock: InProcessFlock;

  before(async () => {
    flock = await startInProcessFlock({ backends: 2, webs: 2 });
  });
  after(() => flock.close());

  async function logIn(url: string, username: string): Promise<MegalodonInterface> {
    const anonymous = generator("mastodon", url);
    const app = await anonymous.registerApp(`megalodon test for ${username}`, {
      scopes: SCOPES,
      redirect_uris: OOB,
    });
    assert.ok(app.url?.startsWith(`${url}/oauth/authorize?`));
    const code = await authorizeInBrowser(url, {
      clientId: app.client_id,
      redirectUri: OOB,
      scope: SCOPES.join(" "),
      username,
    });
    const token = await anonymous.fetchAccessToken(app.client_id, app.client_secret, code, OOB);
    assert.equal(token.scope, "read write follow");
    return generator("mastodon", url, token.access_token);
  }

  it("is detected as a Mastodon server", async () => {
    assert.equal(await detector(flock.webUrls[0]!), "mastodon");
  });

  it("does the journey of two users of an app", async () => {
    const [webA, webB] = flock.webUrls as [string, string];
    await signUpFlock(webB, "carol");
    await signUpFlock(webA, "dave");
    const carol = await logIn(webB, "carol");
    const dave = await logIn(webA, "dave");

    const me = (await carol.verifyAccountCredentials()).data;
    assert.equal(me.username, "carol");
    assert.equal(typeof me.id, "string");
    const updated = (await carol.updateCredentials({ display_name: "Carol C.", note: "bio" })).data;
    assert.equal(updated.display_name, "Carol C.");

    const daveId = (await dave.verifyAccountCredentials()).data.id;
    const follow = (await carol.followAccount(daveId)).data;
    assert.equal(follow.following, true);
    const [rel] = (await carol.getRelationships([daveId])).data;
    assert.equal(rel?.following, true);
    const followers = (await dave.getAccountFollowers(daveId, { get_all: true, sleep_ms: 0 })).data;
    assert.deepEqual(
      followers.map((a) => a.username),
      ["carol"],
    );

    // Carol's stream (WebSocket with the token in the query), on the other replica.
    const stream = await carol.userStreaming();
    const updates: Entity.Status[] = [];
    const notifications: Entity.Notification[] = [];
    stream.on("update", (status: Entity.Status) => updates.push(status));
    stream.on("notification", (n: Entity.Notification) => notifications.push(n));
    stream.on("error", () => undefined);
    stream.on("parser-error", (err: Error) =>
      assert.fail(`megalodon could not parse a frame: ${err.message}`),
    );
    await new Promise<void>((resolve) => stream.once("connect", () => resolve()));

    let connected = false;
    for (let i = 0; i < 30 && !connected; i++) {
      const probe = (await dave.postStatus(`probe ${i}`)).data as Entity.Status;
      connected = await waitFor(updates, (s) => s.id === probe.id, 500).then(
        () => true,
        () => false,
      );
    }
    assert.ok(connected, "the stream delivers Dave's posts");

    const post = (await dave.postStatus("Morning @carol #coffee")).data as Entity.Status;
    const streamed = await waitFor(updates, (s) => s.id === post.id);
    assert.equal(streamed.account.username, "dave");
    const mention = await waitFor(notifications, (n) => n.status?.id === post.id);
    assert.equal(mention.type, "mention");

    const reply = (await carol.postStatus("@dave good morning", { in_reply_to_id: post.id }))
      .data as Entity.Status;
    assert.equal(reply.in_reply_to_id, post.id);
    assert.equal((await carol.favouriteStatus(post.id)).data.favourited, true);
    const reblog = (await carol.reblogStatus(post.id)).data;
    assert.equal(reblog.reblog?.id, post.id);

    const context = (await dave.getStatusContext(post.id)).data;
    assert.deepEqual(
      context.descendants.map((s) => s.id),
      [reply.id],
    );

    const daveNotes = (await dave.getNotifications()).data;
    assert.deepEqual(daveNotes.map((n) => n.type).sort(), ["favourite", "follow", "mention", "reblog"]);

    // Home, paged by hand through the Link header's max_id, as megalodon leaves it to callers.
    const seen: string[] = [];
    let maxId: string | undefined;
    for (let pages = 0; pages < 20; pages++) {
      const page = await carol.getHomeTimeline({ limit: 2, ...(maxId ? { max_id: maxId } : {}) });
      if (page.data.length === 0) {
        assert.equal(page.headers.link, undefined, "an empty page has no Link");
        break;
      }
      seen.push(...page.data.map((s) => s.id));
      maxId = /max_id=(\d+)>; rel="next"/.exec(String(page.headers.link))?.[1];
      assert.ok(maxId, "a page with statuses links to the next");
    }
    assert.ok(seen.includes(post.id));
    assert.deepEqual(
      seen,
      [...seen].sort((a, b) => Number(b) - Number(a)),
    );

    const results = (await carol.search("coffee", { type: "statuses" })).data;
    assert.deepEqual(
      results.statuses.map((s) => s.id),
      [post.id],
    );
    const tags = (await carol.search("#coffee", { type: "hashtags" })).data;
    assert.deepEqual(
      tags.hashtags.map((t) => t.name),
      ["coffee"],
    );

    await carol.deleteStatus(reply.id);
    await assert.rejects(
      dave.getStatus(reply.id),
      (err: { response?: { status?: number; data?: unknown } }) => {
        assert.equal(err.response?.status, 404);
        assert.deepEqual(err.response?.data, { error: "Record not found" });
        return true;
      },
    );
    await dave.dismissNotifications();
    assert.deepEqual((await dave.getNotifications()).data, []);
    stream.stop();
  });
});
