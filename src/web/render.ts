import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Eta } from "eta";
import type { FastifyReply } from "fastify";
import { POST_MAX_CODE_POINTS } from "../shared/validation.js";

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
};

export interface PageData {
  title: string;
  viewer?: string;
  error?: string;
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
  /** Set when the segment is an @mention: the username it links to. */
  mention?: string;
}

const MENTION = /(^|[^A-Za-z0-9_@])@([A-Za-z0-9_]{3,32})(?![A-Za-z0-9_])/g;

/** Splits post text into plain runs and @mentions; the template escapes every run. */
export function segments(text: string): TextSegment[] {
  const out: TextSegment[] = [];
  let last = 0;
  for (const match of text.matchAll(MENTION)) {
    const start = match.index + match[1]!.length;
    if (start > last) out.push({ text: text.slice(last, start) });
    out.push({ text: `@${match[2]!}`, mention: match[2]!.toLowerCase() });
    last = start + 1 + match[2]!.length;
  }
  if (last < text.length) out.push({ text: text.slice(last) });
  return out;
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
const helpers = { ago: timeAgo, fullTime, avatarHue, segments, asset: assetUrl, charactersLeft };
export type Helpers = typeof helpers;

/** Renders a page with a fresh CSRF token for its forms. */
export function renderPage(reply: FastifyReply, template: string, data: PageData): FastifyReply {
  const notice = noticeFor((reply.request.query as Record<string, unknown> | undefined)?.notice);
  const html = eta.render(template, {
    notice,
    ...data,
    csrf: reply.generateCsrf(),
    h: helpers,
    limit: POST_MAX_CODE_POINTS,
  });
  return reply.type("text/html; charset=utf-8").send(html);
}
