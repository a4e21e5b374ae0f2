// How a channel name sent by a client (or by /tabbus/send) is spelled in bus_bus.channel.
// Polls match rows by this exact string, so the poll route and every sender must use it.
import { pythonJsonDumps } from './pyjson';
import { hasTypedMessages } from './odoo-version';
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
