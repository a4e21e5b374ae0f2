import { TabBusError } from '@tabbus/core';
import { LongpollingTransport } from './longpolling';
import { makeOdooBus, type OdooBus, type OdooBusOptions, type OdooBusParts } from './odoo-bus';
import { checkVersion, speaksWebsocket, type LongpollingVersion, type WebsocketVersion } from './versions';
import { WebsocketTransport } from './websocket';

/** The options of {@link createOdooWebsocketBus}: those of `createOdooBus`, with a version of 16 or later required. */
export type OdooWebsocketBusOptions = Omit<OdooBusOptions, 'version'> & {
  /** Odoo's major version, 16 or later (no `'auto'`: the detection is what this bus leaves out). */
  version: WebsocketVersion;
};

/** The options of {@link createOdooLongpollingBus}: those of `createOdooBus`, with a version of 8 to 15. */
export type OdooLongpollingBusOptions = Omit<OdooBusOptions, 'version'> & {
  /** Odoo's major version, 8 to 15 (no `'auto'`: the detection is what this bus leaves out). Default 15. */
  version?: LongpollingVersion;
};

type Family = 'longpolling' | 'websocket';
const OTHER: Record<Family, Family> = { longpolling: 'websocket', websocket: 'longpolling' };
/** What each family is called in an error: the function, then the Odoo versions it speaks. */
const NAMES: Record<Family, [string, string]> = { longpolling: ['Longpolling', '8–15'], websocket: ['Websocket', '16+'] };
const speakerOf = (family: Family) => `createOdoo${NAMES[family][0]}Bus (tabbus.${family}.global.min.js) is for Odoo ${NAMES[family][1]}`;

/**
 * The bus of one version family: a version of the other family, `'auto'` or none is a `config` error that
 * names what speaks it. No detection: a page that loads the build for its series knows its series.
 */
function oneFamilyBus(family: Family, options: OdooBusOptions, parts: OdooBusParts): OdooBus {
  const version = options.version === undefined ? undefined : checkVersion(options.version);
  if (version === undefined || version === 'auto' || (speaksWebsocket(version) ? 'websocket' : 'longpolling') !== family) {
    throw new TabBusError('config', `${speakerOf(family)} only (version: ${version ?? 'none given'}); ${speakerOf(OTHER[family])}, createOdooBus (tabbus.global.min.js) for any version and 'auto'`, {
      context: { version, build: family },
    });
  }
  return makeOdooBus(options, parts);
}

/**
 * {@link createOdooBus} for Odoo 16+ only: the WebSocket transport without the long-polling one or the
 * version detection, for a smaller bundle (the script tag `tabbus.websocket.global.min.js`, the addon's on
 * 16 to 19, is built on it). `version` is required: 16 or later, else a `config` error.
 */
export function createOdooWebsocketBus(options: OdooWebsocketBusOptions): OdooBus {
  return oneFamilyBus('websocket', options, { websocket: WebsocketTransport });
}

/**
 * {@link createOdooBus} for Odoo 8–15 only: the long-polling transport without the WebSocket one or the
 * version detection, for a smaller bundle (the script tag `tabbus.longpolling.global.min.js`, the addon's on
 * 14 and 15, is built on it). `version` 8 to 15, default 15 as `createOdooBus`'s; any other is a `config` error.
 */
export function createOdooLongpollingBus(options: OdooLongpollingBusOptions = {}): OdooBus {
  return oneFamilyBus('longpolling', { version: 15, ...options }, { longpolling: LongpollingTransport });
}
