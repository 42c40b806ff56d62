import { randomUUID } from "node:crypto";
import type { FastifyRequest } from "fastify";
import type { GetAccountResponse } from "../gen/flock/accounts/v1/accounts.js";
import type { Relationship } from "../gen/flock/graph/v1/graph.js";
import {
  NotificationType,
  type FeedItem,
  type Notification,
  type Post,
} from "../gen/flock/posts/v1/posts.js";
import type { WebContext } from "./context.js";

/**
 * A post as the JSON API answers it and the pages show it: the wire's Post (the one shape
 * from storage to here) with its time as an ISO string.
 */
export interface ApiPost {
  id: string;
  author: string;
  text: string;
  createdAt: string;
  /** The author's display name (null when unset). */
  displayName: string | null;
  /** The post it answers, and that post's author (null when none, or when it is deleted). */
  inReplyTo: string | null;
  inReplyToAuthor: string | null;
  replies: number;
  likes: number;
  reposts: number;
  /** Whether the viewer liked / reposted it (false when nobody is logged in). */
  liked: boolean;
  reposted: boolean;
  mentions: string[];
  tags: string[];
}

/** A post as a feed or a profile shows it: itself, or reposted by someone. */
export interface ApiFeedPost extends ApiPost {
  /** Who reposted it into this feed (null when it is the post itself), and when. */
  repostedBy: string | null;
  repostedAt: string | null;
}

/** A page of posts, as the JSON API answers it. */
export interface PostPage {
  posts: ApiFeedPost[];
  /** null when there is nothing more (the only spelling of "no next page" in the web tier). */
  nextCursor: string | null;
}

/** A page of usernames, as the JSON API answers it. */
export interface UserPage {
  usernames: string[];
  nextCursor: string | null;
}

/** A thread's ancestor that was deleted: where it stood, and nothing else. */
export interface DeletedPost {
  id: string;
  deleted: true;
}

/** A post in its conversation: what it answers (oldest first) and a page of its direct replies. */
export interface ApiThread {
  ancestors: (ApiPost | DeletedPost)[];
  post: ApiPost;
  replies: ApiPost[];
  nextCursor: string | null;
}

export type ApiNotificationType = "follow" | "like" | "repost" | "reply" | "mention";

export interface ApiNotification {
  id: string;
  type: ApiNotificationType;
  from: string;
  createdAt: string;
  /** The post it is about; absent for a follow, and once that post is deleted. */
  post?: ApiPost;
}

export interface NotificationsPage {
  notifications: ApiNotification[];
  /** How many of the user's notifications are newer than what they have read. */
  unread: number;
  nextCursor: string | null;
}

export interface Profile {
  username: string;
  /** null when unset (the username is shown instead). */
  displayName: string | null;
  /** null when unset. */
  bio: string | null;
  followers: number;
  following: number;
  posts: number;
}

/** How the viewer and another account stand. */
export interface ApiRelationship {
  following: boolean;
  followedBy: boolean;
  blocking: boolean;
  blockedBy: boolean;
  muting: boolean;
}

export function apiPost(post: Post): ApiPost {
  return {
    id: post.id,
    author: post.author,
    text: post.text,
    createdAt: new Date(post.createdAtMs).toISOString(),
    displayName: post.authorDisplayName || null,
    inReplyTo: post.inReplyTo || null,
    inReplyToAuthor: post.inReplyToAuthor || null,
    replies: post.replies,
    likes: post.likes,
    reposts: post.reposts,
    liked: post.liked,
    reposted: post.reposted,
    mentions: post.mentions,
    tags: post.tags,
  };
}

/** A thread's ancestor: the post, or the placeholder of a deleted one. */
export function apiAncestor(post: Post): ApiPost | DeletedPost {
  return post.deleted ? { id: post.id, deleted: true } : apiPost(post);
}

