/**
 * `conclave/server`: run a Conclave member inside your own process (the same code as the
 * `conclave server` command).
 */
export { startMember } from './start.js';
export type { RunningMember } from './start.js';
export type { MemberOptions } from './member-options.js';
export { MEMBER_DEFAULTS } from './member-options.js';
export type { MemberInfo, MemberStatusInfo } from './api/ports.js';
export { ServerError } from './errors.js';
export type { InProcessEndpoint } from './in-process.js';
