// Entry of the script-tag build for Odoo 8–15 (the addon's on those series): `<script
// src="tabbus.longpolling.global.min.js">` defines the same `TabBus` global as tabbus.global.min.js, less
// the WebSocket transport and `version: 'auto'` (see one-family.ts).
import { scriptTagApi } from './global-api';
import { createOdooLongpollingBus } from './one-family';

export default scriptTagApi(createOdooLongpollingBus);
