// Entry of the script-tag build: `<script src="tabbus.global.min.js">` defines the global `TabBus`, for
// every Odoo version.
import { createOdooBus } from './create-odoo-bus';
import { scriptTagApi } from './global-api';

export default scriptTagApi(createOdooBus);
