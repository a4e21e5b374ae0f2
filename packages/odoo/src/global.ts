// Entry of the script-tag build: `<script src="tabbus.global.min.js">` defines the global `TabBus`.
import { authenticate, logout } from './auth';
import { createOdooBus } from './create-odoo-bus';
import { isSessionExpired, TabBusError } from '@tabbus/core';

export default { createOdooBus, authenticate, logout, TabBusError, isSessionExpired };
