import { detectVersion } from './detect-version';
import { LongpollingTransport } from './longpolling';
import { makeOdooBus, type OdooBus, type OdooBusOptions } from './odoo-bus';
import { WebsocketTransport } from './websocket';

export { WORKER_VERSION_KEY } from './odoo-bus';
export type { OdooBus, OdooBusOptions } from './odoo-bus';

/**
 * Creates the bus for one Odoo: every tab of the same server, database and user shares one connection
 * (long-polling up to Odoo 15, a WebSocket from 16). Listen with `bus.on('notification', items => …)`;
 * items are `{id, channel, message}` up to Odoo 14 and `{id, type, payload}` from 15.
 */
export function createOdooBus(options: OdooBusOptions = {}): OdooBus {
  return makeOdooBus(options, { longpolling: LongpollingTransport, websocket: WebsocketTransport, detect: detectVersion });
}