const TYPE_NAMES: Partial<Record<NotificationType, ApiNotificationType>> = {
  [NotificationType.NOTIFICATION_TYPE_FOLLOW]: "follow",
  [NotificationType.NOTIFICATION_TYPE_LIKE]: "like",
  [NotificationType.NOTIFICATION_TYPE_REPOST]: "repost",
  [NotificationType.NOTIFICATION_TYPE_REPLY]: "reply",
  [NotificationType.NOTIFICATION_TYPE_MENTION]: "mention",
};

/** A notification as the JSON API answers it (undefined for a type this version does not know). */
export function apiNotification(n: Notification): ApiNotification | undefined {
  const type = TYPE_NAMES[n.type];
  if (!type) return undefined;
  const out: ApiNotification = {
    id: n.id,
    type,
    from: n.from,
    createdAt: new Date(n.createdAtMs).toISOString(),
  };
  if (n.post) out.post = apiPost(n.post);
  return out;
}

export function apiFeedPost(item: FeedItem): ApiFeedPost {
  return {
    ...apiPost(item.post!),
    repostedBy: item.repostedBy || null,
    repostedAt: item.repostedBy ? new Date(item.repostedAtMs).toISOString() : null,
  };
}

/** The wire says "no next page" with proto3's empty string; the web tier says it with null. */
function nextCursor(wire: string): string | null {
  return wire === "" ? null : wire;
}

/**
 * The web tier's one way into the backend: each call is a gRPC call with a deadline,
 * carrying the request id and, when acting for a user, their token. Pages and the JSON API
 * both compose these; neither keeps anything between requests. Calls that act for a user
 * check the token in the backend once, and those a page needs the user's name from answer it.
 */
