import type { GapEvent } from './events';
import type { Hub, Part } from './hub';
import type { CursorRecord } from './shared-store';
import type { BusItem } from './transport';
import { createWatermark } from './watermark';

/** A tab that missed batches asks for a replay at most this often, in ms. */
export const RESYNC_INTERVAL = 1000;

/** Delivery in one tab: each notification id once (in id order but for ids the server sends late), whoever received it from the server. */
export interface Delivery<Item extends BusItem = BusItem> extends Part<Item> {
  /** The highest id this tab delivered. */
  readonly watermark: number;
  /** Whether this tab would deliver `id`: it has not, and the id is above what it can tell (see `Watermark`). */
  unseen(id: number): boolean;
  /**
   * At start: a tab that delivered before (stop/start, back from the bfcache) keeps its watermark, so the
   * leader's cursor shows what it missed and it asks for a replay; unless it was away longer than the
   * server keeps notifications (a gap). A fresh tab starts from the stored cursor, or from the leader's
   * once its `welcome` tells it (the stored one may be a batch behind).
   */
  restore(record: CursorRecord | undefined, stoppedAt: number): void;
  /** Delivers to this tab's listeners what it has not delivered yet, of the channels it joined. */
  deliver(items: readonly Item[]): void;
  /** The leader noticed a gap: every tab hears of it (before the batch that follows), this one too. */
  raiseGap(gap: GapEvent): void;
  /** Stops asking for replays (the tab stopped). */
  stop(): void;
}

/**
 * A follower that gets a batch it cannot deliver without skipping ids (it missed one: a paused debugger,
 * a frozen page) drops it and asks the leader to replay from its watermark, again every second until it
 * has caught up; the replay brings the dropped batch too, and the other tabs drop what they have.
 */
export function createDelivery<Item extends BusItem>(hub: Pick<Hub<Item>, 'env' | 'machine' | 'counters' | 'post' | 'emit' | 'joined' | 'options' | 'retention' | 'startedAt'>): Delivery<Item> {
  const { env, counters } = hub;
  let mark = createWatermark();
  /** While batches are missing: the cursor the replay must reach, and the timer that asks again. */
  let upTo = 0;
  /** Back with its watermark (stop/start, the back/forward cache): it asks its first leader for what came late meanwhile. */
  let back = false;
  /** Started afresh and taken no batch yet: its stream starts at the leader's cursor, told in the `welcome`. */
  let fresh = false;
  let timer: unknown;
  const resync = (cursor: number) => {
    upTo = Math.max(upTo, cursor);
    if (timer !== undefined) return;
    const ask = (): void => {
      timer = undefined;
      if (hub.machine.role !== 'follower' || mark.watermark >= upTo) return;
      hub.post({ type: 'resync', cursor: mark.watermark });
      timer = env.setTimeout(ask, RESYNC_INTERVAL);
    };
    ask();
  };
  /** The leader's cursor is ahead: batches were lost on the way and, with none coming, nothing else would show it. */
  const behind = (cursor: number) => mark.synced && cursor > mark.watermark && resync(cursor);
  /**
   * A retention gap concerns only tabs old enough to have missed something: a page loaded since has
   * fresh state. A reset concerns every tab, and the ids it delivered mean nothing any more.
   */
  const onGap = ({ cursor, age, reason }: GapEvent) => {
    if (reason === 'reset') {
      mark = createWatermark(0, true);
      // A replay asked for up to a cursor of the old ids would be asked for until the new ids pass it.
      upTo = 0;
    } else if (env.now() - hub.startedAt < hub.retention) return;
    hub.emit('gap', { cursor, age, reason });
  };
  const delivery: Delivery<Item> = {
    get watermark() {
      return mark.watermark;
    },
    unseen: (id) => mark.unseen(id),
    restore(record, stoppedAt) {
      const away = env.now() - stoppedAt;
      back = fresh = false;
      const stored = record?.id ?? 0;
      if (mark.synced && mark.watermark > 0) {
        // Stored since this tab stopped, below what it delivered: the server's ids restarted while it was away (it
        // missed the leader's `gap` frame), and its old ids would hide the new ones. (Stored before: a stale read,
        // as storage reaches each renderer late.)
        const reset = !!record && stored < mark.watermark && record.at > stoppedAt;
        if (away <= hub.retention && !reset) return void (back = true);
        hub.emit('gap', { cursor: mark.watermark, age: away, reason: reset ? 'reset' : 'retention' });
      }
      mark = createWatermark(stored);
      fresh = true;
    },
    deliver(items) {
      fresh = false;
      counters.batches++;
      const mine = mark.take(items, hub.joined, hub.options.channelOf);
      counters.delivered += mine.length;
      if (mine.length) hub.emit('notification', mine);
    },
    raiseGap(gap) {
      hub.post({ type: 'gap', ...gap });
      onGap(gap);
    },
    stop() {
      env.clearTimeout(timer);
      timer = undefined;
      upTo = 0;
    },
    frames: {
      // Delivering a batch after a missing one would skip it for good: ask for a replay instead. Otherwise the
      // batch says where the leader's cursor is: a replay asked for beyond it (a cursor another page made up)
      // would be asked for every second, for good. Junk among the items (any page of the origin may post)
      // drops the whole batch before an id is taken: it would throw halfway (ids taken, none delivered) or
      // stick in the watermark (Infinity).
      batch: (frame) => {
        if (mark.synced && frame.after > mark.watermark) return resync(frame.after);
        if (frame.cursor < upTo) upTo = frame.cursor;
        if (frame.items.every((item) => Number.isSafeInteger(item?.id))) delivery.deliver(frame.items);
      },
      welcome: (frame) => {
        // What the leader handed out before this tab started is not this tab's, whatever the stored cursor said
        // (written a moment after each fan-out, and read late by a renderer): should this tab lead later, it
        // polls from here, not from before (on Odoo 8–15, a poll from 0 brings the last 50 s again).
        if (fresh && Number.isSafeInteger(frame.cursor) && frame.cursor > mark.watermark) mark = createWatermark(frame.cursor);
        fresh = false;
        // Nothing above its watermark came meanwhile, but an id committed late (below it) may have: the leader
        // replays those it kept.
        if (back && mark.watermark >= frame.cursor) hub.post({ type: 'resync', cursor: mark.watermark });
        back = false;
        behind(frame.cursor);
      },
      alive: (frame) => void behind(frame.cursor),
      gap: onGap,
    },
  };
  return delivery;
}
