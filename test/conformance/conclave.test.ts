// Method: the conformance suite (suite.ts) run against one Conclave member started in this
// process (src/server's startMember), reached over gRPC on loopback.
import { defineConformance } from './suite.js';
import { conclaveSingleMember } from './targets.js';

defineConformance(conclaveSingleMember);
