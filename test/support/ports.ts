/** Free loopback TCP ports for tests: the same helper `conclave/testing` uses. */
export { freePort, freeLoopbackPorts as freePorts } from '../../src/testing/free-ports.js';
