import { setTimeout as sleep } from "node:timers/promises";
import { RecordedClient } from "./client.js";
import { outcomeOf, type Reply } from "./http.js";
import type { Recorder } from "./recorder.js";
import type { Rng } from "./rng.js";

export interface WorkloadOptions {
  baseUrl: string;
  recorder: Recorder;
  rng: Rng;
  concurrency: number;
  /** Aborted when the workload must end; each virtual user finishes its current request. */
  signal: AbortSignal;
}

/**
 * Relative weights of what a virtual user does next: the conversation features (likes,
 * reposts, replies, deletes, blocks) get modest ones, so posts, follows and reads keep their volume.
 */
const MIX: [Action, number][] = [
  ["post", 34],
  ["badPost", 2],
  ["follow", 18],
  ["unfollow", 10],
  ["feed", 14],
  ["login", 6],
  ["logout", 4],
  ["signup", 7],
  ["like", 5],
  ["unlike", 2],
  ["repost", 2],
  ["unrepost", 1],
  ["reply", 4],
  ["delete", 2],
  ["block", 1],
  ["unblock", 1],
];
type Action =
  | "post"
  | "badPost"
  | "follow"
  | "unfollow"
  | "feed"
  | "login"
  | "logout"
  | "signup"
  | "like"
  | "unlike"
  | "repost"
  | "unrepost"
  | "reply"
  | "delete"
  | "block"
  | "unblock";
const TOTAL_WEIGHT = MIX.reduce((sum, [, w]) => sum + w, 0);
/** Extra sessions a user keeps open at most (the accounts service allows 50 per account). */
const MAX_EXTRA_SESSIONS = 15;
const TEXTS = [
  "hello from the chaos run",
  "ünïcödé ✓ survives",
  "🐦 tweet tweet",
  "plain words, nothing more",
];

/**
 * A closed-loop workload: `concurrency` virtual users, each signs up and logs in as its own
 * account, then issues one request at a time (posts with and without an Idempotency-Key,
 * follows, unfollows, feed reads, extra logins and logouts, signups, some racing for the
 * same name) until the signal ends it. Every request goes through the RecordedClient.
 */
export class Workload {
  /** Accounts whose signup was acknowledged (or whose login worked): follow targets. */
  readonly accounts: string[] = [];
  readonly authors: string[] = [];
  /** Posts and replies acknowledged (and not deleted by this run, as far as it knows): targets. */
  readonly posts: { id: string; author: string }[] = [];
  /** Each virtual user's account once it is set up, by index: the stream readers log in as these. */
  readonly credentials = new Map<number, { user: string; password: string }>();

  constructor(private readonly options: WorkloadOptions) {}

  async run(): Promise<void> {
    const users = Array.from(
      { length: this.options.concurrency },
      (_, i) => new VirtualUser(i, this, this.options, this.options.rng.fork()),
    );
    await Promise.all(users.map((u) => u.run()));
  }
}

class VirtualUser {
  private readonly client: RecordedClient;
  private name: string;
  private readonly password: string;
  private token = "";
  private readonly extraTokens: string[] = [];
  private readonly follows = new Set<string>();
  /** This user's own acknowledged posts and replies not deleted yet (delete targets). */
  private readonly mine: string[] = [];
  private readonly liked = new Set<string>();
  private readonly reposted = new Set<string>();
  private readonly blocked = new Set<string>();
  private n = 0;

  constructor(
    private readonly index: number,
    private readonly world: Workload,
    private readonly options: WorkloadOptions,
    private readonly rng: Rng,
  ) {
    this.client = new RecordedClient(options.baseUrl, options.recorder, index);
    this.name = `vu_${index}`;
    this.password = `pw-${index}-${rng.int(100000, 999999)}`;
  }

  async run(): Promise<void> {
    if (!(await this.setUp())) return;
    while (!this.options.signal.aborted) {
      const reply = await this.step();
      // Back off after an unknown outcome so an outage is not met by a flood.
      const unknown = reply !== undefined && outcomeOf(reply.status) === "unknown";
      await this.pause(unknown ? this.rng.int(150, 400) : this.rng.int(5, 40));
    }
  }

  /** Signs up (or recognises the account from an earlier attempt) and logs in. */
  private async setUp(): Promise<boolean> {
    for (let attempt = 1; !this.options.signal.aborted; attempt++) {
      const signup = await this.client.signup(this.name, this.password);
      const login = await this.client.login(this.name, this.password);
      if (login.status === 201) {
        this.token = tokenOf(login);
        this.world.accounts.push(this.name);
        this.world.authors.push(this.name);
        this.world.credentials.set(this.index, { user: this.name, password: this.password });
        return true;
      }
      // A refused signup whose login fails too: the name is someone else's; pick another.
      if (signup.status === 409 && login.status === 401) this.name = `vu_${this.index}_${attempt}`;
      await this.pause(this.rng.int(300, 800));
    }
    return false;
  }

  private async step(): Promise<Reply | undefined> {
    let roll = this.rng.next() * TOTAL_WEIGHT;
    let action: Action = "post";
    for (const [a, w] of MIX) {
      if ((roll -= w) < 0) {
        action = a;
        break;
      }
    }
    const reply = await this.act(action);
    if (reply?.status === 401 && action !== "logout" && action !== "login") await this.relogin();
    return reply;
  }

