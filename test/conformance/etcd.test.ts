// Method: the conformance suite (suite.ts) run against a real 3-member etcd 3.4 cluster
// started for this file. Conclave targets will get sibling files running the same suite.
import { defineConformance } from './suite.js';
import { etcdThreeMembers } from './targets.js';

defineConformance(etcdThreeMembers);
