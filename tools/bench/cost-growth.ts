import type { CostGrowthSettings } from "./config.js";
import type { BenchHttp } from "./http.js";
import { describeError } from "./load.js";
import type { Progress } from "./progress.js";
import { randomText, type Rng } from "./random.js";
import type { SeedPhase, Seeder } from "./seeder.js";
import { ratio, Recorder, type LatencySummary } from "./stats.js";

/** How long a post may take to show in a follower's feed before it counts as an error. */
const VISIBILITY_DEADLINE_MS = 30_000;

export interface Point extends Omit<LatencySummary, "opsPerSecond"> {
  label: string;
}

/** One cost-growth figure: the same operation at a small and a grown size, and grown/small. */
export interface Comparison {
  name: string;
  base: Point;
  grown?: Point;
  /** grown p50 / base p50 (the bar is at most 1.5). */
  ratio?: number;
  ratioP99?: number;
}

/** Ack-to-visible for one author: from sending a post until a follower's feed read holds it. */
export interface Visibility extends Point {
  followers: number;
  /** Followers whose feed was read after each post. */
  sampledFollowers: number;
  posts: number;
  /**
   * Feed reads that began after the post was acknowledged and did not hold it: each one is a
   * stale read (the bar is 0: "at once, the next read").
   */
  staleReads: number;
  /** Feed reads per (post, follower) until the post was seen; 1 when every first read held it. */
  meanReads: number;
}

export interface CostGrowthResults {
  postsStored: { small: number; large?: number };
  comparisons: Comparison[];
  visibility: { few?: Visibility; many?: Visibility; ratioP50?: number; ratioP99?: number };
}

/**
 * Does cost grow with data? A fixture of its own, seeded straight into etcd (names start with
 * the run's tag), measured with one request at a time on an otherwise idle system:
 *
 *  - feed page: a reader following `narrowFollowing` accounts, with about `smallPosts`
 *    posts stored, then again after history grew to `largePosts` (the new posts are by the
 *    accounts this reader follows, so its own feed grows with the store);
 *  - feed page: a reader following `narrowFollowing` vs one following `wideFollowing`
 *    accounts, both feeds holding the same number of posts;
 *  - compose: an author with `fewFollowers` vs one with `manyFollowers`, and ack-to-visible:
 *    from sending the post until the home feed of each of `visibleFollowers` followers (the
 *    same readers for both authors), read through the front door after the answer, holds it;
 *  - user posts page of an author with few vs many posts (it grows with the history);
 *  - the wide reader's feed again at the large history: its posts are the oldest stored, so
 *    past the backends' text budget their texts are read from etcd on demand.
 */
export class CostGrowth {
  private readonly names;
  private tokens = new Map<string, string>();
  private readonly points = new Map<string, Point>();
  private readonly visible = new Map<"few" | "many", Visibility>();
  private postsSmall = 0;
  private postsLarge: number | undefined;

  constructor(
    private readonly seeder: Seeder,
    private readonly http: BenchHttp,
    private readonly settings: CostGrowthSettings,
    tag: string,
    private readonly random: Rng,
    private readonly progress: Progress,
  ) {
    const list = (kind: string, n: number) => Array.from({ length: n }, (_, i) => `${tag}_${kind}${i}`);
    const sampled = Math.min(settings.visibleFollowers, settings.fewFollowers, settings.manyFollowers);
    this.names = {
      narrowAuthors: list("n", Math.max(1, settings.narrowFollowing)),
      wideAuthors: list("w", Math.max(1, settings.wideFollowing)),
      narrowReader: `${tag}_rnarrow`,
      wideReader: `${tag}_rwide`,
      fewAuthor: `${tag}_pfew`,
      manyAuthor: `${tag}_pmany`,
      followers: list("f", Math.max(settings.fewFollowers, settings.manyFollowers)),
      sampled,
    };
  }

  /** Accounts, follows and about `smallPosts` posts, half in each reader's feed. */
  async prepare(): Promise<void> {
    const n = this.names;
    await this.seeder.accounts(
      "cost-growth",
      [...n.narrowAuthors, ...n.wideAuthors, ...n.followers.slice(n.sampled)],
      false,
    );
    const withSessions = [
      n.narrowReader,
      n.wideReader,
      n.fewAuthor,
      n.manyAuthor,
      ...n.followers.slice(0, n.sampled),
    ];
    const tokens = await this.seeder.accounts("cost-growth readers", withSessions, true);
    this.tokens = new Map(withSessions.map((u, i) => [u, tokens[i]!]));
    await this.seeder.follows("cost-growth", [
      ...n.narrowAuthors.map((a) => [n.narrowReader, a] as const),
      ...n.wideAuthors.map((a) => [n.wideReader, a] as const),
      ...n.followers.slice(0, this.settings.fewFollowers).map((f) => [f, n.fewAuthor] as const),
      ...n.followers.slice(0, this.settings.manyFollowers).map((f) => [f, n.manyAuthor] as const),
    ]);
    const half = Math.floor(this.settings.smallPosts / 2);
    const [narrow, wide] = [n.narrowAuthors, n.wideAuthors];
    await this.seeder.posts("cost-growth narrow", half, (i) => narrow[i % narrow.length]!, this.random);
    await this.seeder.posts(
      "cost-growth wide",
      this.settings.smallPosts - half,
      (i) => wide[i % wide.length]!,
      this.random,
    );
  }

