// The conformance suite against real etcd 3.4 (3 members) with authentication on and a
// 2 s simple-token TTL: the suite's clients log in as a user limited to its namespaces.
import { defineConformance } from './suite.js';
import { etcdThreeMembersWithAuth } from './auth-targets.js';

defineConformance(etcdThreeMembersWithAuth);
