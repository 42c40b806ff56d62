import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Eta } from "eta";
import type { FastifyReply } from "fastify";
import { BIO_MAX, DISPLAY_NAME_MAX, POST_MAX_CODE_POINTS } from "../shared/validation.js";

const here = dirname(fileURLToPath(import.meta.url));
const views = join(here, "views");
const staticDir = join(here, "static");
/** Templates escape every `<%= %>` value; only trusted HTML goes through `<%~ %>`. */
const eta = new Eta({ views, autoEscape: true, cache: true });

/** Success messages a redirect may ask for, by code (`?notice=posted`): no user text travels in URLs. */
const NOTICES: Record<string, string> = {
  welcome: "Welcome to Flock! Follow a few people to fill your feed.",
  posted: "Posted.",
  followed: "Followed.",
  unfollowed: "Unfollowed.",
  loggedout: "You are logged out.",
  replied: "Reply posted.",
  deleted: "Post deleted.",
  saved: "Profile saved.",
  blocked: "Blocked. They can no longer follow you, reply to you or see your posts.",
  unblocked: "Unblocked.",
  muted: "Muted. Their posts and notifications are hidden from you.",
  unmuted: "Unmuted.",
};

export interface PageData {
  title: string;
  viewer?: string;
  /** The viewer's unread notifications, for the badge in the header. */
  unread?: number;
  error?: string;
  /** Where the page's forms send the browser back to (default: this page). */
  back?: string;
  [key: string]: unknown;
}

export function noticeFor(code: unknown): string | undefined {
  return typeof code === "string" && Object.hasOwn(NOTICES, code) ? NOTICES[code] : undefined;
}

/**
 * Static asset URLs carry a hash of the file's content (`/static/app.css?v=1a2b3c4d5e`), so
 * a browser may cache them for a long time and still gets a new file after a deploy.
 */
const assetVersions = new Map<string, string>();
export function assetUrl(name: string): string {
  let version = assetVersions.get(name);
  if (version === undefined) {
    try {
      version = createHash("sha256")
        .update(readFileSync(join(staticDir, name)))
        .digest("hex")
        .slice(0, 10);
    } catch {
      version = "";
    }
    assetVersions.set(name, version);
  }
  return version === "" ? `/static/${name}` : `/static/${name}?v=${version}`;
}

/** One of eight avatar colours, the same for a name on every page and every replica. */
export function avatarHue(username: string): number {
  let hash = 0;
  for (const ch of username) hash = (hash * 31 + ch.codePointAt(0)!) >>> 0;
  return hash % 8;
}

export interface TextSegment {
  text: string;
  /** Set when the segment is an @mention of an account: the username it links to. */
  mention?: string;
  /** Set when the segment is a #hashtag: the tag it links to (case-folded). */
  tag?: string;
}

/**
 * `@name` and `#tag` as the backend finds them (services/posts/text.ts): not inside a word,
 * an e-mail address or an HTML entity.
 */
