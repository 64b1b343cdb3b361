// The seeded Raft simulation, first half of the seeds (see define-part.ts).
import { defineSimulationPart } from './define-part.js';

defineSimulationPart(0);
