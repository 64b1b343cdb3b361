// Method: the conformance suite (suite.ts) run against three Conclave members embedded in this
// process, reached through the SDK's in-process channel (no network, no serialization).
import { defineConformance } from './suite.js';
import { conclaveThreeEmbedded } from './targets.js';

defineConformance(conclaveThreeEmbedded);
