import { decodeCursor, encodeCursor } from "../../shared/cursor.js";
import { invalid, notFound, permissionDenied, unauthenticated } from "../../shared/errors.js";
import {
  isValidUsername,
  normalizeLimit,
  normalizeUsername,
  PAGE_LIMIT_MAX,
} from "../../shared/validation.js";
import { systemClock, type Clock } from "../../shared/clock.js";
import type { Freshness } from "../../storage/watch-cache.js";
import type { AccountsView } from "../accounts/view.js";
import type { Authenticator } from "../shared/auth.js";
import type { GraphFacts, GraphOutcome } from "./facts.js";
import type { GraphView } from "./view.js";

export interface UserPage {
  usernames: string[];
  nextCursor: string;
}

/** How the viewer and another account stand. */
export interface Relationship {
  username: string;
  following: boolean;
  followedBy: boolean;
  blocking: boolean;
  blockedBy: boolean;
  muting: boolean;
}

/** Names asked about at once, at most (Mastodon's relationships call takes a list). */
const MAX_RELATIONSHIPS = 100;

/**
 * Who follows whom. Changes act for the user behind the session token and are one fact
 * each; reads come from this backend's view of the graph, made fresh first.
 */
export class GraphService {
  constructor(
    private readonly facts: GraphFacts,
    private readonly view: GraphView,
    private readonly accounts: AccountsView,
    private readonly freshness: Freshness,
    private readonly auth: Authenticator,
    private readonly clock: Clock = systemClock,
  ) {}

  async follow(token: string, rawTarget: unknown): Promise<void> {
    const viewer = await this.auth.authenticateForWrite(token, "write:follows");
    const target = normalizeUsername(rawTarget);
    if (target === viewer.username) throw invalid("you cannot follow yourself");
    const account = await this.existing(target);
    await this.settle(await this.facts.follow(viewer, target, account.revision, this.clock.now()), target);
  }

  async block(token: string, rawTarget: unknown): Promise<void> {
    const viewer = await this.auth.authenticateForWrite(token, "write:blocks");
    const target = normalizeUsername(rawTarget);
    if (target === viewer.username) throw invalid("you cannot block yourself");
    const account = await this.existing(target);
    await this.settle(await this.facts.block(viewer, target, account.revision), target);
  }

  async unblock(token: string, rawTarget: unknown): Promise<void> {
    const viewer = await this.auth.authenticateForWrite(token, "write:blocks");
    const target = normalizeUsername(rawTarget);
    if (target === viewer.username) throw invalid("you cannot unblock yourself");
    await this.settle(await this.facts.unblock(viewer, target), target);
  }

  async mute(token: string, rawTarget: unknown): Promise<void> {
    const viewer = await this.auth.authenticateForWrite(token, "write:mutes");
    const target = normalizeUsername(rawTarget);
    if (target === viewer.username) throw invalid("you cannot mute yourself");
    const account = await this.existing(target);
    await this.settle(await this.facts.mute(viewer, target, account.revision), target);
  }

  async unmute(token: string, rawTarget: unknown): Promise<void> {
    const viewer = await this.auth.authenticateForWrite(token, "write:mutes");
    const target = normalizeUsername(rawTarget);
    if (target === viewer.username) throw invalid("you cannot unmute yourself");
    await this.settle(await this.facts.unmute(viewer, target), target);
  }

  /** The caller's relationship to each named user that exists (others are left out). */
  async relationships(token: string, rawNames: readonly unknown[]): Promise<Relationship[]> {
    if (rawNames.length > MAX_RELATIONSHIPS)
      throw invalid(`ask about at most ${MAX_RELATIONSHIPS} users at once`);
    const names = rawNames.map((raw) => normalizeUsername(raw));
    const me = (await this.auth.authenticate(token, "read:follows")).username;
    return names
      .filter((name) => this.accounts.account(name) !== undefined)
      .map((name) => ({
        username: name,
        following: this.view.isFollowing(me, name),
        followedBy: this.view.isFollowing(name, me),
        blocking: this.view.isBlocking(me, name),
        blockedBy: this.view.isBlocking(name, me),
        muting: this.view.isMuting(me, name),
      }));
  }

