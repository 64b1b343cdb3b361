// Method: the recipe conformance suite (recipes-suite.ts) run against three Conclave members embedded in this process, reached through the in-process channel.
import { defineRecipeConformance } from './recipes-suite.js';
import { conclaveThreeEmbedded } from './targets.js';

defineRecipeConformance(conclaveThreeEmbedded);
