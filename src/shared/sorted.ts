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
