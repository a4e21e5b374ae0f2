// How a channel name sent by a client (or by /tabbus/send) is spelled in bus_bus.channel.
// Polls match rows by this exact string, so the poll route and every sender must use it.
import { pythonJsonDumps } from './pyjson';
import { hasTypedMessages, hasWebSocket } from './odoo-version';
import type { OdooVersion } from './odoo-version';

/** 15 wraps strings with the database (`["<db>","<name>"]`); 8–14 store `"<name>"`. */
export function encodeChannel(version: OdooVersion, db: string, name: string): string {
  return pythonJsonDumps(hasTypedMessages(version) ? [db, name] : name);
}

/** The stored channels a poll listens on: the client's strings, plus `broadcast` on 15. */
export function pollChannels(version: OdooVersion, db: string, names: readonly string[]): string[] {
  const all = hasTypedMessages(version) ? [...names, 'broadcast'] : names;
  return [...new Set(all.map((name) => encodeChannel(version, db, name)))];
}

/** A record channel of 16+, e.g. the partner channel: stored as `["<db>","res.partner",7]`. */
export function encodeRecordChannel(db: string, model: string, id: number): string {
  return pythonJsonDumps([db, model, id]);
}

/** Who a personal channel belongs to: the user (8 keys it by uid) and their partner (9+). */
export interface ChannelOwner {
  readonly uid: number;
  readonly partnerId: number;
}

/**
 * The user's own channel, which the server (not the client) adds to every logged-in poll or socket, and
 * on which Odoo sends that user's private notifications (chat messages, needactions, their jobs' mail):
 * - 8: im_chat's `_poll` appends `(db, 'im_chat.session', uid)` (protocol notes §2.1, read);
 * - 9–15: mail's `_poll` appends `(db, 'res.partner', partner_id)` (§5.1, recalled for 9–14);
 * - 16+: bus's `ir.websocket._build_bus_channel_list` adds the user's partner record on `subscribe` (§7.3, §11).
 * Every spelling is a tuple with the database, so it is stored as compact JSON like `["tabbus","res.partner",7]`
 * on every version, and 8–14 answer it with that array as the item's `channel`.
 */
export function personalChannel(version: OdooVersion, db: string, owner: ChannelOwner): string {
  return version === 8 ? pythonJsonDumps([db, 'im_chat.session', owner.uid]) : encodeRecordChannel(db, 'res.partner', owner.partnerId);
}

/**
 * Every stored channel a poll (8–15) or a `subscribe` (16+) of this session listens on: the client's
 * strings, `broadcast` on 15+, and for a logged-in session its user's personal channel (on 8–15 only
 * when emulating mail). Spelled for the session's database: a cookie of another database reads there.
 */
export function sessionChannels(
  server: { readonly version: OdooVersion; readonly mail: boolean },
  session: { readonly db: string; readonly user: ChannelOwner | null },
  names: readonly string[],
): string[] {
  const channels = pollChannels(server.version, session.db, names);
  if (session.user && (server.mail || hasWebSocket(server.version))) channels.push(personalChannel(server.version, session.db, session.user));
  return [...new Set(channels)];
}