  /** Everything measured at the small size. */
  async measureSmall(): Promise<void> {
    const n = this.names;
    this.postsSmall = await this.postsStored();
    const posts = `${this.postsSmall} posts stored`;
    await this.measureFeed("feed-small", posts, n.narrowReader);
    await this.measureFeed("feed-narrow", `following ${n.narrowAuthors.length}`, n.narrowReader);
    await this.measureFeed("feed-wide", `following ${n.wideAuthors.length}`, n.wideReader);
    await this.measureUserPosts("userposts-small", posts);
    const sample = n.followers.slice(0, n.sampled);
    await this.measureCompose(sample);
  }

  /** Adds posts by the narrow reader's accounts until the store holds about `largePosts`. */
  async growHistory(): Promise<SeedPhase | undefined> {
    const missing = this.settings.largePosts - (await this.postsStored());
    if (this.settings.largePosts === 0 || missing <= 0) return undefined;
    const authors = this.names.narrowAuthors;
    return this.seeder.posts(
      `history up to ${this.settings.largePosts}`,
      missing,
      (i) => authors[i % authors.length]!,
      this.random,
    );
  }

  async measureLarge(): Promise<void> {
    if (this.settings.largePosts === 0) return;
    this.postsLarge = await this.postsStored();
    const posts = `${this.postsLarge} posts stored`;
    await this.measureFeed("feed-large", posts, this.names.narrowReader);
    await this.measureFeed(
      "feed-wide-large",
      `following ${this.names.wideAuthors.length}, ${posts}`,
      this.names.wideReader,
    );
    await this.measureUserPosts("userposts-large", posts);
  }

  async postsStored(): Promise<number> {
    return (await this.seeder.countKeys(this.seeder.keys.posts)).keys;
  }

  results(): CostGrowthResults {
    const compare = (name: string, b?: Point, g?: Point): Comparison => ({
      name,
      base: b ?? emptyPoint("not measured"),
      grown: g,
      ratio: b && g && ratio(g.p50, b.p50),
      ratioP99: b && g && ratio(g.p99, b.p99),
    });
    const pointOf = (name: string) => this.points.get(name);
    const [few, many] = [this.visible.get("few"), this.visible.get("many")];
    return {
      postsStored: { small: this.postsSmall, large: this.postsLarge },
      comparisons: [
        compare("feed page vs posts stored", pointOf("feed-small"), pointOf("feed-large")),
        compare("feed page vs accounts followed", pointOf("feed-narrow"), pointOf("feed-wide")),
        compare("compose vs followers", pointOf("compose-few"), pointOf("compose-many")),
        compare("ack-to-visible vs followers", few, many),
        compare("user posts page vs author's posts", pointOf("userposts-small"), pointOf("userposts-large")),
        compare("old posts' feed page vs posts stored", pointOf("feed-wide"), pointOf("feed-wide-large")),
      ],
      visibility: {
        few,
        many,
        ratioP50: few && many && ratio(many.p50, few.p50),
        ratioP99: few && many && ratio(many.p99, few.p99),
      },
    };
  }

  private async measureFeed(point: string, label: string, reader: string): Promise<void> {
    const token = this.tokens.get(reader)!;
    await this.sample(point, label, this.settings.readSamples, async () => {
      const answer = await this.http.request("GET", "/api/v1/feed?limit=20", token);
      return answer.status === 200 ? undefined : `http ${answer.status}`;
    });
  }

  private async measureUserPosts(point: string, label: string): Promise<void> {
    const author = this.names.narrowAuthors[0]!;
    await this.sample(point, `${label}, ${author}`, this.settings.readSamples, async () => {
      const answer = await this.http.request("GET", `/api/v1/users/${author}/posts?limit=10`);
      return answer.status === 200 ? undefined : `http ${answer.status}`;
    });
  }

