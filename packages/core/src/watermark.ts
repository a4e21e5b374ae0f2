import type { BusItem } from './transport';

/**
 * How many of the latest ids a tab remembers: enough to take once an id the server sends after higher ones.
 * Odoo 18 (and 17.0 since a late fix) sends a notification whose transaction committed late, within 10 s,
 * after ids above it; a tab that went by the highest id alone would drop it.
 */
export const LATE_MEMORY = 1000;

/**
 * Exactly-once delivery for one tab, in id order but for ids the server sends late. Batches may arrive
 * twice (a new leader replays from the shared cursor, two leaders overlap for a moment): an item is
 * delivered only if this tab has not taken its id, and the id is above the point this tab started from (or
 * the oldest id it has forgotten). Ids ≤ 0 are pseudo-notifications (Odoo 10/11 presence) and always pass.
 */
export interface Watermark {
  /**
   * Whether the watermark is known to match the stream: false for a tab that started with no stored
   * cursor and has taken nothing yet. Such a tab takes its first batch as the start of its stream rather
   * than asking for everything it "missed" before it existed.
   */
  readonly synced: boolean;
  /** The highest id delivered by this tab. */
  readonly watermark: number;
  /** Whether `id` would be taken: never taken here, and above what this tab can tell. */
  unseen(id: number): boolean;
  /**
   * Returns the items of `batch` this tab has not delivered yet and that belong to one of `joined`
   * (per `channelOf`; items without a channel belong to every tab). Marks the whole batch as taken,
   * including items filtered out by channel, so they are not delivered later either.
   */
  take<Item extends BusItem>(batch: readonly Item[], joined: ReadonlySet<string>, channelOf?: (item: Item) => string | undefined): Item[];
}

/** `watermark`: where this tab starts; `synced`: whether it is known to be current (see `synced`). */
export function createWatermark(watermark = 0, synced = watermark > 0): Watermark {
  /** Ids at or below it are never taken: where this tab started, or the newest id it has forgotten. */
  let floor = watermark;
  /** The ids above `floor` this tab took, oldest first (at most LATE_MEMORY). */
  const taken = new Set<number>();
  const mark = {
    watermark,
    synced,
    unseen: (id: number) => id <= 0 || (id > floor && !taken.has(id)),
    take<Item extends BusItem>(batch: readonly Item[], joined: ReadonlySet<string>, channelOf?: (item: Item) => string | undefined): Item[] {
      // A fresh tab's stream starts with its first batch (in id order, as every batch): ids below it (a
      // replay for another tab) are not its own.
      if (!mark.synced) floor = (batch.find((item) => item.id > 0)?.id ?? 1) - 1;
      mark.synced = true;
      const fresh: Item[] = [];
      for (const item of batch) {
        if (item.id > 0) {
          if (!mark.unseen(item.id)) continue;
          taken.add(item.id);
          if (taken.size > LATE_MEMORY) {
            const oldest = taken.values().next().value!;
            taken.delete(oldest);
            floor = Math.max(floor, oldest);
          }
          mark.watermark = Math.max(mark.watermark, item.id);
        }
        const channel = channelOf?.(item);
        if (channel === undefined || joined.has(channel)) fresh.push(item);
      }
      return fresh;
    },
  };
  return mark;
}
