import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Eta } from "eta";
import type { FastifyReply } from "fastify";

const views = join(dirname(fileURLToPath(import.meta.url)), "views");
/** Templates escape every `<%= %>` value; only trusted HTML goes through `<%~ %>`. */
const eta = new Eta({ views, autoEscape: true, cache: true });

/** Success messages a redirect may ask for, by code (`?notice=posted`): no user text travels in URLs. */
const NOTICES: Record<string, string> = {
  welcome: "Welcome to Flock! Find people to follow.",
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
  return typeof code === "string" ? NOTICES[code] : undefined;
}

/** Renders a page with a fresh CSRF token for its forms. */
export function renderPage(reply: FastifyReply, template: string, data: PageData): FastifyReply {
  const notice = noticeFor((reply.request.query as Record<string, unknown> | undefined)?.notice);
  const html = eta.render(template, { notice, ...data, csrf: reply.generateCsrf(), ago: timeAgo });
  return reply.type("text/html; charset=utf-8").send(html);
}

/** "3m", "2h", "5d", or the date for older posts. */
export function timeAgo(iso: string, nowMs = Date.now()): string {
  const seconds = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  if (seconds < 7 * 86400) return `${Math.floor(seconds / 86400)}d`;
  return iso.slice(0, 10);
}