const LINKS =
  /(?<![\p{L}\p{N}_@])@([A-Za-z0-9_]{3,32})(?![A-Za-z0-9_])|(?<![\p{L}\p{N}_&#])#([\p{L}\p{N}_]{1,64})(?![\p{L}\p{N}_])/gu;

/** A hashtag as stored and looked up: NFKC, lower case. */
export function normalizeTag(tag: string): string {
  return tag.normalize("NFKC").toLowerCase();
}

/**
 * Splits post text into plain runs, @mentions and #hashtags; the template escapes every run.
 * With `mentions` (the accounts the post names, as the backend found them), only those link;
 * with `tags`, only those (a tag of digits only is never one).
 */
export function segments(
  text: string,
  mentions?: readonly string[],
  tags?: readonly string[],
): TextSegment[] {
  const out: TextSegment[] = [];
  let last = 0;
  for (const match of text.matchAll(LINKS)) {
    const [whole, name, rawTag] = match;
    let segment: TextSegment | undefined;
    if (name !== undefined) {
      const mention = name.toLowerCase();
      if (!mentions || mentions.includes(mention)) segment = { text: whole, mention };
    } else if (rawTag !== undefined) {
      const tag = normalizeTag(rawTag);
      if (!/^[0-9]+$/.test(tag) && (!tags || tags.includes(tag))) segment = { text: whole, tag };
    }
    if (!segment) continue;
    if (match.index > last) out.push({ text: text.slice(last, match.index) });
    out.push(segment);
    last = match.index + whole.length;
  }
  if (last < text.length) out.push({ text: text.slice(last) });
  return out;
}

/** A short plain excerpt of a post for a notification line. */
export function excerpt(text: string, max = 140): string {
  const points = [...text];
  return points.length <= max ? text : `${points.slice(0, max - 1).join("")}…`;
}

/**
 * A feed entry's key for element ids: the post, or the repost of it by someone (a page may
 * hold both, and ids must not repeat).
 */
export function entryKey(post: { id: string; repostedBy?: string | null }): string {
  return post.repostedBy ? `${post.id}-r-${post.repostedBy}` : post.id;
}

/**
 * Where a form's `back` field may send the browser: a path on this site (not `//host` or
 * `/\host`), printable ASCII only, without its fragment; anything else is home.
 */
export function safeBack(raw: unknown): string {
  if (
    typeof raw !== "string" ||
    raw.length > 512 ||
    !/^\/(?![/\\])[\x21-\x7e]*$/.test(raw) ||
    raw.includes("\\")
  )
    return "/";
  return raw.split("#")[0]!;
}

/** `path` with `?notice=code` added (replacing any notice already there) and an optional fragment. */
export function withNotice(path: string, notice: string | undefined, fragment = ""): string {
  const [pathname, query = ""] = path.split("?");
  const params = new URLSearchParams(query);
  params.delete("notice");
  if (notice) params.set("notice", notice);
  const search = params.toString();
  return `${pathname}${search ? `?${search}` : ""}${fragment ? `#${fragment}` : ""}`;
}

/** Characters left in the compose box for a draft, counted like the server counts them. */
export function charactersLeft(draft: string): number {
  return POST_MAX_CODE_POINTS - [...draft.normalize("NFC").trim()].length;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "now", "42s", "3m", "2h", "5d", then "Mar 4" (this year) or "Mar 4, 2023". app.js keeps it fresh. */
export function timeAgo(iso: string, nowMs = Date.now()): string {
  const at = Date.parse(iso);
  const seconds = Math.max(0, Math.round((nowMs - at) / 1000));
  if (seconds < 5) return "now";
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  if (seconds < 7 * 86400) return `${Math.floor(seconds / 86400)}d`;
  const date = new Date(at);
  const day = `${MONTHS[date.getUTCMonth()]} ${date.getUTCDate()}`;
  return date.getUTCFullYear() === new Date(nowMs).getUTCFullYear()
    ? day
    : `${day}, ${date.getUTCFullYear()}`;
}

/** "2024-03-04 15:06 UTC": the full time, for the tooltip of a relative time. */
export function fullTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** Helpers every template gets as `it.h`; includes pass `h: it.h` along. */
const helpers = {
  ago: timeAgo,
  fullTime,
  avatarHue,
  segments,
  asset: assetUrl,
  charactersLeft,
  excerpt,
  entryKey,
  bioLimit: BIO_MAX,
  nameLimit: DISPLAY_NAME_MAX,
};
export type Helpers = typeof helpers;

/** Renders a page with a fresh CSRF token for its forms. */
export function renderPage(reply: FastifyReply, template: string, data: PageData): FastifyReply {
  const notice = noticeFor((reply.request.query as Record<string, unknown> | undefined)?.notice);
  const here = reply.request.method === "GET" ? withNotice(safeBack(reply.request.url), undefined) : "/";
  const html = eta.render(template, {
    notice,
    back: here,
    ...data,
    csrf: reply.generateCsrf(),
    h: helpers,
    limit: POST_MAX_CODE_POINTS,
  });
  return reply.type("text/html; charset=utf-8").send(html);
}
