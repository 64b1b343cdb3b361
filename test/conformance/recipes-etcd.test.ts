// Method: the recipe conformance suite (recipes-suite.ts) run against a real 3-member etcd 3.4 cluster started for this file.
import { defineRecipeConformance } from './recipes-suite.js';
import { etcdThreeMembers } from './targets.js';

defineRecipeConformance(etcdThreeMembers);
