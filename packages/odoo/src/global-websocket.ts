// Entry of the script-tag build for Odoo 16+ (the addon's on those series): `<script
// src="tabbus.websocket.global.min.js">` defines the same `TabBus` global as tabbus.global.min.js, less
// the long-polling transport and `version: 'auto'` (see one-family.ts).
import { scriptTagApi } from './global-api';
import { createOdooWebsocketBus } from './one-family';

export default scriptTagApi(createOdooWebsocketBus);
