// Finding a message by UID in a list kept in ascending UID order (a mailbox's messages), or a number in an
// ascending list of numbers (UIDs), by halving: a list of 100,000 needs no map of its own beside it.

/** The first index of `list` whose UID is not below `uid` (list.length when there is none). */
export function uidInsertionPoint(list: readonly { readonly uid: number }[], uid: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid].uid < uid) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The index of the entry with `uid`, or -1. */
export function indexOfUid(list: readonly { readonly uid: number }[], uid: number): number {
  const i = uidInsertionPoint(list, uid);
  return i < list.length && list[i].uid === uid ? i : -1;
}

/** The first index of the ascending `sorted` whose number is not below `value` (sorted.length when there is none). */
export function lowerBound(sorted: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
