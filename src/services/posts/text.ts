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
/** Most texts are plain ASCII: NFKC leaves them as they are, and a plain character class is faster. */
// eslint-disable-next-line no-control-regex -- the whole ASCII range, controls included, on purpose
const ASCII_ONLY = /^[\x00-\x7f]*$/;
const ASCII_WORD = /[a-z0-9_]+/g;
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
 * The distinct terms of a text: its words (case-folded, NFKC, 2–40 characters), each once. For a query
 * (`query` true), `#tag` tokens stay tags ("#cats" finds the tag, "cats" the word).
 */
export function searchTerms(text: string, query: boolean): string[] {
  if (!query && ASCII_ONLY.test(text)) return asciiWords(text);
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

/** The words of an ASCII text, as `searchTerms` makes them (every post is indexed at load: this is hot). */
function asciiWords(text: string): string[] {
  const words: string[] = [];
  for (const match of text.toLowerCase().matchAll(ASCII_WORD)) {
    const word = match[0];
    if (word.length >= 2 && word.length <= MAX_WORD) words.push(word);
  }
  return words.length > 1 ? unique(words) : words;
}

function unique(items: string[]): string[] {
  return [...new Set(items)];
}