  private async act(action: Action): Promise<Reply | undefined> {
    const n = ++this.n;
    switch (action) {
      case "post": {
        const text = `${this.name} #${n} ${this.rng.pick(TEXTS)}`;
        const key = this.rng.chance(0.5) ? `k-${this.name}-${n}` : undefined;
        let reply = await this.client.post(this.name, this.token, text, key);
        // With a key, an unknown outcome may be retried safely: the same key stores it once.
        for (let retry = 0; key && retry < 2 && outcomeOf(reply.status) === "unknown"; retry++) {
          if (!(await this.pause(this.rng.int(200, 600)))) break;
          reply = await this.client.post(this.name, this.token, text, key);
        }
        this.written(reply);
        return reply;
      }
      case "reply": {
        const parent = this.somePost();
        if (!parent) return undefined;
        const text = `${this.name} #${n} re ${parent.id}: ${this.rng.pick(TEXTS)}`;
        const reply = await this.client.reply(this.name, this.token, text, parent.id, parent.author);
        this.written(reply);
        return reply;
      }
      case "like":
      case "repost": {
        const target = this.somePost();
        if (!target) return undefined;
        const reply = await this.client.postAction(action, this.name, this.token, target.id);
        if (reply.status === 204) (action === "like" ? this.liked : this.reposted).add(target.id);
        return reply;
      }
      case "unlike":
      case "unrepost": {
        const set = action === "unlike" ? this.liked : this.reposted;
        const target = set.size > 0 && this.rng.chance(0.9) ? this.rng.pick([...set]) : this.somePost()?.id;
        if (!target) return undefined;
        const reply = await this.client.postAction(action, this.name, this.token, target);
        if (reply.status === 204) set.delete(target);
        return reply;
      }
      case "delete": {
        if (this.mine.length === 0) return undefined;
        const target = this.mine.splice(this.rng.int(0, this.mine.length - 1), 1)[0]!;
        const reply = await this.client.postAction("delete", this.name, this.token, target);
        if (reply.status === 204) {
          const at = this.world.posts.findIndex((p) => p.id === target);
          if (at >= 0) this.world.posts.splice(at, 1);
        } else if (outcomeOf(reply.status) === "unknown") this.mine.push(target);
        return reply;
      }
      case "block": {
        const target = this.rng.pick(this.world.authors);
        if (target === this.name) return undefined;
        const reply = await this.client.block(this.name, this.token, target);
        if (reply.status === 204) {
          this.blocked.add(target);
          this.follows.delete(target);
        }
        return reply;
      }
      case "unblock": {
        const mine = [...this.blocked];
        const target =
          mine.length > 0 && this.rng.chance(0.9) ? this.rng.pick(mine) : this.rng.pick(this.world.authors);
        if (target === this.name) return undefined;
        const reply = await this.client.block(this.name, this.token, target, true);
        if (reply.status === 204) this.blocked.delete(target);
        return reply;
      }
      case "badPost":
        return this.client.post(this.name, this.token, `${this.name} #${n} too long ${"x".repeat(290)}`);
      case "follow": {
        const pool = this.rng.chance(0.75) ? this.world.authors : this.world.accounts;
        const target = this.rng.pick(pool);
        if (target === this.name) return undefined;
        const reply = await this.client.follow(this.name, this.token, target);
        if (reply.status === 204) this.follows.add(target);
        return reply;
      }
      case "unfollow": {
        const mine = [...this.follows];
        const target =
          mine.length > 0 && this.rng.chance(0.9) ? this.rng.pick(mine) : this.rng.pick(this.world.authors);
        if (target === this.name) return undefined;
        const reply = await this.client.unfollow(this.name, this.token, target);
        if (reply.status === 204) this.follows.delete(target);
        return reply;
      }
      case "feed":
        return this.client.feed(this.name, this.token);
      case "login": {
        // Stay far below the sessions an account may hold (a login beyond it ends the oldest).
        if (this.extraTokens.length >= MAX_EXTRA_SESSIONS) return this.act("logout");
        const reply = await this.client.login(this.name, this.password);
        if (reply.status === 201) this.extraTokens.push(tokenOf(reply));
        return reply;
      }
      case "logout": {
        const token = this.extraTokens.shift();
        if (!token) return undefined;
        const reply = await this.client.logout(this.name, token);
        // A read with the token just logged out must be refused (the checker looks).
        if (reply.status === 204 && this.rng.chance(0.5)) await this.client.feed(this.name, token);
        return reply;
      }
      case "signup": {
        // Half race other users for a few shared names (at most one may win); half are fresh.
        const contended = this.rng.chance(0.5);
        const name = contended ? `dup_${this.rng.int(0, this.options.concurrency)}` : `xu${this.index}_${n}`;
        const reply = await this.client.signup(name, `pw-${this.index}-${n}-${this.rng.int(1000, 9999)}`);
        if (reply.status === 201) this.world.accounts.push(name);
        return reply;
      }
    }
  }

  /** Notes an acknowledged post or reply of this user's as a target for others and for deletes. */
  private written(reply: Reply): void {
    const id = (reply.body as { id?: string } | undefined)?.id;
    if (reply.status !== 201 || !id) return;
    this.world.posts.push({ id, author: this.name });
    this.mine.push(id);
  }

  /** A post someone wrote (newer ones more often: that is where conversations happen). */
  private somePost(): { id: string; author: string } | undefined {
    const posts = this.world.posts;
    if (posts.length === 0) return undefined;
    const recent = Math.min(posts.length, 40);
    return this.rng.chance(0.7)
      ? posts[posts.length - 1 - this.rng.int(0, recent - 1)]
      : this.rng.pick(posts);
  }

  private async relogin(): Promise<void> {
    const reply = await this.client.login(this.name, this.password);
    if (reply.status === 201) this.token = tokenOf(reply);
  }

  /** Sleeps; false when the workload was ended meanwhile. */
  private async pause(ms: number): Promise<boolean> {
    try {
      await sleep(ms, undefined, { signal: this.options.signal });
      return true;
    } catch {
      return false;
    }
  }
}

function tokenOf(reply: Reply): string {
  return (reply.body as { token: string }).token;
}
