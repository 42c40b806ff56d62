/**
 * The first index of `0..length` at which `isPast` holds, for a test that is false and then
 * true along a sorted list (`length` when it never holds): a binary search.
 */
export function firstIndexWhere(length: number, isPast: (index: number) => boolean): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (isPast(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * The first index whose `id` is at least `id` in a list sorted by id (`length` when none):
 * `firstIndexWhere` without a callback, for the views' hot paths.
 */
export function lowerBoundById(list: readonly { id: number }[], id: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.id < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
