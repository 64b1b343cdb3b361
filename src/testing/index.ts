/**
 * `conclave/testing`: an in-process Conclave cluster for your own tests, with fault
 * injection (partition, pause, kill/restart, expire a lease). See docs/testing.md.
 */
export { createTestCluster, TestCluster } from './test-cluster.js';
export type { TestClusterOptions, TestClientOptions, TestMemberOptions, WaitOptions } from './test-cluster.js';
export { TestMember } from './test-member.js';
export { PausableClock } from './pausable-clock.js';
