// The conformance suite against 3 `conclave server` processes with authentication on and a
// 2 s simple-token TTL: the suite's clients log in as a user limited to its namespaces.
import { defineConformance } from './suite.js';
import { conclaveThreeProcessesWithAuth } from './auth-targets.js';

defineConformance(conclaveThreeProcessesWithAuth);
