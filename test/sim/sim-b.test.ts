// The seeded Raft simulation, second half of the seeds (see define-part.ts).
import { defineSimulationPart } from './define-part.js';

defineSimulationPart(1);
