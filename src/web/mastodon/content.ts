/**
 * A post's HTML `content`, made from its plain text the way Mastodon's TextFormatter does:
 * mentions of existing accounts, hashtags and http(s) URLs become links; everything else is
 * escaped; a blank line starts a paragraph and a newline is `<br />`. Only `<p>`, `<br>`,
 * `<span>` and `<a>` ever appear (the tags Mastodon's docs allow).
 */

export interface ContentLinks {
  /** Absolute URL of a user's page. */
  account(username: string): string;
  /** Absolute URL of a hashtag's page. */
  tag(name: string): string;
}

const URL_PATTERN = /https?:\/\/[^\s<>"'`]+/giu;
const MENTION = /(?<![\p{L}\p{N}_@])@([A-Za-z0-9_]{3,32})(?![A-Za-z0-9_])/gu;
const HASHTAG = /(?<![\p{L}\p{N}_&#])#([\p{L}\p{N}_]{1,64})(?![\p{L}\p{N}_])/gu;
/** Punctuation that ends a sentence rather than a URL. */
const TRAILING = /[.,;:!?'")\]}]+$/u;

export function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/**
 * `mentions` and `tags` are the post's own (case-folded, as stored): only those are linked, so
 * an `@name` of no account stays text, as on Mastodon.
 */
export function contentHtml(
  text: string,
  mentions: readonly string[],
  tags: readonly string[],
  links: ContentLinks,
): string {
  const paragraphs = text.split(/\n[^\S\n]*\n\s*/);
  return paragraphs
    .map(
      (paragraph) =>
        `<p>${paragraph
          .split("\n")
          .map((line) => linkify(line, mentions, tags, links))
          .join("<br />")}</p>`,
    )
    .join("");
}

interface Entity {
  start: number;
  end: number;
  html: string;
}

function linkify(
  line: string,
  mentions: readonly string[],
  tags: readonly string[],
  links: ContentLinks,
): string {
  const entities: Entity[] = [];
  for (const match of line.matchAll(URL_PATTERN)) {
    const raw = match[0].replace(TRAILING, "");
    if (!isHttpUrl(raw)) continue;
    entities.push({ start: match.index, end: match.index + raw.length, html: urlLink(raw) });
  }
  const free = (start: number, end: number) => !entities.some((e) => start < e.end && e.start < end);
  for (const match of line.matchAll(MENTION)) {
    const name = match[1]!.toLowerCase();
    const end = match.index + match[0].length;
    if (!mentions.includes(name) || !free(match.index, end)) continue;
    const href = escapeHtml(links.account(name));
    entities.push({
      start: match.index,
      end,
      html: `<span class="h-card"><a href="${href}" class="u-url mention">@<span>${escapeHtml(match[1]!)}</span></a></span>`,
    });
  }
  for (const match of line.matchAll(HASHTAG)) {
    const tag = match[1]!.normalize("NFKC").toLowerCase();
    const end = match.index + match[0].length;
    if (!tags.includes(tag) || !free(match.index, end)) continue;
    const href = escapeHtml(links.tag(tag));
    entities.push({
      start: match.index,
      end,
      html: `<a href="${href}" class="mention hashtag" rel="tag">#<span>${escapeHtml(match[1]!)}</span></a>`,
    });
  }
  entities.sort((a, b) => a.start - b.start);
  let html = "";
  let at = 0;
  for (const entity of entities) {
    html += escapeHtml(line.slice(at, entity.start)) + entity.html;
    at = entity.end;
  }
  return html + escapeHtml(line.slice(at));
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

/** Mastodon's link display: the scheme (and www.) hidden, then 30 characters, the rest hidden. */
function urlLink(url: string): string {
  const prefix = /^(https?:\/\/(?:www\.)?)/i.exec(url)?.[1] ?? "";
  const rest = url.slice(prefix.length);
  const shown = rest.slice(0, 30);
  const hidden = rest.slice(30);
  return (
    `<a href="${escapeHtml(url)}" target="_blank" rel="nofollow noopener noreferrer">` +
    `<span class="invisible">${escapeHtml(prefix)}</span>` +
    `<span class="${hidden === "" ? "" : "ellipsis"}">${escapeHtml(shown)}</span>` +
    `<span class="invisible">${escapeHtml(hidden)}</span></a>`
  );
}
