import { randomUUID } from "node:crypto";
import type { FastifyRequest } from "fastify";
import type { FeedItem, Post } from "../gen/flock/posts/v1/posts.js";
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

export interface Profile {
  username: string;
  followers: number;
  following: number;
  posts: number;
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
    createPost: async (token: string, text: string, idempotencyKey = "") =>
      apiPost(
        await backend.call(
          backend.posts,
          backend.posts.createPost,
          { text, idempotencyKey, requestId: randomUUID(), inReplyTo: "" },
          as(token),
        ),
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

    userPosts: async (username: string, limit: number, cursor: string): Promise<PostPage> =>
      postPage(
        await backend.call(backend.posts, backend.posts.listUserPosts, { username, limit, cursor }, anon),
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
      return {
        username: account.username,
        followers: counts.followers,
        following: counts.following,
        posts: posts.count,
      };
    },

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

function postPage(page: { items: FeedItem[]; nextCursor: string }): PostPage {
  return { posts: page.items.map(apiFeedPost), nextCursor: nextCursor(page.nextCursor) };
}

function userPage(page: { usernames: string[]; nextCursor: string }): UserPage {
  return { usernames: page.usernames, nextCursor: nextCursor(page.nextCursor) };
}
