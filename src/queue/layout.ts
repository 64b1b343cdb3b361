/**
 * Where a queue keeps its items and claims. Items follow etcd's recipe layout so Go's
 * `recipe.Queue` / `recipe.PriorityQueue` can produce and consume on the same name:
 * FIFO items are `<name>/<unix ns>` (dequeued by lowest create revision), priority items
 * `<name>/<priority, 5 digits>/<sequence, 16 digits>` (dequeued by lowest key), with etcd's
 * bookkeeping key `__<name>/<priority>` guarding sequence allocation. Our at-least-once
 * claims live beside them in `__<name>/claims/<item suffix>`, outside the item prefix, so an
 * etcd consumer never mistakes a claim for an item.
 */
export interface QueueLayout {
  readonly name: string;
  /** `<name>/`: every item key starts with it. */
  readonly itemPrefix: string;
  /** `__<name>/claims/`: one key per item being processed at least once. */
  readonly claimPrefix: string;
  /** FIFO by create revision, or priority order by key. */
  readonly order: 'create' | 'key';
}

export function layoutFor(name: string, order: 'create' | 'key'): QueueLayout {
  return { name, itemPrefix: `${name}/`, claimPrefix: `__${name}/claims/`, order };
}

export function claimKeyFor(layout: QueueLayout, itemKey: string): string {
  return `${layout.claimPrefix}${itemKey.slice(layout.itemPrefix.length)}`;
}

export function itemKeyFor(layout: QueueLayout, claimKey: string): string {
  return `${layout.itemPrefix}${claimKey.slice(layout.claimPrefix.length)}`;
}
