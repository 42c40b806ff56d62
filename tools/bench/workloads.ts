import type { BenchHttp, HttpAnswer } from "./http.js";
import { describeError, type Timed, type Workload } from "./load.js";
import { randomInt, randomText, type Rng } from "./random.js";
import type { SeededGraph } from "./seed.js";
import { BENCH_PASSWORD } from "./seeder.js";

/** DeathStarBench's compose-post sends 256 random characters (Flock allows 280 code points). */
const COMPOSE_CHARS = 256;
const FEED_PAGE = 20;
/** DeathStarBench's user-timeline read is a page of 10. */
const USER_POSTS_PAGE = 10;
/** Tries at finding a user that `a` does not follow yet (a bound, not an expectation). */
const PICK_ATTEMPTS = 50;
/** Authors whose newest seeded posts like-unlike and reply pick from. */
const POOL_AUTHORS = 64;

/**
 * The posts the write workloads act on, kept across concurrencies: seeded posts, which
 * like-unlike and reply pick from and the bench never deletes, and the posts compose-post,
 * mixed and reply made, oldest first with their author's token, which delete-post deletes.
 */
export class PostLedger {
  private readonly made: { id: string; token: string }[] = [];
  private next = 0;

  constructor(readonly seeded: readonly string[]) {}

  /** Remembers a post the bench made (from a 201's body) for delete-post. */
  add(body: string, token: string): void {
    const id = (JSON.parse(body) as { id?: unknown }).id;
    if (typeof id === "string") this.made.push({ id, token });
  }

  /** The oldest post made and not deleted yet, if any. */
  take(): { id: string; token: string } | undefined {
    const post = this.made[this.next];
    if (post === undefined) return undefined;
    this.next++;
    if (this.next >= 4096 && this.next * 2 >= this.made.length) {
      this.made.splice(0, this.next);
      this.next = 0;
    }
    return post;
  }
}

/** The newest seeded posts (a page each) of `POOL_AUTHORS` random seeded users, read through the API. */
export async function seededPosts(http: BenchHttp, seeded: SeededGraph, random: Rng): Promise<string[]> {
  const { users } = seeded.graph;
  const ids = new Set<string>();
  for (let i = 0; i < Math.min(POOL_AUTHORS, users.length); i++) {
    const user = users[randomInt(random, users.length)]!;
    const answer = await http.request("GET", `/api/v1/users/${user}/posts?limit=${USER_POSTS_PAGE}`);
    if (answer.status !== 200) continue;
    const page = JSON.parse(answer.body) as { posts?: { id?: unknown; repostedBy?: unknown }[] };
    for (const post of page.posts ?? []) {
      if (typeof post.id === "string" && post.repostedBy == null) ids.add(post.id);
    }
  }
  return [...ids];
}

function expect(answer: HttpAnswer, status: number): string | undefined {
  return answer.status === status ? undefined : `http ${answer.status}`;
}

/**
 * The request mixes of the benchmark, each a workload of its own, on the seeded graph. Posts
 * made are kept in `ledger` (for delete-post); like-unlike and reply act on its seeded posts.
 */
