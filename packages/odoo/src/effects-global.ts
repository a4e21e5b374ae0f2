// Entry of the optional script-tag build: `<script src="tabbus.effects.global.min.js">` defines the global
// `TabBusEffects`. A file of its own, loaded after tabbus.global.min.js, so that pages without sounds or
// desktop notifications never download it.
import { createEffects, createSound, requestDesktopPermission } from '@tabbus/core/effects';

export default { createEffects, createSound, requestDesktopPermission };
