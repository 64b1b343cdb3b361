// Method: the recipe conformance suite (recipes-suite.ts) run against three `conclave server` processes forming one cluster over loopback.
import { defineRecipeConformance } from './recipes-suite.js';
import { conclaveThreeProcesses } from './targets.js';

defineRecipeConformance(conclaveThreeProcesses);
