// Method: the recipe conformance suite (recipes-suite.ts) run against one Conclave member started in this process, reached over gRPC on loopback.
import { defineRecipeConformance } from './recipes-suite.js';
import { conclaveSingleMember } from './targets.js';

defineRecipeConformance(conclaveSingleMember);
