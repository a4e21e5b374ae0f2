// Entry of the optional script-tag build: `<script src="tabbus.jobs.global.min.js">` defines the global
// `TabBusJobs` (`watchJobs`), loaded after tabbus.global.min.js by pages that show background jobs.
import { JOB_UPDATE_TYPE, watchJobs } from './jobs';

export default { watchJobs, JOB_UPDATE_TYPE };