  /**
   * Compose latency (to the 201), and ack-to-visible: once a post is acknowledged, each
   * sampled follower reads their home feed through the front door until it holds the post;
   * the time is from sending the post until the end of that read. Any read that began after
   * the acknowledgement and missed the post is counted as stale. The two authors take turns
   * (few, many, many, few, …) after one unrecorded post each, so neither gains from going
   * second on a warmer system.
   */
  private async measureCompose(sample: string[]): Promise<void> {
    const n = this.names;
    const authors = [
      { size: "few" as const, author: n.fewAuthor, followers: this.settings.fewFollowers },
      { size: "many" as const, author: n.manyAuthor, followers: this.settings.manyFollowers },
    ].map((a) => ({ ...a, composed: new Recorder(), visible: new Recorder(), stale: 0, reads: 0, posts: 0 }));
    const count = Math.max(1, this.settings.composeSamples);
    const budgetEnd = performance.now() + 2 * this.settings.sampleBudgetSeconds * 1000;
    for (const a of authors) await this.postAndWatch(a.author, sample);
    for (let i = 0; i < count && (i === 0 || performance.now() < budgetEnd); i++) {
      for (const a of i % 2 === 0 ? authors : [...authors].reverse()) {
        const t = await this.postAndWatch(a.author, sample);
        a.composed.record(t.composeMs, t.error);
        for (const ms of t.visibleMs) a.visible.record(ms);
        for (const error of t.invisible) a.visible.record(VISIBILITY_DEADLINE_MS, error);
        a.stale += t.staleReads;
        a.reads += t.reads;
        if (t.error === undefined) a.posts++;
      }
      this.progress.update(`compose and ack-to-visible: ${i + 1}/${count}`);
    }
    for (const a of authors) {
      const label = `${a.followers} followers`;
      const composed = point(label, a.composed);
      this.points.set(`compose-${a.size}`, composed);
      const result: Visibility = {
        ...point(label, a.visible),
        followers: a.followers,
        sampledFollowers: sample.length,
        posts: a.posts,
        staleReads: a.stale,
        meanReads:
          a.posts * sample.length > 0 ? Math.round((a.reads / (a.posts * sample.length)) * 100) / 100 : 0,
      };
      this.visible.set(a.size, result);
      this.progress.done(
        `compose ${label}: p50 ${composed.p50} ms  p99 ${composed.p99} ms  errors ${composed.errors}; ack-to-visible p50 ${result.p50} ms  p99 ${result.p99} ms  stale reads ${a.stale} (${a.posts} posts × ${sample.length} followers)`,
      );
    }
  }

  /** One post by `author`, then each follower's feed read until it holds the post. */
  private async postAndWatch(
    author: string,
    followers: string[],
  ): Promise<{
    composeMs: number;
    error?: string;
    visibleMs: number[];
    invisible: string[];
    staleReads: number;
    reads: number;
  }> {
    const t0 = performance.now();
    const answer = await this.http
      .request("POST", "/api/v1/posts", this.tokens.get(author)!, { text: randomText(this.random, 256) })
      .catch((err: unknown) => ({ status: 0, body: describeError(err) }));
    const composeMs = performance.now() - t0;
    const out = { composeMs, visibleMs: [] as number[], invisible: [] as string[], staleReads: 0, reads: 0 };
    if (answer.status !== 201) return { ...out, error: `http ${answer.status}` };
    const id = (JSON.parse(answer.body) as { id: string }).id;
    await Promise.all(
      followers.map(async (follower) => {
        const reader = this.tokens.get(follower)!;
        for (let n = 1; ; n++) {
          out.reads++;
          const feed = await this.http.request("GET", "/api/v1/feed?limit=20", reader).catch(() => undefined);
          const now = performance.now();
          if (feed?.status === 200 && holdsPost(feed.body, id)) return out.visibleMs.push(now - t0);
          if (feed?.status === 200) out.staleReads++;
          if (now - t0 > VISIBILITY_DEADLINE_MS)
            return out.invisible.push(`not in ${follower}'s feed after ${n} reads`);
          if (feed?.status !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }),
    );
    return out;
  }

  /** Up to `count` calls one after another, stopping early once the time budget is spent. */
  private async sample(
    name: string,
    label: string,
    count: number,
    call: () => Promise<string | undefined>,
  ): Promise<void> {
    const recorder = new Recorder();
    const budgetEnd = performance.now() + this.settings.sampleBudgetSeconds * 1000;
    for (let i = 0; i < Math.max(1, count) && (i === 0 || performance.now() < budgetEnd); i++) {
      const t0 = performance.now();
      const error = await call().catch(describeError);
      recorder.record(performance.now() - t0, error);
      this.progress.update(`cost growth ${name} (${label}): ${i + 1}/${count}`);
    }
    const measured = point(label, recorder);
    this.points.set(name, measured);
    this.progress.done(
      `cost growth ${name.padEnd(16)} ${label}: p50 ${measured.p50} ms  p99 ${measured.p99} ms  errors ${measured.errors}`,
    );
  }
}

/** True when a feed page (the JSON API's answer) lists the post with this id. */
function holdsPost(body: string, id: string): boolean {
  const page = JSON.parse(body) as { posts?: { id?: string }[] };
  return (page.posts ?? []).some((p) => p.id === id);
}

function point(label: string, recorder: Recorder): Point {
  const { opsPerSecond: _rate, ...summary } = recorder.summary(0);
  return { label, ...summary };
}

function emptyPoint(label: string): Point {
  return point(label, new Recorder());
}
