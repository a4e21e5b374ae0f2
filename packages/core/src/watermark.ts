import type { BusItem } from './transport';

/**
 * Exactly-once, in-order delivery for one tab. Batches may arrive twice (a new leader replays from the
 * shared cursor, two leaders overlap for a moment): an item is delivered only when its id is above the
 * highest id this tab delivered. Ids ≤ 0 are pseudo-notifications (Odoo 10/11 presence) and always pass.
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
  /**
   * Returns the items of `batch` this tab has not delivered yet and that belong to one of `joined`
   * (per `channelOf`; items without a channel belong to every tab). Advances the watermark over the
   * whole batch, including items filtered out by channel, so they are not delivered later either.
   */
  take<Item extends BusItem>(batch: readonly Item[], joined: ReadonlySet<string>, channelOf?: (item: Item) => string | undefined): Item[];
}

/** `watermark`: where this tab starts; `synced`: whether it is known to be current (see `synced`). */
export function createWatermark(watermark = 0, synced = watermark > 0): Watermark {
  const mark = {
    watermark,
    synced,
    take<Item extends BusItem>(batch: readonly Item[], joined: ReadonlySet<string>, channelOf?: (item: Item) => string | undefined): Item[] {
      mark.synced = true;
      const fresh: Item[] = [];
      for (const item of batch) {
        if (item.id > 0) {
          if (item.id <= mark.watermark) continue;
          mark.watermark = item.id;
        }
        const channel = channelOf?.(item);
        if (channel === undefined || joined.has(channel)) fresh.push(item);
      }
      return fresh;
    },
  };
  return mark;
}