  /** Whom the caller blocks, or mutes, in name order. */
  async listBlocks(token: string, limit: number | undefined, cursor: string | undefined): Promise<UserPage> {
    const me = (await this.auth.authenticate(token, "read:blocks")).username;
    return this.pageOf(me, limit, cursor, (user, after, n) => this.view.blocksPage(user, after, n));
  }

  async listMutes(token: string, limit: number | undefined, cursor: string | undefined): Promise<UserPage> {
    const me = (await this.auth.authenticate(token, "read:mutes")).username;
    return this.pageOf(me, limit, cursor, (user, after, n) => this.view.mutesPage(user, after, n));
  }

  async unfollow(token: string, rawTarget: unknown): Promise<void> {
    const viewer = await this.auth.authenticateForWrite(token, "write:follows");
    const target = normalizeUsername(rawTarget);
    if (target === viewer.username) throw invalid("you cannot unfollow yourself");
    if (!this.view.isFollowing(viewer.username, target)) {
      // Perhaps a follow this view has not seen yet; if there is none, there is nothing to
      // write (and the session is checked as of now, as a write would have).
      await this.auth.authenticate(token, "write:follows");
      if (!this.view.isFollowing(viewer.username, target)) return;
    }
    await this.settle(await this.facts.unfollow(viewer, target), target);
  }

  async isFollowing(follower: string, followee: string): Promise<boolean> {
    if (!isValidUsername(follower) || !isValidUsername(followee)) return false;
    await this.freshness.fresh();
    return this.view.isFollowing(follower.toLowerCase(), followee.toLowerCase());
  }

  async counts(rawUser: unknown): Promise<{ followers: number; following: number }> {
    const user = normalizeUsername(rawUser);
    await this.freshness.fresh();
    return { followers: this.view.countFollowers(user), following: this.view.countFollowing(user) };
  }

  listFollowing(rawUser: unknown, limit: number | undefined, cursor: string | undefined): Promise<UserPage> {
    return this.page(rawUser, limit, cursor, (user, after, n) => this.view.followingPage(user, after, n));
  }

  listFollowers(rawUser: unknown, limit: number | undefined, cursor: string | undefined): Promise<UserPage> {
    return this.page(rawUser, limit, cursor, (user, after, n) => this.view.followersPage(user, after, n));
  }

  /** The account, from the view, or after a fresh look (it may be new); NOT_FOUND when there is none. */
  private async existing(username: string) {
    let account = this.accounts.account(username);
    if (!account) {
      await this.freshness.fresh();
      account = this.accounts.account(username);
      if (!account) throw notFound(`no user "${username}"`);
    }
    return account;
  }

  private async settle(outcome: GraphOutcome, target: string): Promise<void> {
    if (outcome.kind === "session-gone") throw unauthenticated("session expired or revoked");
    if (outcome.kind === "no-such-user") throw notFound(`no user "${target}"`);
    if (outcome.kind === "blocked") throw permissionDenied("you cannot follow this account");
    await this.freshness.reached(outcome.revision);
  }

  private async page(
    rawUser: unknown,
    rawLimit: number | undefined,
    cursor: string | undefined,
    read: (user: string, after: string | undefined, limit: number) => string[],
  ): Promise<UserPage> {
    const user = normalizeUsername(rawUser);
    await this.freshness.fresh();
    return this.pageOf(user, rawLimit, cursor, read);
  }

  /** A page of names from the view (made fresh by the caller). */
  private pageOf(
    user: string,
    rawLimit: number | undefined,
    cursor: string | undefined,
    read: (user: string, after: string | undefined, limit: number) => string[],
  ): UserPage {
    const limit = normalizeLimit(rawLimit);
    const after = decodeCursor(cursor, isValidUsername);
    const names = read(user, after, Math.min(limit + 1, PAGE_LIMIT_MAX + 1));
    const usernames = names.slice(0, limit);
    const nextCursor = names.length > limit ? encodeCursor(usernames[usernames.length - 1]!) : "";
    return { usernames, nextCursor };
  }
}
