/** Leader election compatible with etcd's layout (etcdctl elect, Go clients). */
export { Election, Leadership } from './election.js';
export type { CampaignOptions, LeaderInfo, Candidate } from './election.js';
