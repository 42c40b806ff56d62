/**
 * What a post's text says beyond its words: the accounts it mentions (`@name`), its hashtags
 * (`#tag`), and the terms search finds it by. Plain text stays plain text; presentation
 * (links) is the web tier's.
 */

/** `@name` not preceded by a word character (so e-mail addresses are not mentions). */
const MENTION = /(?<![\p{L}\p{N}_@])@([A-Za-z0-9_]{3,32})(?![A-Za-z0-9_])/gu;
/** `#tag` not preceded by a word character or `&` (HTML entities), of letters, digits and _. */
const HASHTAG = /(?<![\p{L}\p{N}_&#])#([\p{L}\p{N}_]{1,64})(?![\p{L}\p{N}_])/gu;
const WORD = /[\p{L}\p{N}_]+/gu;
const MAX_WORD = 40;
/** Terms a search query may hold (more would only be slower, never more precise). */
export const MAX_QUERY_TERMS = 8;

/** Usernames mentioned, case-folded, each once, in order of appearance. */
export function parseMentions(text: string): string[] {
  return unique([...text.matchAll(MENTION)].map((m) => m[1]!.toLowerCase()));
}

/** Hashtags, case-folded (NFKC), each once; a tag of digits only is not one (as on Mastodon). */
export function parseTags(text: string): string[] {
  return unique(
    [...text.matchAll(HASHTAG)].map((m) => normalizeTag(m[1]!)).filter((tag) => !/^[0-9]+$/.test(tag)),
  );
}

/** A tag as stored and looked up: NFKC, lower case. */
export function normalizeTag(tag: string): string {
  return tag.normalize("NFKC").toLowerCase();
}

/** True when `tag` can be a hashtag (what a /tags/:tag route accepts). */
export function isTag(tag: string): boolean {
  return /^[\p{L}\p{N}_]{1,64}$/u.test(tag) && !/^[0-9]+$/.test(tag);
}

/**
 * The terms of a text: its words (case-folded, NFKC, 2–40 characters). For a query
 * (`query` true), `#tag` tokens stay tags ("#cats" finds the tag, "cats" the word).
 */
export function searchTerms(text: string, query: boolean): string[] {
  const normalized = text.normalize("NFKC").toLowerCase();
  const terms: string[] = [];
  if (query) {
    for (const match of normalized.matchAll(HASHTAG)) terms.push(`#${match[1]!}`);
  }
  const rest = query ? normalized.replace(HASHTAG, " ") : normalized;
  for (const match of rest.matchAll(WORD)) {
    const word = match[0];
    if (word.length >= 2 && word.length <= MAX_WORD) terms.push(word);
  }
  return unique(terms);
}

function unique(items: string[]): string[] {
  return [...new Set(items)];
}
