// Method: the conformance suite (suite.ts) run against three `conclave server` processes
// forming one cluster over loopback, reached over gRPC like any etcd cluster.
import { defineConformance } from './suite.js';
import { conclaveThreeProcesses } from './targets.js';

defineConformance(conclaveThreeProcesses);
