import { isSessionExpired, TabBusError } from '@tabbus/core';
import { authenticate, logout } from './auth';
import type { OdooBus } from './odoo-bus';

/**
 * The `TabBus` global, the same in every script-tag build: the builds differ only in the transports their
 * `createOdooBus` carries (both in tabbus.global.min.js, one in each series' build).
 */
export const scriptTagApi = <Options>(createOdooBus: (options: Options) => OdooBus) => ({ createOdooBus, authenticate, logout, TabBusError, isSessionExpired });