export function flockWorkloads(
  http: BenchHttp,
  seeded: SeededGraph,
  concurrency: number,
  ledger: PostLedger = new PostLedger([]),
): Workload[] {
  const { users } = seeded.graph;
  const pick = (random: Rng) => randomInt(random, users.length);

  const readHomeFeed = async (random: Rng) =>
    expect(await http.request("GET", `/api/v1/feed?limit=${FEED_PAGE}`, seeded.tokens[pick(random)]), 200);
  const readUserPosts = async (random: Rng) =>
    expect(
      await http.request("GET", `/api/v1/users/${users[pick(random)]}/posts?limit=${USER_POSTS_PAGE}`),
      200,
    );
  const composePost = async (random: Rng) => {
    const token = seeded.tokens[pick(random)]!;
    const answer = await http.request("POST", "/api/v1/posts", token, {
      text: randomText(random, COMPOSE_CHARS),
    });
    if (answer.status === 201) ledger.add(answer.body, token);
    return expect(answer, 201);
  };

  // Each worker follows someone new, then unfollows them again: the seeded graph is
  // left as it was, and every request is a real change (no idempotent no-ops).
  const following = seeded.graph.following.map((list) => new Set(list));
  const pending: ({ a: number; b: number } | undefined)[] = new Array(concurrency).fill(undefined);
  const followUnfollow = async (worker: number, random: Rng) => {
    const open = pending[worker];
    if (open) {
      pending[worker] = undefined;
      return expect(
        await http.request("DELETE", `/api/v1/following/${users[open.b]}`, seeded.tokens[open.a]),
        204,
      );
    }
    for (let attempt = 0; attempt < PICK_ATTEMPTS; attempt++) {
      const a = pick(random);
      const b = pick(random);
      if (a === b || following[a]!.has(b)) continue;
      pending[worker] = { a, b };
      return expect(await http.request("PUT", `/api/v1/following/${users[b]}`, seeded.tokens[a]), 204);
    }
    return "no pair to follow";
  };
  const undoFollows = async () => {
    for (let w = 0; w < pending.length; w++) {
      const open = pending[w];
      pending[w] = undefined;
      if (open) await http.request("DELETE", `/api/v1/following/${users[open.b]}`, seeded.tokens[open.a]);
    }
  };

  const login = async (random: Rng) =>
    expect(
      await http.request("POST", "/api/v1/sessions", undefined, {
        username: users[pick(random)],
        password: BENCH_PASSWORD,
      }),
      201,
    );

  const mixed = async (random: Rng) => {
    const roll = random();
    if (roll < 0.6) return readHomeFeed(random);
    if (roll < 0.9) return readUserPosts(random);
    return composePost(random);
  };

  const pickPost = (random: Rng) => ledger.seeded[randomInt(random, ledger.seeded.length)];

  // Each worker likes a seeded post, then unlikes it again: the seeded posts keep no likes.
  const liked: ({ post: string; token: string } | undefined)[] = new Array(concurrency).fill(undefined);
  const likeUnlike = async (worker: number, random: Rng) => {
    const open = liked[worker];
    if (open) {
      liked[worker] = undefined;
      return expect(await http.request("DELETE", `/api/v1/posts/${open.post}/like`, open.token), 204);
    }
    const post = pickPost(random);
    if (post === undefined) return "no seeded post to like";
    const token = seeded.tokens[pick(random)]!;
    liked[worker] = { post, token };
    return expect(await http.request("PUT", `/api/v1/posts/${post}/like`, token), 204);
  };
  const undoLikes = async () => {
    for (let w = 0; w < liked.length; w++) {
      const open = liked[w];
      liked[w] = undefined;
      if (open) await http.request("DELETE", `/api/v1/posts/${open.post}/like`, open.token);
    }
  };

  const reply = async (random: Rng) => {
    const parent = pickPost(random);
    if (parent === undefined) return "no seeded post to reply to";
    const token = seeded.tokens[pick(random)]!;
    const answer = await http.request("POST", "/api/v1/posts", token, {
      text: randomText(random, COMPOSE_CHARS),
      inReplyTo: parent,
    });
    if (answer.status === 201) ledger.add(answer.body, token);
    return expect(answer, 201);
  };

  // Deletes the posts compose-post, mixed and reply made, oldest first; when none is left, a
  // worker makes one first, unmeasured (the time recorded is the DELETE's alone).
  let fromEarlier = 0;
  let madeInWindow = 0;
  const deletePost = async (_w: number, random: Rng): Promise<string | undefined | Timed> => {
    let post = ledger.take();
    if (post) fromEarlier++;
    else {
      const token = seeded.tokens[pick(random)]!;
      const made = await http.request("POST", "/api/v1/posts", token, {
        text: randomText(random, COMPOSE_CHARS),
      });
      if (made.status !== 201) return { ms: 0, error: `making the post: http ${made.status}` };
      madeInWindow++;
      post = { id: (JSON.parse(made.body) as { id: string }).id, token };
    }
    const t0 = performance.now();
    const answer = await http
      .request("DELETE", `/api/v1/posts/${post.id}`, post.token)
      .catch((err: unknown) => ({ status: 0, body: describeError(err) }));
    const ms = performance.now() - t0;
    return { ms, error: answer.status === 0 ? answer.body : expect(answer, 204) };
  };
  const deleteNote = () =>
    `delete-post deleted ${fromEarlier} posts made earlier by compose-post, mixed and reply` +
    (madeInWindow > 0 ? ` and ${madeInWindow} it made itself, unmeasured, when those ran out` : "");

  return [
    { name: "read-home-feed", kind: "read", op: (_w, r) => readHomeFeed(r) },
    { name: "read-user-posts", kind: "read", op: (_w, r) => readUserPosts(r) },
    { name: "compose-post", kind: "write", op: (_w, r) => composePost(r) },
    { name: "follow-unfollow", kind: "write", op: followUnfollow, finish: undoFollows },
    { name: "login", kind: "write", op: (_w, r) => login(r) },
    { name: "mixed-60-30-10", kind: "read", op: (_w, r) => mixed(r) },
    { name: "like-unlike", kind: "write", op: likeUnlike, finish: undoLikes },
    { name: "reply", kind: "write", op: (_w, r) => reply(r) },
    { name: "delete-post", kind: "write", op: deletePost, note: deleteNote },
  ];
}