export function backendApi(ctx: WebContext, request: FastifyRequest) {
  const { backend } = ctx;
  const requestId = request.id;
  const as = (token: string) => ({ token, requestId });
  const anon = { requestId };
  /** Reads that depend on who asks (their likes, blocks) carry the token when there is one. */
  const viewer = (token: string) => (token === "" ? anon : as(token));

  return {
    createAccount: async (username: string, password: string) =>
      (await backend.call(backend.accounts, backend.accounts.createAccount, { username, password }, anon))
        .username,

    login: (username: string, password: string) =>
      backend.call(
        backend.accounts,
        backend.accounts.login,
        { username, password, clientAddress: request.ip },
        anon,
      ),

    /** Revokes the session; whose it was, or "" when the token named no live session. */
    logout: async (token: string) =>
      (await backend.call(backend.accounts, backend.accounts.logout, {}, as(token))).username,

    /** The user behind a token; UNAUTHENTICATED when there is none. */
    whoAmI: async (token: string) =>
      (await backend.call(backend.accounts, backend.accounts.authenticate, {}, as(token))).username,

    follow: async (token: string, username: string) => {
      await backend.call(backend.graph, backend.graph.follow, { username }, as(token));
    },

    unfollow: async (token: string, username: string) => {
      await backend.call(backend.graph, backend.graph.unfollow, { username }, as(token));
    },

    isFollowing: async (follower: string, followee: string) =>
      (await backend.call(backend.graph, backend.graph.getRelationship, { follower, followee }, anon))
        .following,

    /**
     * Every request carries an id of its own: a call gRPC re-sends (after an UNAVAILABLE whose
     * outcome is unknown) then finds the post it made instead of making a second. The client's
     * Idempotency-Key, when it sent one, goes along as is.
     */
    createPost: async (token: string, text: string, idempotencyKey = "", inReplyTo = "") =>
      apiPost(
        await backend.call(
          backend.posts,
          backend.posts.createPost,
          { text, idempotencyKey, requestId: randomUUID(), inReplyTo },
          as(token),
        ),
      ),

    /** One post as `token`'s user sees it ("" for nobody): NOT_FOUND when deleted or hidden by a block. */
    post: async (token: string, id: string) =>
      apiPost(await backend.call(backend.posts, backend.posts.getPost, { id }, viewer(token))),

    thread: async (token: string, id: string, limit: number, cursor: string): Promise<ApiThread> => {
      const thread = await backend.call(
        backend.posts,
        backend.posts.getThread,
        { id, limit, cursor },
        viewer(token),
      );
      return {
        ancestors: thread.ancestors.map(apiAncestor),
        post: apiPost(thread.post!),
        replies: thread.replies.map(apiPost),
        nextCursor: nextCursor(thread.nextCursor),
      };
    },

    /** Deletes the token's user's own post; answers it as it was. */
    deletePost: async (token: string, id: string) =>
      apiPost((await backend.call(backend.posts, backend.posts.deletePost, { id }, as(token))).post!),

    /** Like, unlike, repost or unrepost (each idempotent); answers the post as it is now. */
    react: async (token: string, id: string, action: Reaction) =>
      apiPost((await backend.call(backend.posts, backend.posts[action], { id }, as(token))).post!),

    /** Who liked / reposted a post; with a token, a post hidden from its holder by a block is not found. */
    likes: async (token: string, id: string, limit: number, cursor: string): Promise<UserPage> =>
      userPage(
        await backend.call(backend.posts, backend.posts.listLikes, { id, limit, cursor }, viewer(token)),
      ),

    reposts: async (token: string, id: string, limit: number, cursor: string): Promise<UserPage> =>
      userPage(
        await backend.call(backend.posts, backend.posts.listReposts, { id, limit, cursor }, viewer(token)),
      ),

    tagPosts: async (token: string, tag: string, limit: number, cursor: string): Promise<PostPage> =>
      postPage(
        await backend.call(backend.posts, backend.posts.listTagPosts, { tag, limit, cursor }, viewer(token)),
      ),

    searchPosts: async (token: string, query: string, limit: number, cursor: string): Promise<PostPage> =>
      postPage(
        await backend.call(backend.posts, backend.posts.searchPosts, { query, limit, cursor }, viewer(token)),
      ),

    /** A page of the token's user's feed, and who that user is. */
    feed: async (
      token: string,
      limit: number,
      cursor: string,
    ): Promise<{ viewer: string; page: PostPage }> => {
      const feed = await backend.call(backend.posts, backend.posts.getFeed, { limit, cursor }, as(token));
      return { viewer: feed.viewer, page: postPage(feed) };
    },

    /** An author's posts and reposts as `token`'s user sees them ("" for nobody: no blocks apply). */
    userPosts: async (token: string, username: string, limit: number, cursor: string): Promise<PostPage> =>
      postPage(
        await backend.call(
          backend.posts,
          backend.posts.listUserPosts,
          { username, limit, cursor },
          viewer(token),
        ),
      ),

    /** Resolves when the user exists; NOT_FOUND otherwise. */
    requireUser: async (username: string) => {
      await backend.call(backend.accounts, backend.accounts.getAccount, { username }, anon);
    },

    /** NOT_FOUND when the user does not exist. */
    profile: async (username: string): Promise<Profile> => {
      const [account, counts, posts] = await Promise.all([
        backend.call(backend.accounts, backend.accounts.getAccount, { username }, anon),
        backend.call(backend.graph, backend.graph.getCounts, { username }, anon),
        backend.call(backend.posts, backend.posts.countUserPosts, { username }, anon),
      ]);
      return profileOf(account, counts, posts.count);
    },

    /**
     * Sets the token's user's display name and bio (both: the backend takes the pair) and
     * answers their profile as it is now.
     */
    updateProfile: async (token: string, displayName: string, bio: string): Promise<Profile> => {
      const account = await backend.call(
        backend.accounts,
        backend.accounts.updateProfile,
        { displayName, bio },
        as(token),
      );
      const { username } = account;
      const [counts, posts] = await Promise.all([
        backend.call(backend.graph, backend.graph.getCounts, { username }, anon),
        backend.call(backend.posts, backend.posts.countUserPosts, { username }, anon),
      ]);
      return profileOf(account, counts, posts.count);
    },

    /** The public account (display name and bio as stored, "" when unset). NOT_FOUND when none. */
    account: (username: string) =>
      backend.call(backend.accounts, backend.accounts.getAccount, { username }, anon),

    /** How the token's user stands with each named user (unknown names are left out). */
    relationships: async (token: string, usernames: string[]): Promise<Map<string, ApiRelationship>> => {
      const answer = await backend.call(
        backend.graph,
        backend.graph.getRelationships,
        { usernames },
        as(token),
      );
      return new Map(answer.relationships.map((r) => [r.username, relationshipOf(r)]));
    },

    /** Block, unblock, mute or unmute (each idempotent). */
    relate: async (token: string, username: string, action: "block" | "unblock" | "mute" | "unmute") => {
      await backend.call(backend.graph, backend.graph[action], { username }, as(token));
    },

    blocks: async (token: string, limit: number, cursor: string): Promise<UserPage> =>
      userPage(await backend.call(backend.graph, backend.graph.listBlocks, { limit, cursor }, as(token))),

    mutes: async (token: string, limit: number, cursor: string): Promise<UserPage> =>
      userPage(await backend.call(backend.graph, backend.graph.listMutes, { limit, cursor }, as(token))),

    notifications: async (token: string, limit: number, cursor: string): Promise<NotificationsPage> => {
      const page = await backend.call(
        backend.notifications,
        backend.notifications.listNotifications,
        { limit, cursor, types: [] },
        as(token),
      );
      return {
        notifications: page.notifications.map(apiNotification).filter((n) => n !== undefined),
        unread: page.unread,
        nextCursor: nextCursor(page.nextCursor),
      };
    },

    /** How many notifications the token's user has not read (0 when the token names nobody). */
    unreadCount: async (token: string): Promise<number> => {
      if (token === "") return 0;
      try {
        const page = await backend.call(
          backend.notifications,
          backend.notifications.listNotifications,
          { limit: 1, cursor: "", types: [] },
          as(token),
        );
        return page.unread;
      } catch {
        // The badge is a nicety: a page does not fail because it could not be counted.
        return 0;
      }
    },

    /** Moves the read mark up to a notification id (never down); answers how many are unread. */
    markRead: async (token: string, upTo: string) =>
      (await backend.call(backend.notifications, backend.notifications.markRead, { upTo }, as(token))).unread,

    following: async (username: string, limit: number, cursor: string): Promise<UserPage> =>
      userPage(
        await backend.call(backend.graph, backend.graph.listFollowing, { username, limit, cursor }, anon),
      ),

    followers: async (username: string, limit: number, cursor: string): Promise<UserPage> =>
      userPage(
        await backend.call(backend.graph, backend.graph.listFollowers, { username, limit, cursor }, anon),
      ),

    searchUsers: async (prefix: string, limit: number) =>
      (await backend.call(backend.accounts, backend.accounts.searchAccounts, { prefix, limit }, anon))
        .usernames,
  };
}

export type BackendApi = ReturnType<typeof backendApi>;

export type Reaction = "like" | "unlike" | "repost" | "unrepost";

function profileOf(
  account: GetAccountResponse,
  counts: { followers: number; following: number },
  posts: number,
): Profile {
  return {
    username: account.username,
    displayName: account.displayName || null,
    bio: account.bio || null,
    followers: counts.followers,
    following: counts.following,
    posts,
  };
}

function relationshipOf(r: Relationship): ApiRelationship {
  return {
    following: r.following,
    followedBy: r.followedBy,
    blocking: r.blocking,
    blockedBy: r.blockedBy,
    muting: r.muting,
  };
}

function postPage(page: { items: FeedItem[]; nextCursor: string }): PostPage {
  return { posts: page.items.map(apiFeedPost), nextCursor: nextCursor(page.nextCursor) };
}

function userPage(page: { usernames: string[]; nextCursor: string }): UserPage {
  return { usernames: page.usernames, nextCursor: nextCursor(page.nextCursor) };
}
