import type { Relationship as FlockRelationship } from "../../gen/flock/graph/v1/graph.js";
import type { App } from "../../gen/flock/accounts/v1/accounts.js";
import {
  NotificationType,
  type FeedItem,
  type Notification as FlockNotification,
  type Post,
  type Profile,
} from "../../gen/flock/posts/v1/posts.js";
import { BIO_MAX, DISPLAY_NAME_MAX, POST_MAX_CODE_POINTS } from "../../shared/validation.js";
import { contentHtml, escapeHtml, type ContentLinks } from "./content.js";

/**
 * The Mastodon entities Flock answers (docs: entities/*.md), each built from Flock's wire
 * messages in one place. Fields Flock has no data for carry their documented empty values
 * (false, [], null, ""), never made-up data. Ids are strings; times are ISO 8601 with
 * milliseconds (what `toISOString()` gives, the form picky clients parse).
 */

/** What entities need to know about the server and the reader. */
export interface Presenter {
  origin: string;
  /** Accounts by username (GetProfiles), for authors, mentions and parents. */
  profiles: Map<string, Profile>;
  /** The reader ("" when anonymous or an app): the viewer-only fields appear only for a user. */
  viewer: string;
}

export const AVATAR_PATH = "/avatars/original/missing.png";
export const HEADER_PATH = "/headers/original/missing.png";

