import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ApiClient } from "../fixtures/api-client.js";
import { HtmlClient } from "../fixtures/html-client.js";
import { startInProcessFlock, type InProcessFlock } from "../fixtures/in-process-flock.js";
import { SseClient, type SseEvent } from "../fixtures/sse-client.js";

const HEARTBEAT_MS = 150;

/** What the events of a stream say, in order: type, id, and the post or notification they name. */
function summary(events: readonly SseEvent[]): string[] {
  return events.map((e) => {
    const data = JSON.parse(e.data) as {
      id: string;
      type?: string;
      post?: { id: string };
      repostedBy?: string;
    };
    if (e.type === "notification") return `notification:${data.type}:${e.id}`;
    return `${e.type}:${data.id}${data.repostedBy ? `:by ${data.repostedBy}` : ""}@${e.id}`;
  });
}

/**
 * GET /api/v1/streaming end to end: Server-Sent Events from web replicas relaying the backends'
 * live streams. Every wait is for an event (or a deadline), never a sleep.
 */
describe("live updates (Server-Sent Events)", () => {
  let flock: InProcessFlock;
  let a: ApiClient;
  let b: ApiClient;
  let seq = 0;
  const open: SseClient[] = [];
  const name = (prefix: string) => `${prefix}_${++seq}`;
  const stream = async (web: number, options: Parameters<typeof SseClient.open>[1] = {}) => {
    const client = await SseClient.open(`${flock.webUrls[web]}/api/v1/streaming`, options);
    open.push(client);
    return client;
  };
  /** A reader following an author, and the reader's stream with its first heartbeat in. */
  async function readerAndAuthor(web = 0) {
    const reader = { name: name("reader"), token: "" };
    const author = { name: name("author"), token: "" };
    reader.token = await a.newUser(reader.name);
    author.token = await a.newUser(author.name);
    await a.follow(reader.token, author.name);
    const events = await stream(web, { token: reader.token });
    assert.equal(events.status, 200);
    await events.until(() => events.lastEventId !== "", "the first heartbeat");
    return { reader, author, events };
  }

  before(async () => {
    flock = await startInProcessFlock({
      backends: 2,
      webs: 2,
      live: { heartbeatMs: HEARTBEAT_MS },
      backendShutdownMs: 300,
    });
    a = new ApiClient(flock.webUrls[0]!);
    b = new ApiClient(flock.webUrls[1]!);
  });
  after(async () => {
    for (const client of open) client.close();
    await flock.close();
  });

  it("refuses a stream without a live session, or with a malformed Last-Event-ID", async () => {
    const token = await a.newUser(name("someone"));
    for (const options of [
      {},
      { token: "A".repeat(43) },
      { token: "nope" },
      { cookie: "flock_session=forged" },
    ]) {
      const refused = await stream(0, options);
      assert.equal(refused.status, 401, JSON.stringify(options));
      await refused.until(() => refused.ended, "the error answer to end");
    }
    for (const lastEventId of ["abc", "-1", "1.5", "1".repeat(17), "01"]) {
      const bad = await stream(1, { token, lastEventId });
      assert.equal(bad.status, 400, lastEventId);
    }
    const badQuery = await fetch(`${flock.webUrls[0]}/api/v1/streaming?lastEventId=x`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(badQuery.status, 400);
    assert.deepEqual(Object.keys((await badQuery.json()) as object), ["error"]);
  });

  it("sends feed posts, notifications and deletes in commit order, each with its revision as id", async () => {
    const { reader, author, events } = await readerAndAuthor();
    assert.match(events.headers.get("content-type") ?? "", /^text\/event-stream/);
    assert.equal(events.headers.get("cache-control"), "no-store");
    assert.equal(events.headers.get("x-content-type-options"), "nosniff", "the security headers too");
    const stranger = name("stranger");
    const strangerToken = await a.newUser(stranger);

    const mine = (await b.post(reader.token, "the reader's own post")).body;
    await b.post(strangerToken, "not followed: not streamed");
    const first = (await b.post(author.token, "hello, followers")).body;
    await a.react(author.token, mine.id, "like");
    const reply = (await b.reply(author.token, mine.id, "a reply to the reader")).body;
    await a.react(author.token, first.id, "repost"); // a repost of a post already seen: in the feed again
    assert.equal((await a.deletePost(author.token, first.id)).status, 204);
    await events.until(() => events.events.some((e) => e.type === "delete"), "the delete");

    const likeId = (await a.notifications(reader.token)).body.notifications.find(
      (n) => n.type === "like",
    )!.id;
    const [, , , , repost, deleted] = events.events;
    assert.deepEqual(summary(events.events), [
      `post:${first.id}@${first.id}`,
      `notification:like:${likeId}.1`,
      `post:${reply.id}@${reply.id}`,
      `notification:reply:${reply.id}.1`, // the same commit as the reply: after it, as seq 1
      `post:${first.id}:by ${author.name}@${repost?.id}`,
      `delete:${first.id}@${deleted?.id}`,
    ]);
    const ids = events.events.map((e) => Number(e.id));
    assert.deepEqual(
      ids,
      [...ids].sort((x, y) => x - y),
      "ids rise in commit order",
    );
    const post = JSON.parse(events.events[0]!.data) as Record<string, unknown>;
    assert.equal(post.text, "hello, followers");
    assert.equal(post.author, author.name);
    assert.equal(post.repostedBy, null);
  });

  it("resumes from Last-Event-ID with nothing missed and nothing repeated", async () => {
    const { reader, author, events } = await readerAndAuthor(0);
    const before = (await a.post(author.token, "before the cut")).body;
    await events.waitFor((e) => e.type === "post", "the first post");
    events.close();
    const lastSeen = events.lastEventId;
    assert.equal(lastSeen, before.id);

    // While the reader is away: two posts and a follow of the reader's.
    const missed1 = (await b.post(author.token, "missed one")).body;
    await a.follow(author.token, reader.name);
    const missed2 = (await a.post(author.token, "missed two")).body;

    const resumed = await stream(1, { token: reader.token, lastEventId: lastSeen });
    assert.equal(resumed.status, 200);
    const live = (await a.post(author.token, "live again")).body;
    await resumed.waitFor((e) => e.type === "post" && e.id === live.id, "the live post");
    assert.deepEqual(
      summary(resumed.events).map((s) => s.split("@")[0]),
      [
        `post:${missed1.id}`,
        "notification:follow:" + resumed.events[1]!.id,
        `post:${missed2.id}`,
        `post:${live.id}`,
      ],
    );

    // The same through the query (what a page passes on its first connection).
    const viaQuery = await SseClient.open(`${flock.webUrls[0]}/api/v1/streaming?lastEventId=${missed2.id}`, {
      token: reader.token,
    });
    open.push(viaQuery);
    await viaQuery.waitFor((e) => e.id === live.id, "the post after the given id");
    assert.deepEqual(summary(viaQuery.events), [`post:${live.id}@${live.id}`]);
  });

  it("sends heartbeats as comments when nothing happens, and the first one carries a resume point", async () => {
    const token = await a.newUser(name("quiet"));
    const events = await stream(1, { token });
    await events.until(
      () => events.comments.filter((c) => c === "heartbeat").length >= 3,
      "three heartbeats",
      5_000,
    );
    assert.match(events.lastEventId, /^[1-9][0-9]*(\.1)?$/, "a heartbeat's id: where now is");
    assert.deepEqual(events.events, [], "heartbeats dispatch no events");
  });

  it("takes the session cookie, so a browser's EventSource works", async () => {
    const username = name("browser");
    await a.signup(username, "password123");
    const browser = new HtmlClient(flock.webUrls[0]!);
    await browser.get("/login");
    assert.equal((await browser.postForm("/login", { username, password: "password123" })).status, 303);
    const events = await stream(0, { cookie: `flock_session=${browser.cookie("flock_session")}` });
    assert.equal(events.status, 200);
    await events.until(() => events.lastEventId !== "", "the first heartbeat");
  });

  it("stops the backend stream when the client goes away", async () => {
    const openStreams = async () => {
      const text = await (await fetch(`${flock.webUrls[1]}/metrics`)).text();
      return Number(/^flock_web_open_streams(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1]);
    };
    const base = await openStreams();
    assert.ok(Number.isInteger(base), "the gauge is there");
    const token = await a.newUser(name("leaver"));
    const events = await stream(1, { token });
    await events.until(() => events.lastEventId !== "", "the first heartbeat");
    assert.equal(await openStreams(), base + 1);
    events.close();
    await pollUntil(async () => (await openStreams()) === base, "the stream to be dropped");
  });

  it("re-subscribes by itself when a backend restarts, losing and repeating nothing", async () => {
    const { author, events } = await readerAndAuthor(0);
    const posted: string[] = [];
    const post = async (text: string) => posted.push((await b.post(author.token, text)).body.id);
    await post("before the restarts");
    for (const i of [0, 1]) {
      // Posts keep coming while a backend goes down and comes back (the other one serves them).
      const restart = flock.restartBackend(i);
      for (let n = 0; n < 3; n++) await post(`during restart ${i}.${n}`);
      await restart;
      await post(`after restart ${i}`);
    }
    const last = posted.at(-1)!;
    await events.waitFor((e) => e.id === last, "the last post", 10_000);
    assert.equal(events.ended, false, "the client's stream never ended");
    assert.deepEqual(
      events.events.map((e) => e.id),
      posted,
      "every post once, in order",
    );
  });

  it("ends streams cleanly when a web replica shuts down; the client resumes on another", async () => {
    const { reader, author, events } = await readerAndAuthor(1);
    const first = (await a.post(author.token, "before the shutdown")).body;
    await events.waitFor((e) => e.id === first.id, "the first post");
    const closing = flock.closeWeb(1);
    await events.until(() => events.ended, "the stream to end", 3_000);
    await closing;
    const next = (await a.post(author.token, "after the shutdown")).body;
    const resumed = await stream(0, { token: reader.token, lastEventId: events.lastEventId });
    await resumed.waitFor((e) => e.id === next.id, "the next post");
    assert.deepEqual(summary(resumed.events), [`post:${next.id}@${next.id}`]);
  });
});

async function pollUntil(condition: () => Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
