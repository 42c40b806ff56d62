import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createOAuthAPIClient, createRestAPIClient, createStreamingAPIClient, type mastodon } from "masto";
import { startInProcessFlock, type InProcessFlock } from "../fixtures/in-process-flock.js";
import { authorizeInBrowser, pkce, REDIRECT_URI, signUpFlock, waitFor } from "../fixtures/mastodon.js";

/**
 * Flock driven by masto.js (8.0.0, pinned), a client nobody on this team wrote: the real OAuth
 * flow (app registration, the authorization page with a logged-in session and its CSRF token,
 * the code exchanged with PKCE), then the calls an app makes, for two accounts on two web
 * replicas over two backends, and an `update` received over the streaming API.
 */
describe("Mastodon API with masto.js", () => {
  let flock: InProcessFlock;

  before(async () => {
    flock = await startInProcessFlock({ backends: 2, webs: 2 });
  });
  after(() => flock.close());

  /** Registers an app on `url`, authorizes it for `username` in a browser, and returns a client. */
  async function logInWithMasto(url: string, username: string) {
    const app = await createRestAPIClient({ url }).v1.apps.create({
      clientName: `masto test for ${username}`,
      redirectUris: REDIRECT_URI,
      scopes: "read write follow",
      website: "https://client.example",
    });
    assert.ok(app.clientId && app.clientSecret);
    const { verifier, challenge } = pkce();
    const state = `state-${username}`;
    const code = await authorizeInBrowser(url, {
      clientId: app.clientId,
      scope: "read write follow",
      username,
      state,
      codeChallenge: challenge,
    });
    // masto's types name no code_verifier; it sends every parameter it is given.
    const tokenParams = {
      grantType: "authorization_code",
      clientId: app.clientId,
      clientSecret: app.clientSecret!,
      redirectUri: REDIRECT_URI,
      code,
      codeVerifier: verifier,
    } as const;
    const token = await createOAuthAPIClient({ url }).token.create(tokenParams);
    assert.equal(token.tokenType, "Bearer");
    assert.equal(token.scope, "read write follow");
    return { rest: createRestAPIClient({ url, accessToken: token.accessToken }), app, token };
  }

  it("does the journey of two users of an app", async () => {
    const [webA, webB] = flock.webUrls as [string, string];
    await signUpFlock(webA, "alice");
    await signUpFlock(webB, "bob");
    const alice = await logInWithMasto(webA, "alice");
    const bob = await logInWithMasto(webB, "bob");

    const me = await alice.rest.v1.accounts.verifyCredentials();
    assert.equal(me.username, "alice");
    assert.equal(me.acct, "alice");
    assert.equal(me.source.privacy, "public");
    const updated = await alice.rest.v1.accounts.updateCredentials({
      displayName: "Alice A.",
      note: "Hi <there>",
    });
    assert.equal(updated.displayName, "Alice A.");
    assert.equal(updated.note, "<p>Hi &lt;there&gt;</p>");
    const appSeen = await alice.rest.v1.apps.verifyCredentials();
    assert.equal(appSeen.name, "masto test for alice");

    // Alice follows Bob (looked up by name, acted on by id).
    const bobAccount = await alice.rest.v1.accounts.lookup({ acct: "bob" });
    const followed = await alice.rest.v1.accounts.$select(bobAccount.id).follow();
    assert.equal(followed.following, true);
    const [rel] = await alice.rest.v1.accounts.relationships.fetch({ id: [bobAccount.id] });
    assert.equal(rel?.following, true);
    assert.equal(rel?.followedBy, false);

    // Alice's stream, on the other replica from the one Bob posts on.
    const instance = await alice.rest.v2.instance.fetch();
    assert.match(instance.version, /^4\.2\.0\+flock-/);
    const streaming = createStreamingAPIClient({
      streamingApiUrl: instance.configuration.urls.streaming,
      accessToken: alice.token.accessToken,
      retry: 1,
    });
    const events: mastodon.streaming.Event[] = [];
    const subscription = streaming.user.subscribe();
    const reading = (async () => {
      for await (const event of subscription) events.push(event);
    })();
    // masto connects after a back-off of its own (a second): Bob posts until Alice's stream
    // shows one, so what follows is checked on a stream known to be open.
    let connected = false;
    for (let i = 0; i < 30 && !connected; i++) {
      const probe = await bob.rest.v1.statuses.create({ status: `probe ${i}` });
      connected = await waitFor(events, (e) => e.event === "update" && e.payload.id === probe.id, 500).then(
        () => true,
        () => false,
      );
    }
    assert.ok(connected, "the stream delivers Bob's posts");

    // Bob posts (retrying with the same Idempotency-Key gives the same status).
    const requestInit = { headers: { "Idempotency-Key": "bob-first-post" } };
    const post = await bob.rest.v1.statuses.create(
      { status: "Hello @alice, see #Flock https://example.com/x" },
      { requestInit },
    );
    const again = await bob.rest.v1.statuses.create(
      { status: "Hello @alice, see #Flock https://example.com/x" },
      { requestInit },
    );
    assert.equal(again.id, post.id);
    assert.equal(post.account.username, "bob");
    assert.deepEqual(
      post.tags.map((t) => t.name),
      ["flock"],
    );
    assert.deepEqual(
      post.mentions.map((m) => m.username),
      ["alice"],
    );
    assert.match(post.content, /class="u-url mention">@<span>alice<\/span><\/a>/);
    assert.match(post.content, /<a href="https:\/\/example.com\/x" target="_blank"/);

    const update = await waitFor(events, (e) => e.event === "update" && e.payload.id === post.id);
    assert.equal(update.event === "update" && update.payload.account.username, "bob");

    // Alice replies, favourites and reblogs.
    const reply = await alice.rest.v1.statuses.create({ status: "@bob hello back", inReplyToId: post.id });
    assert.equal(reply.inReplyToId, post.id);
    assert.equal(reply.inReplyToAccountId, bobAccount.id);
    const favourited = await alice.rest.v1.statuses.$select(post.id).favourite();
    assert.equal(favourited.favourited, true);
    assert.equal(favourited.favouritesCount, 1);
    const reblog = await alice.rest.v1.statuses.$select(post.id).reblog();
    assert.equal(reblog.reblog?.id, post.id);
    assert.notEqual(reblog.id, post.id);
    assert.equal(reblog.reblogged, true);
    const favouritedBy = await alice.rest.v1.statuses.$select(post.id).favouritedBy.list();
    assert.deepEqual(
      favouritedBy.map((a) => a.username),
      ["alice"],
    );
    const rebloggedBy = await bob.rest.v1.statuses.$select(post.id).rebloggedBy.list();
    assert.deepEqual(
      rebloggedBy.map((a) => a.username),
      ["alice"],
    );

    // Context, both ways.
    const up = await bob.rest.v1.statuses.$select(reply.id).context.fetch();
    assert.deepEqual(
      up.ancestors.map((s) => s.id),
      [post.id],
    );
    const down = await bob.rest.v1.statuses.$select(post.id).context.fetch();
    assert.deepEqual(
      down.descendants.map((s) => s.id),
      [reply.id],
    );

    // Bob's notifications: the follow, the reply (a mention), the favourite and the reblog.
    const notifications = await bob.rest.v1.notifications.list();
    assert.deepEqual(notifications.map((n) => n.type).sort(), ["favourite", "follow", "mention", "reblog"]);
    const favouriteNote = notifications.find((n) => n.type === "favourite")!;
    assert.equal(favouriteNote.status?.id, post.id);
    assert.equal(favouriteNote.account.username, "alice");
    const mentionsOnly = await bob.rest.v1.notifications.list({ types: ["mention"] });
    assert.deepEqual(
      mentionsOnly.map((n) => n.status?.id),
      [reply.id],
    );
    const one = await bob.rest.v1.notifications.$select(favouriteNote.id).fetch();
    assert.equal(one.id, favouriteNote.id);
    await bob.rest.v1.notifications.$select(favouriteNote.id).dismiss();
    assert.equal((await bob.rest.v1.notifications.list()).length, 3);

    // Home, page by page through the Link header.
    const more: string[] = [];
    for (let i = 0; i < 5; i++) more.push((await bob.rest.v1.statuses.create({ status: `post ${i}` })).id);
    const firstPage = await alice.rest.v1.timelines.home.list.$raw({ limit: 2 });
    assert.match(
      firstPage.headers.get("link") ?? "",
      /max_id=\d+>; rel="next", <[^>]+min_id=\d+>; rel="prev"/,
    );
    const seen: string[] = [];
    for await (const page of alice.rest.v1.timelines.home.list({ limit: 2 })) {
      assert.ok(page.length <= 2);
      seen.push(...page.map((s) => s.id));
    }
    assert.deepEqual(
      seen,
      [...seen].sort((a, b) => Number(b) - Number(a)),
      "newest first",
    );
    assert.equal(new Set(seen).size, seen.length, "no status twice");
    // Flock's home holds the accounts one follows (not one's own posts and reblogs, as Mastodon's does).
    for (const id of [...more, post.id]) assert.ok(seen.includes(id), `home holds ${id}`);
    assert.ok(!seen.includes(reply.id) && !seen.includes(reblog.id));
    // And back up, from the oldest, with min_id.
    const upwards: string[] = [];
    for await (const page of alice.rest.v1.timelines.home
      .list({ limit: 3, minId: post.id })
      .setDirection("prev")) {
      upwards.push(...page.map((s) => s.id));
    }
    for (const id of more) assert.ok(upwards.includes(id), `walking up finds ${id}`);
    const sinceNewest = await alice.rest.v1.timelines.home.list({ sinceId: more[4] });
    assert.deepEqual(sinceNewest, []);
    const tagged = await alice.rest.v1.timelines.tag.$select("flock").list();
    assert.deepEqual(
      tagged.map((s) => s.id),
      [post.id],
    );

    // Search.
    const found = await alice.rest.v2.search.list({ q: "#flock", type: "statuses" });
    assert.deepEqual(
      found.statuses.map((s) => s.id),
      [post.id],
    );
    const people = await alice.rest.v2.search.list({ q: "bo", type: "accounts" });
    assert.deepEqual(
      people.accounts.map((a) => a.username),
      ["bob"],
    );

    // Delete: the status comes back with its text, then it is gone.
    const deleted = await alice.rest.v1.statuses.$select(reply.id).remove();
    assert.equal(deleted.text, "@bob hello back");
    await assert.rejects(
      bob.rest.v1.statuses.$select(reply.id).fetch(),
      (err: Error & { statusCode?: number }) => {
        assert.equal(err.statusCode, 404);
        return true;
      },
    );
    await alice.rest.v1.statuses.$select(post.id).unfavourite();
    const unreblogged = await alice.rest.v1.statuses.$select(post.id).unreblog();
    assert.equal(unreblogged.reblogged, false);
    await bob.rest.v1.notifications.clear();
    assert.deepEqual(await bob.rest.v1.notifications.list(), []);
    const unfollowed = await alice.rest.v1.accounts.$select(bobAccount.id).unfollow();
    assert.equal(unfollowed.following, false);

    streaming.close();
    await reading.catch(() => undefined);

    // Revoking the token ends it everywhere.
    await createOAuthAPIClient({ url: webA }).revoke({
      clientId: alice.app.clientId!,
      clientSecret: alice.app.clientSecret!,
      token: alice.token.accessToken,
    });
    await assert.rejects(
      createRestAPIClient({
        url: webB,
        accessToken: alice.token.accessToken,
      }).v1.accounts.verifyCredentials(),
      (err: Error & { statusCode?: number }) => err.statusCode === 401,
    );
  });
});