export function links(origin: string): ContentLinks {
  return {
    account: (username) => `${origin}/u/${username}`,
    tag: (name) => `${origin}/tags/${encodeURIComponent(name)}`,
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

export interface MastodonAccount {
  id: string;
  username: string;
  acct: string;
  url: string;
  uri: string;
  display_name: string;
  note: string;
  avatar: string;
  avatar_static: string;
  header: string;
  header_static: string;
  locked: boolean;
  fields: never[];
  emojis: never[];
  bot: boolean;
  group: boolean;
  discoverable: boolean | null;
  noindex: boolean;
  created_at: string;
  last_status_at: string | null;
  statuses_count: number;
  followers_count: number;
  following_count: number;
  roles: never[];
}

export function account(profile: Profile, origin: string): MastodonAccount {
  const url = links(origin).account(profile.username);
  const created = new Date(profile.createdAtMs);
  created.setUTCHours(0, 0, 0, 0);
  return {
    id: profile.id,
    username: profile.username,
    // Local accounts are named without a domain (clients show `user@domain` wrongly otherwise).
    acct: profile.username,
    url,
    uri: url,
    display_name: profile.displayName,
    note: profile.bio === "" ? "" : contentHtml(profile.bio, [], [], links(origin)),
    avatar: origin + AVATAR_PATH,
    avatar_static: origin + AVATAR_PATH,
    header: origin + HEADER_PATH,
    header_static: origin + HEADER_PATH,
    locked: false,
    fields: [],
    emojis: [],
    bot: false,
    group: false,
    discoverable: null,
    noindex: false,
    // Mastodon gives the day an account was made, at midnight.
    created_at: created.toISOString(),
    last_status_at: profile.lastPostAtMs > 0 ? iso(profile.lastPostAtMs).slice(0, 10) : null,
    statuses_count: profile.posts,
    followers_count: profile.followers,
    following_count: profile.following,
    roles: [],
  };
}

/** The account as its owner sees it (verify_credentials, update_credentials). */
export function credentialAccount(profile: Profile, origin: string) {
  return {
    ...account(profile, origin),
    source: {
      privacy: "public",
      sensitive: false,
      language: "",
      note: profile.bio,
      fields: [],
      follow_requests_count: 0,
      hide_collections: null,
      discoverable: null,
      indexable: false,
    },
    role: { id: "-99", name: "", permissions: "0", color: "", highlighted: false },
  };
}

/** Stands in for an account the backend no longer knows (never expected: accounts are not deleted). */
function unknownProfile(username: string): Profile {
  return {
    username,
    id: "0",
    createdAtMs: 0,
    displayName: "",
    bio: "",
    followers: 0,
    following: 0,
    posts: 0,
    lastPostAtMs: 0,
  };
}

export function accountOf(p: Presenter, username: string): MastodonAccount {
  return account(p.profiles.get(username) ?? unknownProfile(username), p.origin);
}

export interface MastodonStatus {
  id: string;
  uri: string;
  url: string | null;
  created_at: string;
  edited_at: null;
  account: MastodonAccount;
  content: string;
  visibility: "public";
  sensitive: boolean;
  spoiler_text: string;
  media_attachments: never[];
  mentions: { id: string; username: string; url: string; acct: string }[];
  tags: { name: string; url: string }[];
  emojis: never[];
  reblogs_count: number;
  favourites_count: number;
  replies_count: number;
  in_reply_to_id: string | null;
  in_reply_to_account_id: string | null;
  reblog: MastodonStatus | null;
  poll: null;
  card: null;
  language: null;
  text?: string;
  favourited?: boolean;
  reblogged?: boolean;
  muted?: boolean;
  bookmarked?: boolean;
  pinned?: boolean;
  filtered?: never[];
}

/** A post as a Status. */
export function status(p: Presenter, post: Post): MastodonStatus {
  const l = links(p.origin);
  const url = `${p.origin}/posts/${post.id}`;
  const parent = post.inReplyToAuthor !== "" ? p.profiles.get(post.inReplyToAuthor) : undefined;
  return {
    id: post.id,
    uri: url,
    url,
    created_at: iso(post.createdAtMs),
    edited_at: null,
    account: accountOf(p, post.author),
    content: contentHtml(post.text, post.mentions, post.tags, l),
    visibility: "public",
    sensitive: false,
    spoiler_text: "",
    media_attachments: [],
    mentions: post.mentions.map((name) => ({
      id: p.profiles.get(name)?.id ?? "0",
      username: name,
      url: l.account(name),
      acct: name,
    })),
    tags: post.tags.map((name) => ({ name, url: l.tag(name) })),
    emojis: [],
    reblogs_count: post.reposts,
    favourites_count: post.likes,
    replies_count: post.replies,
    in_reply_to_id: post.inReplyTo === "" ? null : post.inReplyTo,
    in_reply_to_account_id: parent ? parent.id : null,
    reblog: null,
    poll: null,
    card: null,
    language: null,
    ...viewerFields(p, post),
  };
}

/** The fields only a user's request carries (what they did to the post). */
function viewerFields(p: Presenter, post: Post) {
  if (p.viewer === "") return {};
  return {
    favourited: post.liked,
    reblogged: post.reposted,
    muted: false,
    bookmarked: false,
    pinned: post.author === p.viewer ? false : undefined,
    filtered: [],
  };
}

/**
 * A feed entry as a Status: the post itself, or a reblog wrapper (its own id, the reposter's
 * account, the original in `reblog`, and the flags of the original, as Mastodon does).
 */
export function feedStatus(p: Presenter, item: FeedItem): MastodonStatus {
  const original = status(p, item.post!);
  if (item.repostedBy === "") return original;
  const url = `${p.origin}/posts/${item.post!.id}`;
  return {
    id: item.entryId,
    uri: `${url}#reblog-${item.entryId}`,
    url,
    created_at: iso(item.repostedAtMs),
    edited_at: null,
    account: accountOf(p, item.repostedBy),
    content: "",
    visibility: "public",
    sensitive: false,
    spoiler_text: "",
    media_attachments: [],
    mentions: [],
    tags: [],
    emojis: [],
    reblogs_count: 0,
    favourites_count: 0,
    replies_count: 0,
    in_reply_to_id: null,
    in_reply_to_account_id: null,
    reblog: original,
    poll: null,
    card: null,
    language: null,
    ...viewerFields(p, item.post!),
    ...(p.viewer === "" ? {} : { pinned: undefined }),
  };
}

const NOTIFICATION_TYPES: Partial<Record<NotificationType, string>> = {
  [NotificationType.NOTIFICATION_TYPE_FOLLOW]: "follow",
  [NotificationType.NOTIFICATION_TYPE_LIKE]: "favourite",
  [NotificationType.NOTIFICATION_TYPE_REPOST]: "reblog",
  // A reply @-mentions its parent's author on Mastodon: clients show replies as mentions.
  [NotificationType.NOTIFICATION_TYPE_REPLY]: "mention",
  [NotificationType.NOTIFICATION_TYPE_MENTION]: "mention",
};

/** Mastodon's notification types and the Flock types each stands for. */
export const FLOCK_TYPES_OF: Record<string, NotificationType[]> = {
  follow: [NotificationType.NOTIFICATION_TYPE_FOLLOW],
  favourite: [NotificationType.NOTIFICATION_TYPE_LIKE],
  reblog: [NotificationType.NOTIFICATION_TYPE_REPOST],
  mention: [NotificationType.NOTIFICATION_TYPE_REPLY, NotificationType.NOTIFICATION_TYPE_MENTION],
};

export function notification(p: Presenter, n: FlockNotification) {
  return {
    id: n.id,
    type: NOTIFICATION_TYPES[n.type] ?? "mention",
    created_at: iso(n.createdAtMs),
    account: accountOf(p, n.from),
    ...(n.post ? { status: status(p, n.post) } : {}),
  };
}

export function relationship(rel: FlockRelationship, id: string) {
  return {
    id,
    following: rel.following,
    showing_reblogs: rel.following,
    notifying: false,
    languages: null,
    followed_by: rel.followedBy,
    blocking: rel.blocking,
    blocked_by: rel.blockedBy,
    muting: rel.muting,
    muting_notifications: rel.muting,
    requested: false,
    requested_by: false,
    domain_blocking: false,
    endorsed: false,
    note: "",
  };
}

/** An app as Mastodon's Application (and, on registration, CredentialApplication). */
export function application(app: App) {
  return {
    id: app.id,
    name: app.name,
    website: app.website === "" ? null : app.website,
    scopes: app.scopes,
    redirect_uri: app.redirectUris.join("\n"),
    redirect_uris: app.redirectUris,
  };
}

export function tag(origin: string, name: string) {
  return { name, url: links(origin).tag(name), history: [], following: false };
}

/** The limits clients read from the instance (Flock's input rules). */
export const STATUS_LIMITS = {
  max_characters: POST_MAX_CODE_POINTS,
  max_media_attachments: 0,
  characters_reserved_per_url: 23,
};

export const ACCOUNT_LIMITS = {
  max_featured_tags: 0,
  max_pinned_statuses: 0,
  max_display_name_length: DISPLAY_NAME_MAX,
  max_note_length: BIO_MAX,
  max_profile_fields: 0,
  profile_field_name_limit: 0,
  profile_field_value_limit: 0,
};

export { escapeHtml };
