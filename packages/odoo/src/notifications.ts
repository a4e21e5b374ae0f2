import { TabBusError } from '@tabbus/core';
import { hasTypedMessages, type OdooVersion } from './versions';

/** A notification as Odoo 8–14 send it: the channel (as the client spelled it, or a server tuple) and the raw message. */
export interface ChannelNotification {
  /** The notification's id on the server (`bus.bus`): increasing, each delivered once. */
  readonly id: number;
  /** The channel it was sent on: a string, or Odoo's `[db, model, id]` tuple. */
  readonly channel: unknown;
  /** What the server sent, as is. */
  readonly message: unknown;
}

/** A notification as Odoo 15+ send it: a type and its payload. */
export interface TypedNotification {
  /** The notification's id on the server (`bus.bus`): increasing, each delivered once. */
  readonly id: number;
  /** What kind of notification it is (`mail.record/insert`, `bus/im_status`, …). */
  readonly type: string;
  /** Its content, whose shape depends on the type. */
  readonly payload: unknown;
}

/** One notification as the bus delivers it: {@link ChannelNotification} on Odoo 8–14, {@link TypedNotification} on 15+. */
export type OdooNotification = ChannelNotification | TypedNotification;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Turns a poll's `result` (or a WebSocket frame's array) into notifications, or rejects the whole reply: a malformed reply must not move
 * the cursor, so nothing in it (or after it) is skipped.
 */
export function parsePollResult(version: OdooVersion, result: unknown, route = '/longpolling/poll'): OdooNotification[] {
  const bad = (why: string, item?: unknown) =>
    new TabBusError('protocol', `${route}: ${why}`, { context: { version, item: JSON.stringify(item)?.slice(0, 200) } });
  if (!Array.isArray(result)) throw bad('the result is not a list', result);
  return result.map((item: unknown): OdooNotification => {
    if (!isObject(item) || !Number.isSafeInteger(item.id)) throw bad('an item has no integer id', item);
    const id = item.id as number;
    if (!hasTypedMessages(version)) {
      if (!('channel' in item) || !('message' in item)) throw bad('an item lacks channel or message', item);
      return { id, channel: item.channel, message: item.message };
    }
    const message = item.message;
    if (!isObject(message) || typeof message.type !== 'string') throw bad('an item lacks message.type', item);
    return { id, type: message.type, payload: message.payload };
  });
}

/** The channel a client-joined notification belongs to; server-added (non-string) channels go to every tab. */
export const stringChannelOf = (item: OdooNotification): string | undefined =>
  'channel' in item && typeof item.channel === 'string' ? item.channel : undefined;
