/**
 * A set of strings kept in sorted order, for the in-memory stores' range reads
 * (the same ordered-range shape etcd gives). Inserts are O(n) array splices, which
 * is fine for the test and demo sizes the memory store serves.
 */
export class SortedSet {
  private readonly items: string[] = [];

  get size(): number {
    return this.items.length;
  }

  /** Every value, ascending: the set's own array, not a copy (read it, never change it). */
  values(): readonly string[] {
    return this.items;
  }

  clear(): void {
    this.items.length = 0;
  }

  has(value: string): boolean {
    const i = this.lowerBound(value);
    return this.items[i] === value;
  }

  add(value: string): boolean {
    const i = this.lowerBound(value);
    if (this.items[i] === value) return false;
    this.items.splice(i, 0, value);
    return true;
  }

  delete(value: string): boolean {
    const i = this.lowerBound(value);
    if (this.items[i] !== value) return false;
    this.items.splice(i, 1);
    return true;
  }

  /** Up to `limit` values strictly after `after` (or from the start), ascending. */
  ascendingAfter(after: string | undefined, limit: number): string[] {
    const start = after === undefined ? 0 : this.upperBound(after);
    return this.items.slice(start, start + limit);
  }

  /** Up to `limit` values strictly before `before` (or from the end), descending. */
  descendingBefore(before: string | undefined, limit: number): string[] {
    const end = before === undefined ? this.items.length : this.lowerBound(before);
    return this.items.slice(Math.max(0, end - limit), end).reverse();
  }

  /** Up to `limit` values starting with `prefix`, ascending. */
  withPrefix(prefix: string, limit: number): string[] {
    const out: string[] = [];
    for (let i = this.lowerBound(prefix); i < this.items.length && out.length < limit; i++) {
      const item = this.items[i]!;
      if (!item.startsWith(prefix)) break;
      out.push(item);
    }
    return out;
  }

  private lowerBound(value: string): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.items[mid]! < value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private upperBound(value: string): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.items[mid]! <= value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** The set stored under `key`, created empty on first use. */
export function sortedSetFor(map: Map<string, SortedSet>, key: string): SortedSet {
  let set = map.get(key);
  if (!set) {
    set = new SortedSet();
    map.set(key, set);
  }
  return set;
}
